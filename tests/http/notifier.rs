//! The patient notifier cannot lose an e-mail: a run that dies between its
//! claim and its send (here: its future dropped while the send hangs)
//! leaves a claim that makes the next runs fail, so the event is retried,
//! until the claim is stale and a run takes it over. Exactly one e-mail.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use shared::domain::{ConsultationStatus, DeliveryStatus, PatientId, ReasonCode, UserId};
use shared::lambda::eventbridge::on_event;
use shared::notify::local::LocalNotifier;
use shared::notify::{Message, Notifier};
use shared::services::consultations::{self, NewConsultation};
use shared::services::notify::CLAIM_MS;

use crate::helpers::*;

/// A provider that never answers: the run waits on it until it is killed.
struct Hangs;

#[async_trait]
impl Notifier for Hangs {
    async fn send(&self, _: &Message) -> Result<String, String> {
        std::future::pending().await
    }
}

/// A `SENT` consultation of a patient with an e-mail, and its event as
/// the rule delivers it.
async fn sent(t: &TestApp, key: &str) -> (shared::domain::Consultation, Value) {
    let r = t
        .create(
            json!({"keys": [{"subSystem": "pms", "key": key}], "firstName": "Ann",
                   "lastName": "Lee", "email": "ann@example.com"}),
            &[],
        )
        .await;
    let patient_id = PatientId::parse(r.json()["patientId"].as_str().unwrap()).unwrap();
    let (c, event) = consultations::create_consultation(
        &t.app,
        &demo_tenant(),
        NewConsultation {
            patient_id,
            created_by: UserId::parse("demo-owner").unwrap(),
            reason_code: ReasonCode::known("uti"),
            metadata: None,
            send: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(c.status, ConsultationStatus::Sent);
    let envelope = json!({"source": "embedcare", "detail-type": event.detail_type(),
                          "detail": serde_json::to_value(&event).unwrap()});
    (c, envelope)
}

async fn delivery(t: &TestApp, c: &shared::domain::Consultation) -> DeliveryStatus {
    consultations::consultation(&t.app, &demo_tenant(), &c.consultation_id)
        .await
        .unwrap()
        .delivery
        .expect("a delivery")
        .status
}

#[tokio::test]
async fn a_run_killed_between_its_claim_and_its_send_loses_no_email() {
    let t = spawn_app().await;
    let (c, envelope) = sent(&t, "notify-1").await;

    // The first run claims, then hangs in the send, and is killed.
    let killed = tokio::time::timeout(
        Duration::from_millis(200),
        on_event(&t.app, &Hangs, &envelope),
    )
    .await;
    assert!(killed.is_err(), "the run was still sending when killed");
    assert_eq!(delivery(&t, &c).await, DeliveryStatus::Pending);

    // A retry while the claim is fresh fails (to be retried), sending nothing.
    let mailer = LocalNotifier::default();
    let retry = on_event(&t.app, &mailer, &envelope).await;
    assert!(retry.is_err(), "a fresh claim of another run: {retry:?}");
    assert_eq!(
        shared::http::error::status(&retry.unwrap_err()).as_u16(),
        503,
        "an error the event's retry policy retries (a busy dependency)"
    );
    assert!(mailer.messages().is_empty());

    // Once the claim is stale, a retry takes it over and sends.
    t.clock.advance_ms(CLAIM_MS);
    let sent = on_event(&t.app, &mailer, &envelope).await.unwrap().unwrap();
    assert_eq!(sent.status, DeliveryStatus::Sent);
    assert_eq!(delivery(&t, &c).await, DeliveryStatus::Sent);
    // Later retries (at least once) send nothing more.
    assert!(
        on_event(&t.app, &mailer, &envelope)
            .await
            .unwrap()
            .is_none()
    );
    let messages = mailer.messages();
    assert_eq!(messages.len(), 1, "exactly one e-mail");
    assert_eq!(messages[0].1.to, "ann@example.com");
}

#[tokio::test]
async fn of_two_runs_at_once_one_sends_and_the_other_is_retried() {
    let t = spawn_app().await;
    let (_, envelope) = sent(&t, "notify-2").await;
    let mailer = Arc::new(LocalNotifier::default());
    let (a, b) = tokio::join!(
        on_event(&t.app, mailer.as_ref(), &envelope),
        on_event(&t.app, mailer.as_ref(), &envelope)
    );
    let outcomes = [a, b];
    let sent = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Some(d)) if d.status == DeliveryStatus::Sent))
        .count();
    // The other lost the claim (an error, retried) or came after the send.
    let other_ok = outcomes
        .iter()
        .all(|o| o.is_err() || matches!(o, Ok(Some(_)) | Ok(None)));
    assert!(sent == 1 && other_ok, "{outcomes:?}");
    assert_eq!(mailer.messages().len(), 1);
    // The loser's retry finds it sent.
    assert!(
        on_event(&t.app, mailer.as_ref(), &envelope)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(mailer.messages().len(), 1);
}
