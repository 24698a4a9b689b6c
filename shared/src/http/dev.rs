//! Local-server-only routes (feature `local`: never in a Lambda):
//! - `GET /dev/events`: the bus's events as server-sent events;
//! - `GET /dev/messages`: what the local notifier "sent" (JSON);
//! - `GET /dev/metrics`: the counters of `metrics` (Prometheus text): what
//!   the Lambdas write as EMF lines;
//! - `GET /demo`: a vendor page that mounts the app with the host-page SDK
//!   (`/sdk/embedcare.js`) and shows the SDK's callbacks and the bus events
//!   side by side. Open it as
//!   `http://localhost:PORT/demo`, so that it is another origin than the
//!   pages (`http://127.0.0.1:PORT`), as a vendor's screen would be;
//! - `POST /demo/launch`: the demo vendor's server side (the API key stays
//!   here, never in the browser).
//!
//! And the local server's [`guard`], in front of every route: a request
//! whose `Host` is not one of the server's own names is refused (a page of
//! another site whose name resolves to this machine, DNS rebinding, reaches
//! nothing), and `/demo` and `/dev` answer clients on this machine only
//! (they hold the demo key's power and the patients' messages).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::extract::JsonObject;
use super::wire::patient_input;
use crate::app::AppState;
use crate::clock::day_of;
use crate::domain::{Locale, View};
use crate::error::{Error, Result};
use crate::events::local::LocalBus;
use crate::metrics::prometheus::Prometheus;
use crate::notify::local::LocalNotifier;
use crate::services::demo::DemoWorld;
use crate::services::launch::{self, LaunchRequest, PatientRef};
use crate::services::{auth, lists};

pub struct Dev {
    pub bus: Arc<LocalBus>,
    pub notifier: Arc<LocalNotifier>,
    pub world: DemoWorld,
    /// The server's counters (also the process's sink: `metrics::install`).
    pub metrics: Arc<Prometheus>,
}

pub fn routes(dev: Arc<Dev>) -> Router<AppState> {
    Router::new()
        .route("/dev/events", get(events))
        .route("/dev/messages", get(messages))
        .merge(metrics_routes(dev.metrics.clone()))
        .route("/demo", get(demo_page))
        .route("/demo/demo.js", get(demo_js))
        .route("/demo/launch", post(demo_launch))
        .layer(Extension(dev))
}

async fn events(
    Extension(dev): Extension<Arc<Dev>>,
) -> Sse<impl futures_util::Stream<Item = std::result::Result<SseEvent, Infallible>>> {
    let rx = dev.bus.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(delivered) => {
                    let event = SseEvent::default()
                        .event("bus")
                        .data(delivered.envelope().to_string());
                    return Some((Ok(event), rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// `GET /dev/metrics` on `metrics`.
pub fn metrics_routes(metrics: Arc<Prometheus>) -> Router<AppState> {
    Router::new()
        .route("/dev/metrics", get(metrics_text))
        .layer(Extension(metrics))
}

async fn metrics_text(Extension(metrics): Extension<Arc<Prometheus>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

async fn messages(Extension(dev): Extension<Arc<Dev>>) -> Json<Value> {
    let list: Vec<Value> = dev
        .notifier
        .messages()
        .into_iter()
        .map(|(id, m)| json!({"id": id, "to": m.to, "subject": m.subject, "text": m.text, "link": m.link}))
        .collect();
    Json(json!({ "messages": list }))
}

const DEMO_HTML: &str = include_str!("../../dev/demo.html");
const DEMO_JS: &str = include_str!("../../dev/demo.js");

async fn demo_page(Extension(dev): Extension<Arc<Dev>>) -> Response {
    let origin = dev.world.base_url.clone();
    let html = DEMO_HTML.replace("{{APP_ORIGIN}}", &origin);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                format!("default-src 'self'; script-src 'self' {origin}; frame-src {origin}; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
            ),
        ],
        html,
    )
        .into_response()
}

async fn demo_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        DEMO_JS,
    )
        .into_response()
}

/// `{view: "consultation/start", locale?, consultationId?}`: a launch for
/// the demo franchise's patient Ann Lee, as a vendor's server would ask.
async fn demo_launch(
    State(app): State<AppState>,
    Extension(dev): Extension<Arc<Dev>>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    let caller = auth::authenticate(&app, Some(&dev.world.api_key), None).await?;
    let (area, slug) = body
        .get("view")
        .and_then(Value::as_str)
        .and_then(|v| v.split_once('/'))
        .ok_or_else(|| Error::invalid("view is area/view"))?;
    let view = View::from_segments(area, slug).ok_or_else(|| Error::invalid("unknown view"))?;
    let mut req = LaunchRequest::new(view);
    req.locale = body
        .get("locale")
        .and_then(Value::as_str)
        .and_then(Locale::parse);
    req.patient = PatientRef::Upsert(patient_input(
        &json!({"keys": [{"subSystem": "demo-pms", "key": "DEMO-0001"}], "firstName": "Ann", "lastName": "Lee",
                "dateOfBirth": "1958-03-14", "sex": "female", "email": "ann.lee@example.com", "preferredLanguage": "EN"}),
        day_of(app.now_ms()),
    )?);
    if matches!(view, View::ConsultationDetails | View::ConsultationAnswer) {
        // The demo patient's latest consultation, when there is one.
        let tenant = caller.tenant();
        let patient = launch::issue(
            &app,
            &caller.key_auth(),
            &LaunchRequest {
                view: View::ConsultationDashboard,
                ..req.clone()
            },
        )
        .await?;
        if let Some(pid) = patient.patient_id {
            req.consultation_id = lists::latest_consultation(&app, tenant, &pid)
                .await?
                .map(|c| c.consultation_id);
        }
    }
    let launch = launch::issue(&app, &caller.key_auth(), &req).await?;
    Ok(Json(
        json!({"iframeUrl": launch.iframe_url, "userId": launch.user_id.as_str()}),
    ))
}

/// The host names the local server answers to.
#[derive(Debug, Clone)]
pub struct Hosts(Vec<String>);

impl Hosts {
    /// `localhost`, the loopback addresses, and `names` (the address it
    /// listens on, the host of its base URL, what the operator adds);
    /// compared without the port, case-insensitively.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut all: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        for name in names {
            let name = name.trim().to_ascii_lowercase();
            if !name.is_empty() && !all.contains(&name) {
                all.push(name);
            }
        }
        Self(all)
    }

    fn admits(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let name = match host.strip_prefix('[') {
            // `[v6]:port`, `[v6]`
            Some(rest) => rest
                .split_once(']')
                .map_or(host.clone(), |(v6, _)| format!("[{v6}]")),
            None => host
                .rsplit_once(':')
                .map_or(host.as_str(), |(h, _)| h)
                .to_owned(),
        };
        self.0.contains(&name)
    }
}

