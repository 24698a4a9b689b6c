//! The patient side's API: SSO tokens (`sso.rs`), rooms, providers and
//! availability (`rooms.rs`), intakes and visits with their chat
//! (`visits.rs`), the live encounter's participants, end, fulfilment and
//! intake, a participant's video key (`encounter.rs`), the snapshots
//! (`snapshots.rs`), the concerns catalogue (`concerns.rs`), the visits'
//! statistics (`statistics.rs`); the
//! request formats (`wire.rs`) and the resources' JSON
//! (`json.rs`).
//!
//! Who calls: the vendor's server with its API key (`Api-key`,
//! `X-Tenant-Key`; a provider named by `x-integration-user`, whose
//! `"provider": true` gives the user a provider profile), or a browser
//! with a patient-side token (`Authorization: Bearer
//! {tenantKey}.{tokenId}.{secret}`: the token's franchise decides). Those
//! browser calls get CORS headers for the franchise's allowed origins
//! only (never `*`, no credentials); a preflight, which carries no token,
//! is answered for the origins some franchise allows.

mod concerns;
mod encounter;
mod invitation_page;
mod json;
#[cfg(feature = "local")]
pub mod live;
mod page;
pub mod pages;
mod room;
mod rooms;
mod snapshots;
mod sso;
mod statistics;
mod visits;
pub mod wire;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::extract::{self, JsonObject};
use crate::app::AppState;
use crate::domain::Origin;
use crate::error::{Error, Result};
use crate::services::clinic::Actor;
use crate::services::clinic::{rooms as room_service, tokens};

pub const PATIENTS_SSO: &str = "/v2/patients/sso";
pub const PATIENTS_SSO_TOKEN: &str = "/v2/patients/sso/{tokenId}";
pub const PATIENTS_LOGOUT: &str = "/v2/patients/logout";
pub const ROOMS: &str = "/v2/rooms";
pub const ROOM: &str = "/v2/rooms/{code}";
pub const PROVIDERS: &str = "/v2/providers";
pub const PROVIDER: &str = "/v2/providers/{userId}";
pub const PROVIDER_AVAILABILITY: &str = "/v2/providers/{userId}/availability";
pub const AVAILABILITY: &str = "/v2/availability";
pub const INTAKES: &str = "/v2/intakes";
pub const INTAKE: &str = "/v2/intakes/{intakeId}";
pub const VISITS: &str = "/v2/visits";
pub const VISITS_WALKIN: &str = "/v2/visits/walkin";
pub const VISITS_ECONSULT: &str = "/v2/visits/econsult";
pub const VISIT: &str = "/v2/visits/{visitId}";
pub const VISIT_MOVE: &str = "/v2/visits/{visitId}/{move}";
pub const VISIT_MESSAGES: &str = "/v2/visits/{visitId}/messages";
/// The visit's live connection (a WebSocket: the local server's; in AWS
/// the visit-live WebSocket API). Not a vendor route of the HTTP API.
pub const VISIT_LIVE: &str = "/v2/visits/{visitId}/live";
pub const VISIT_PARTICIPANTS: &str = "/v2/visits/{visitId}/participants";
pub const VISIT_PARTICIPANT: &str = "/v2/visits/{visitId}/participants/{participantId}";
pub const VISIT_PARTICIPANT_TOKENS: &str =
    "/v2/visits/{visitId}/participants/{participantId}/tokens";
pub const VISIT_PARTICIPANT_INVITATION: &str =
    "/v2/visits/{visitId}/participants/{participantId}/invitation";
pub const VISIT_PARTICIPANT_DISMISS: &str =
    "/v2/visits/{visitId}/participants/{participantId}/dismiss";
/// A participant's video join data (the video rooms' adapter's).
pub const VISIT_PARTICIPANT_VIDEO_KEY: &str =
    "/v2/visits/{visitId}/participants/{participantId}/video-key";
