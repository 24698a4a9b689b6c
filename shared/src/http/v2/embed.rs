//! `POST /v2/embed/{consultation|followup}/{answer|details}`: a presigned
//! URL of one view of one resource.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Map, Value};

use super::{
    EMBED_CONSULTATION_ANSWER, EMBED_CONSULTATION_DETAILS, EMBED_FOLLOWUP_ANSWER,
    EMBED_FOLLOWUP_DETAILS,
};
use crate::app::AppState;
use crate::domain::View;
use crate::error::Result;
use crate::http::extract::{self, VendorKey, VendorKeyJson};
use crate::http::reply::{json_response, launch_json};
use crate::http::wire::{Fields, body_id, integration_user};
use crate::services::launch::{self, LaunchRequest};

/// Which resource a launch is scoped to.
#[derive(Clone, Copy)]
enum Scoped {
    Consultation,
    Followup,
}

/// Issues a launch of `view` for the resource whose id the body names
/// (`consultationId` or `followupId`): `{userId, iframeUrl, expiresAt}`.
async fn embed(
    v: VendorKey,
    body: Map<String, Value>,
    view: View,
    scoped: Scoped,
) -> Result<Response> {
    let f = Fields::new("request", &body);
    let mut req = LaunchRequest::new(view);
    match scoped {
        Scoped::Consultation => req.consultation_id = Some(body_id(&f, "consultationId")?),
        Scoped::Followup => req.followup_id = Some(body_id(&f, "followupId")?),
    }
    req.locale = extract::locale(f.opt_str("locale", 2)?.as_deref())?;
    req.franchise_scope = extract::franchise_scope(f.opt_str("scope", 16)?.as_deref())?;
    req.user = integration_user(&v.headers, Some(&body))?;
    let launch = launch::issue(&v.app, &v.auth, &req).await?;
    Ok(json_response(StatusCode::OK, &launch_json(&launch, false)))
}

/// The four launches: (path, view, resource). The answer views are the
/// patient's (a patient session that reaches that consultation or
/// follow-up only); the details views the employee's.
const EMBEDS: &[(&str, View, Scoped)] = &[
    (
        EMBED_CONSULTATION_ANSWER,
        View::ConsultationAnswer,
        Scoped::Consultation,
    ),
    (
        EMBED_CONSULTATION_DETAILS,
        View::ConsultationDetails,
        Scoped::Consultation,
    ),
    (
        EMBED_FOLLOWUP_ANSWER,
        View::FollowupAnswer,
        Scoped::Followup,
    ),
    (
        EMBED_FOLLOWUP_DETAILS,
        View::FollowupDetails,
        Scoped::Followup,
    ),
];

/// A route per launch of [`EMBEDS`].
pub fn routes() -> Router<AppState> {
    let route = |router: Router<AppState>, &(path, view, scoped): &(&str, View, Scoped)| {
        let handler = move |VendorKeyJson { vendor, body }: VendorKeyJson| async move {
            embed(vendor, body, view, scoped).await
        };
        router.route(path, post(handler))
    };
    EMBEDS.iter().fold(Router::new(), route)
}
