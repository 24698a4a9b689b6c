//! A consultation's life through HTTP (create → launch → redeem → opened →
//! answered) and a booking (a scheduled visit into a slot), under a fault
//! at every position of every step.

use std::sync::atomic::Ordering;

use http::Method;
use serde_json::{Value, json};

use super::*;
use crate::clinic::call;
use crate::pages::{act, context, uti_answers};

/// The life: five steps, each a call of the vendor or of the page.
async fn life(target: Option<Target>) -> Run {
    let run = spawn_run(target).await;
    let t = &run.t;
    let patient = json!({"keys": [{"subSystem": "pms", "key": "fault-1"}],
                         "firstName": "Ann", "lastName": "Lee"});
    let created = run
        .step("create", &[201], async || {
            let body = json!({"patient": patient, "reason": "uti"});
            t.post_json("/v2/consultations", &[], &body).await
        })
        .await
        .json();
    let id = created["consultation"]["consultationId"]
        .as_str()
        .expect("an id")
        .to_owned();
    let launched = run
        .step("launch", &[200], async || {
            let body = json!({"consultationId": id, "locale": "en"});
            t.post_json("/v2/embed/consultation/answer", &[], &body)
                .await
        })
        .await
        .json();
    let url = launched["iframeUrl"].as_str().expect("a URL").to_owned();
    // The page's nonce: its script sends the same one again (`REDEEM_AGAIN_MS`).
    let nonce = page_nonce();
    let page = run
        .step("redeem", &[200], async || t.redeem_with(&url, &nonce).await)
        .await;
    let ctx = context(&page.text());
    let token = ctx["sessionToken"].as_str().expect("a session").to_owned();
    let base = "/en/embed/franchise/demo";
    let opened = run
        .step("open", &[200], async || {
            act(
                t,
                base,
                "consultation.open",
                Some(&token),
                json!({"consultationId": id}),
            )
            .await
        })
        .await;
    assert_eq!(opened.json()["events"][0]["status"], "IN_PROGRESS");
    let answered = run
        .step("answer", &[200], async || {
            let body = json!({"consultationId": id, "answers": uti_answers()});
            act(t, base, "consultation.answer", Some(&token), body).await
        })
        .await;
    assert_eq!(answered.json()["events"][0]["status"], "TO_BE_ANALYZED");
    let r = t.get(&format!("/v2/consultations/{id}"), &[]).await;
    assert_eq!(r.json()["status"], "TO_BE_ANALYZED", "the life's end");
    run
}

/// The booking: the patient signs in, tells why, and books a slot.
async fn booking(target: Option<Target>) -> Run {
    let run = spawn_run(target).await;
    let t = &run.t;
    let signed = run
        .step("sso", &[200], async || {
            call(
                t,
                Method::POST,
                "/v2/patients/sso",
                Some(&t.world.api_key),
                None,
                &[],
                Some(
                    &json!({"patient": {"keys": [{"subSystem": "portal", "key": "P-fault"}],
                                         "firstName": "Ana", "lastName": "Lopez"}}),
                ),
            )
            .await
        })
        .await
        .json();
    let token = signed["token"]["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let made = run
        .step("intake", &[201], async || {
            let body = json!({"reasonForVisit": "Sore throat", "type": "SCHEDULED",
                              "roomCode": "clinic", "concerns": [{"text": "fever", "primary": true}]});
            call(t, Method::POST, "/v2/intakes", None, Some(&token), &[], Some(&body)).await
        })
        .await
        .json();
    let intake_id = made["intakeId"].as_str().expect("an intake").to_owned();
    let booked = run
        .step("book", &[201], async || {
            let body = json!({"intakeId": intake_id, "providerId": "dr-nguyen",
                              "start": "2026-01-02T10:00:00Z", "duration": 30});
            call(
                t,
                Method::POST,
                "/v2/visits",
                None,
                Some(&token),
                &[],
                Some(&body),
            )
            .await
        })
        .await
        .json();
    assert_eq!(booked["status"], "SCHEDULED");
    // One visit in that slot, whatever was faulted.
    let r = call(t, Method::GET, "/v2/visits", None, Some(&token), &[], None).await;
    let visits: Vec<Value> = r.json()["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(visits.len(), 1, "one booking: {visits:?}");
    run
}

/// Runs `scenario` fault-free, then under every target; checks every
/// channel after each run; prints and asserts the tally.
async fn every_fault<F>(name: &str, scenario: F) -> Tally
where
    F: AsyncFn(Option<Target>) -> Run,
{
    let clean = scenario(None).await;
    let calls = clean.calls.lock().unwrap().clone();
    let expected: Vec<String> = listed(&clean.t)
        .await
        .into_iter()
        .map(|(_, ty)| ty)
        .collect();
    let (delivered, lost) = check_channels(&clean.t, &expected).await;
    assert_eq!(lost, 0);
    let mut tally = Tally {
        runs: 1,
        delivered,
        ..Tally::default()
    };
    let (mut conflicts, mut committed) = (0, 0);
    let targets = targets(&calls);
    assert!(!targets.is_empty());
    for target in targets {
        let run = scenario(Some(target)).await;
        assert_eq!(run.faults.injected(), 1, "{name}: {target:?} fired once");
        let (delivered, lost) = check_channels(&run.t, &expected).await;
        tally.runs += 1;
        tally.faults += run.faults.injected();
        tally.unavailable += run.answered_503.load(Ordering::SeqCst);
        conflicts += run.answered_409.load(Ordering::SeqCst);
        committed += run.committed.load(Ordering::SeqCst);
        tally.delivered += delivered;
        tally.lost += lost;
    }
    tally.print(name);
    println!(
        "faults[{name}]: answered_409 (an injected condition failure, a lost race)={conflicts} committed_then_503 (completed when sent again)={committed} calls per step (all, transactions) {calls:?}"
    );
    assert_eq!(tally.lost, 0, "{name}: events lost");
    assert_eq!(
        tally.faults,
        tally.runs - 1,
        "{name}: one fault per faulted run"
    );
    assert!(
        tally.unavailable > 0,
        "{name}: some fault reached the caller"
    );
    tally
}

#[tokio::test]
async fn a_consultation_s_life_survives_a_fault_at_every_call() {
    every_fault("consultation life", life).await;
}

#[tokio::test]
async fn a_booking_survives_a_fault_at_every_call() {
    every_fault("booking", booking).await;
}