pub const VISIT_END: &str = "/v2/visits/{visitId}/end";
pub const VISIT_FULFIL: &str = "/v2/visits/{visitId}/fulfil";
pub const VISIT_INTAKE: &str = "/v2/visits/{visitId}/intake";
pub const VISIT_SNAPSHOTS: &str = "/v2/visits/{visitId}/snapshots";
pub const VISIT_SNAPSHOT: &str = "/v2/visits/{visitId}/snapshots/{snapshotId}";
pub const VISIT_ALIVE: &str = "/v2/visits/{visitId}/alive";
pub const VISIT_CONNECTION_STATUS: &str = "/v2/visits/{visitId}/connection-status";
pub const CONCERNS: &str = "/v2/concerns";
pub const STATISTICS_VISITS: &str = "/v2/statistics/visits";

/// Every route of the patient side's API, as (method, path). (The moves
/// of a visit share one route template; each is listed.)
pub const ROUTES: &[(&str, &str)] = &[
    ("post", PATIENTS_SSO),
    ("delete", PATIENTS_SSO_TOKEN),
    ("post", PATIENTS_LOGOUT),
    ("get", ROOMS),
    ("post", ROOMS),
    ("get", ROOM),
    ("patch", ROOM),
    ("get", PROVIDERS),
    ("put", PROVIDER),
    ("get", PROVIDER_AVAILABILITY),
    ("put", PROVIDER_AVAILABILITY),
    ("get", AVAILABILITY),
    ("post", INTAKES),
    ("get", INTAKE),
    ("patch", INTAKE),
    ("get", VISITS),
    ("post", VISITS),
    ("post", VISITS_WALKIN),
    ("post", VISITS_ECONSULT),
    ("get", VISIT),
    ("post", "/v2/visits/{visitId}/accept"),
    ("post", "/v2/visits/{visitId}/start"),
    ("post", "/v2/visits/{visitId}/complete"),
    ("post", "/v2/visits/{visitId}/no-show"),
    ("post", "/v2/visits/{visitId}/cancel"),
    ("get", VISIT_MESSAGES),
    ("post", VISIT_MESSAGES),
    // The live encounter.
    ("get", VISIT_PARTICIPANTS),
    ("post", VISIT_PARTICIPANTS),
    ("get", VISIT_PARTICIPANT),
    ("patch", VISIT_PARTICIPANT),
    ("post", VISIT_PARTICIPANT_TOKENS),
    ("delete", VISIT_PARTICIPANT_INVITATION),
    ("post", VISIT_PARTICIPANT_DISMISS),
    ("get", VISIT_PARTICIPANT_VIDEO_KEY),
    ("post", VISIT_END),
    ("post", VISIT_FULFIL),
    ("put", VISIT_INTAKE),
    ("get", VISIT_SNAPSHOTS),
    ("post", VISIT_SNAPSHOTS),
    ("get", VISIT_SNAPSHOT),
    ("delete", VISIT_SNAPSHOT),
    ("put", VISIT_ALIVE),
    ("get", VISIT_CONNECTION_STATUS),
    ("get", CONCERNS),
    ("post", CONCERNS),
    ("get", STATISTICS_VISITS),
];

/// The patient app's pages (Lambda `patient-app`).
pub fn pages_routes() -> Router<AppState> {
    pages::routes().merge(invitation_page::routes())
}

/// `GET /v2/visits/{visitId}/live` on the local server (feature `local`,
/// with its connections layered on the router); nothing elsewhere.
pub fn live_routes() -> Router<AppState> {
    #[cfg(feature = "local")]
    return Router::new().route(VISIT_LIVE, axum::routing::get(live::upgrade));
    #[cfg(not(feature = "local"))]
    Router::new()
}

/// `/v2/patients/…` (Lambda `patient-sso`).
pub fn sso_routes(app: AppState) -> Router<AppState> {
    with_cors(sso::routes(), app)
}

/// `/v2/rooms…`, `/v2/availability` (Lambda `rooms`).
pub fn rooms_routes(app: AppState) -> Router<AppState> {
    with_cors(rooms::rooms_routes(), app)
}

/// `/v2/providers…` (Lambda `providers`).
pub fn providers_routes(app: AppState) -> Router<AppState> {
    with_cors(rooms::providers_routes(), app)
}