/// The host a request names: its `Host` header, or its URI's authority
/// (HTTP/2).
fn requested_host(req: &axum::extract::Request) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
}

/// What the [`guard`] knows: the server's host names, and the clock (for
/// the error body's timestamp).
pub struct Guard {
    pub hosts: Hosts,
    pub clock: Arc<dyn crate::clock::Clock>,
}

/// The local server's guard (see the module's documentation); the peer
/// address comes from `ConnectInfo` (none: not this machine).
pub async fn guard(
    State(g): State<Arc<Guard>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::StatusCode;
    let path = req.uri().path().to_owned();
    let refuse = |status: StatusCode, message: &str| {
        let body = json!({
            "timestamp": crate::clock::iso_ms(g.clock.now_ms()),
            "status": status.as_u16(),
            "error": status.canonical_reason().unwrap_or("Error"),
            "message": message,
            "path": path,
        });
        (status, Json(body)).into_response()
    };
    if !requested_host(&req).is_some_and(|h| g.hosts.admits(&h)) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "This server does not answer to that host name",
        );
    }
    let local_only = path == "/demo" || path.starts_with("/demo/") || path.starts_with("/dev/");
    let peer_is_local = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    if local_only && !peer_is_local {
        return refuse(StatusCode::NOT_FOUND, "No such endpoint");
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use axum::http::Request;
    use tower::ServiceExt;

    fn router() -> Router {
        let g = Arc::new(Guard {
            hosts: Hosts::new(["embed.test"]),
            clock: Arc::new(crate::clock::ManualClock::new(0)),
        });
        Router::new()
            .route("/demo", get(|| async { "demo" }))
            .route("/dev/messages", get(|| async { "dev" }))
            .route("/v2/x", get(|| async { "api" }))
            .layer(axum::middleware::from_fn_with_state(g, guard))
    }

    async fn status(host: &str, path: &str, peer: Option<&str>) -> u16 {
        let mut req = Request::get(path)
            .header(header::HOST, host)
            .body(axum::body::Body::empty())
            .unwrap();
        if let Some(p) = peer {
            req.extensions_mut()
                .insert(ConnectInfo(p.parse::<std::net::SocketAddr>().unwrap()));
        }
        router().oneshot(req).await.unwrap().status().as_u16()
    }

    #[tokio::test]
    async fn only_its_own_host_names_and_the_dev_routes_from_this_machine() {
        let me = Some("127.0.0.1:50000");
        for host in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST",
            "[::1]:3000",
            "embed.test",
        ] {
            assert_eq!(status(host, "/v2/x", me).await, 200, "{host}");
        }
        for host in [
            "evil.example:3000",
            "127.0.0.1.evil.example",
            "",
            "embed.test.evil",
        ] {
            assert_eq!(status(host, "/v2/x", me).await, 421, "{host}");
        }
        assert_eq!(status("localhost:3000", "/demo", me).await, 200);
        assert_eq!(
            status("localhost:3000", "/dev/messages", Some("[::1]:9")).await,
            200
        );
        for peer in [Some("192.168.1.20:50000"), Some("[2001:db8::1]:9"), None] {
            assert_eq!(
                status("localhost:3000", "/demo", peer).await,
                404,
                "{peer:?}"
            );
            assert_eq!(status("localhost:3000", "/dev/messages", peer).await, 404);
            assert_eq!(status("localhost:3000", "/v2/x", peer).await, 200);
        }
    }
}
