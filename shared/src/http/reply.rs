//! Responses the vendor APIs share: JSON that no cache keeps, and a launch
//! as the vendor receives it.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::clock::iso_ms;
use crate::services::launch::Launch;

/// A JSON response that no cache keeps (launch URLs are single-use).
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// `{userId, iframeUrl, expiresAt}`, and `patientId` when asked for.
pub fn launch_json(launch: &Launch, with_patient: bool) -> Value {
    let mut body = json!({
        "userId": launch.user_id.as_str(),
        "iframeUrl": launch.iframe_url,
        "expiresAt": iso_ms(launch.expires_at),
    });
    if with_patient {
        body["patientId"] = json!(launch.patient_id);
    }
    body
}
