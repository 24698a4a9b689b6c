//! A patient and its consultation, made through the services as a vendor
//! call and the pages make them: what the tests of events start from.

use serde_json::json;
use shared::App;
use shared::clock::day_of;
use shared::domain::{Consultation, PatientId, ReasonCode, TenantKey, UserId, View};
use shared::events::Event;
use shared::http::wire::patient_input;
use shared::services::auth;
use shared::services::consultations::{self, NewConsultation};
use shared::services::launch::{self, LaunchRequest, PatientRef};

/// The patient Ann Lee of the key's franchise, under `patient_key` (a
/// launch upserts her, as a vendor's call does).
pub async fn patient(app: &App, api_key: &str, patient_key: &str) -> PatientId {
    let caller = auth::authenticate(app, Some(api_key), None)
        .await
        .expect("the API key");
    let mut req = LaunchRequest::new(View::ConsultationStart);
    req.patient = PatientRef::Upsert(
        patient_input(
            &json!({"keys":[{"subSystem":"pms","key": patient_key}],"firstName":"Ann","lastName":"Lee"}),
            day_of(app.now_ms()),
        )
        .expect("a patient"),
    );
    launch::issue(app, &caller.key_auth(), &req)
        .await
        .expect("a launch")
        .patient_id
        .expect("the patient")
}

/// A consultation of that patient, created by the demo owner (and sent,
/// with `reason`), with its event.
pub async fn consultation(
    app: &App,
    tenant: &TenantKey,
    patient_id: PatientId,
    reason: Option<&str>,
) -> (Consultation, Event) {
    let new = NewConsultation {
        patient_id,
        created_by: UserId::parse("demo-owner").expect("a user id"),
        reason_code: reason.and_then(ReasonCode::known),
        metadata: None,
        send: reason.is_some(),
    };
    consultations::create_consultation(app, tenant, new)
        .await
        .expect("a consultation")
}