/// `/v2/intakes…`, `/v2/concerns` (Lambda `intakes`).
pub fn intakes_routes(app: AppState) -> Router<AppState> {
    with_cors(visits::intakes_routes().merge(concerns::routes()), app)
}

/// `/v2/visits…`, `/v2/statistics/visits` (Lambda `visits`).
pub fn visits_routes(app: AppState) -> Router<AppState> {
    let routes = visits::visits_routes()
        .merge(encounter::routes())
        .merge(snapshots::routes());
    with_cors(routes.merge(statistics::routes()), app)
}

fn with_cors(router: Router<AppState>, app: AppState) -> Router<AppState> {
    router.layer(from_fn_with_state(app, cors))
}

/// The request's `Origin`, if it is one.
fn origin(headers: &HeaderMap) -> Option<Origin> {
    extract::header_str(headers, "origin").and_then(Origin::parse)
}

fn allow(res: &mut Response, origin: &Origin) {
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin.as_str()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// CORS for the browser calls of the patient side.
async fn cors(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let origin = origin(req.headers());
    if req.method() == Method::OPTIONS {
        let mut res = StatusCode::NO_CONTENT.into_response();
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = origin else { return res };
        if tokens::origin_allowed_somewhere(&app, &origin)
            .await
            .unwrap_or(false)
        {
            allow(&mut res, &origin);
            let h = res.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PATCH, PUT, DELETE"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        return res;
    }
    let bearer = extract::bearer(req.headers()).map(str::to_owned);
    let has_key = req.headers().contains_key("api-key");
    let mut res = next.run(req).await;
    if let (Some(origin), Some(token), false) = (origin, bearer, has_key)
        && tokens::origin_allowed_for_token(&app, &token, &origin)
            .await
            .unwrap_or(false)
    {
        allow(&mut res, &origin);
    }
    res
}

/// An authenticated request of the patient side: the vendor's server or a
/// token's holder.
pub struct Clinic {
    pub app: AppState,
    pub actor: Actor,
    pub headers: HeaderMap,
}

/// The actor of a request's credentials (the API key, with the provider
/// it names, or a bearer token); also of a live socket's.
pub async fn actor_of(app: &AppState, headers: &HeaderMap) -> Result<Actor> {
    if headers.contains_key("api-key") {
        let caller = extract::caller(app, headers).await?;
        let user = super::wire::integration_user(headers, None)?;
        if let Some(u) = user.as_ref().filter(|u| u.provider) {
            room_service::provider_from_call(app, &caller, u).await?;
        }
        return Ok(Actor::Vendor {
            franchise: caller.franchise,
            user: user.map(|u| u.user_id),
        });
    }
    match extract::bearer(headers) {
        Some(token) => tokens::actor_of(app, token).await,
        None => Err(Error::Unauthorized),
    }
}

impl FromRequestParts<AppState> for Clinic {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self> {
        let actor = actor_of(app, &parts.headers).await?;
        Ok(Self {
            app: app.clone(),
            actor,
            headers: parts.headers.clone(),
        })
    }
}

/// [`Clinic`] with a JSON object body (read first: a 415, 413 or 400
/// before a 401).
pub struct ClinicJson {
    pub clinic: Clinic,
    pub body: Map<String, Value>,
}

impl FromRequest<AppState> for ClinicJson {
    type Rejection = Error;

    async fn from_request(req: Request, app: &AppState) -> Result<Self> {
        let headers = req.headers().clone();
        let JsonObject(body) = JsonObject::from_request(req, app).await?;
        let actor = actor_of(app, &headers).await?;
        Ok(Self {
            clinic: Clinic {
                app: app.clone(),
                actor,
                headers,
            },
            body,
        })
    }
}

impl Clinic {
    /// The vendor's call, or a `403` for a token's holder.
    fn vendor_only(&self) -> Result<()> {
        match self.actor {
            Actor::Vendor { .. } => Ok(()),
            _ => Err(Error::forbidden("This endpoint needs the API key")),
        }
    }
}
