//! Local-server-only routes (feature `local`: never in a Lambda):
//! - `GET /dev/events`: the bus's events as server-sent events;
//! - `GET /dev/messages`: what the local notifier "sent" (JSON);
//! - `GET /demo`: a vendor page that mounts the app with the host-page SDK
//!   (`/sdk/embedcare.js`) and shows the SDK's callbacks and the bus events
//!   side by side. Open it as
//!   `http://localhost:PORT/demo`, so that it is another origin than the
//!   pages (`http://127.0.0.1:PORT`), as a vendor's screen would be;
//! - `POST /demo/launch`: the demo vendor's server side (the API key stays
//!   here, never in the browser).

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
use crate::notify::local::LocalNotifier;
use crate::services::demo::DemoWorld;
use crate::services::launch::{self, LaunchRequest, PatientRef};
use crate::services::{auth, lists};

pub struct Dev {
    pub bus: Arc<LocalBus>,
    pub notifier: Arc<LocalNotifier>,
    pub world: DemoWorld,
}

pub fn routes(dev: Arc<Dev>) -> Router<AppState> {
    Router::new()
        .route("/dev/events", get(events))
        .route("/dev/messages", get(messages))
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
            &caller,
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
    let launch = launch::issue(&app, &caller, &req).await?;
    Ok(Json(
        json!({"iframeUrl": launch.iframe_url, "userId": launch.user_id.as_str()}),
    ))
}
