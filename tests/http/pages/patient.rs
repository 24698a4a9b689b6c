//! The patient's side: links that mail scanners fetch first, the
//! follow-up's answer view (a patient session, never a staff one), answers
//! that cannot grow without bound, and a patient session that names no one.

use serde_json::{Value, json};
use shared::crypto::hash_secret;
use shared::domain::{BrowserSession, Role, View};
use shared::store::{Store, items, keys};

use super::*;
use crate::helpers::*;

/// A patient (key `key`) with a sent `uti` consultation: (patient id,
/// consultation id).
async fn sent_consultation(t: &TestApp, key: &str) -> (String, String) {
    let r = t
        .post_json(
            "/v2/consultations",
            &[],
            &json!({"patient": {"keys": [{"subSystem": "pms", "key": key}], "firstName": "Ann", "lastName": "Lee"},
                    "reason": "uti"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let b = r.json();
    (
        b["patientId"].as_str().unwrap().to_owned(),
        b["consultation"]["consultationId"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// Whether the launch of `url` was redeemed.
async fn redeemed(t: &TestApp, url: &str) -> bool {
    let key = keys::launch_key(&demo_tenant(), &hash_secret(token_of(url)));
    let item = t.store.get(&key).await.unwrap().expect("the launch");
    item.attrs.contains_key("redeemedAt")
}

#[tokio::test]
async fn a_scanned_patient_link_stays_unopened_until_the_patient_acts() {
    let t = spawn_app().await;
    let (_, cid) = sent_consultation(&t, "scan-1").await;
    let url = t
        .get(
            "/embeddable/consultation/answer?patientKey=scan-1&locale=en",
            &[],
        )
        .await
        .text();
    // The mail gateway: HEAD, then GET without running the page's script.
    let path = url.strip_prefix(BASE_URL).unwrap();
    let head = t
        .send(
            http::Request::head(path)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(head.status, 200);
    let get = t.load(&url, &[]).await;
    assert_eq!(get.status, 200);
    assert_eq!(context(&get.text())["state"], "shell");
    assert!(
        !get.text().contains("symptoms"),
        "no questionnaire in the shell"
    );
    assert!(!redeemed(&t, &url).await, "the launch is unredeemed");
    assert_eq!(status_of(&t, &cid).await, "SENT");
    // The patient's browser runs the script: it opens, once; showing the
    // questionnaire moves nothing.
    let s = open(&t, &url).await;
    assert!(s.html.contains("Which symptoms do you have?"));
    assert!(redeemed(&t, &url).await);
    assert_eq!(t.redeem(&url).await.status, 410, "once");
    assert_eq!(status_of(&t, &cid).await, "SENT");
    // The first answer moves it (straight to TO_BE_ANALYZED: the patient
    // never touched the form before sending it).
    let r = s
        .act(
            &t,
            "consultation.answer",
            json!({"consultationId": cid, "answers": uti_answers()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["events"][0]["data"]["previousStatus"], "SENT");
    assert_eq!(status_of(&t, &cid).await, "TO_BE_ANALYZED");
}

/// A follow-up with the `uti` questionnaire for `key`: (patient id, follow-up id).
async fn followup(t: &TestApp, key: &str, reason: Option<&str>) -> (String, String) {
    let mut body = json!({"patient": {"keys": [{"subSystem": "pms", "key": key}], "firstName": "Ann", "lastName": "Lee"},
                          "dueDate": "2026-02-01"});
    if let Some(r) = reason {
        body["reason"] = r.into();
    }
    let r = t.post_json("/v2/followups", &[], &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let b = r.json();
    (
        b["patientId"].as_str().unwrap().to_owned(),
        b["followup"]["followupId"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_followup_answer_url_is_the_patients_and_reaches_that_followup_only() {
    let t = spawn_app().await;
    let (patient_id, fid) = followup(&t, "fu-1", Some("uti")).await;
    let (_, other) = followup(&t, "fu-2", Some("uti")).await;
    let (_, cid) = sent_consultation(&t, "fu-1").await;
    let r = t
        .post_json(
            "/v2/embed/followup/answer",
            &[],
            &json!({"followupId": fid, "locale": "en"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["iframeUrl"].as_str().unwrap().to_owned();
    assert!(url.contains("/followup/answer?session="), "{url}");
    let s = open(&t, &url).await;
    assert_eq!(s.ctx["ready"]["followupId"], fid.as_str());
    assert!(s.html.contains("Which symptoms do you have?"));
    assert!(s.html.contains("data-action=\"followup.answer\""));
    assert!(!s.html.contains("Signed in as"), "a patient's page");
    // Every employee view is refused, with any id.
    for view in View::ALL.into_iter().filter(|v| v.role() == Role::Employee) {
        let slug = shared::domain::links::view_slug(view);
        for query in [
            String::new(),
            format!("?patientId={patient_id}"),
            format!("?followupId={fid}"),
            format!("?consultationId={cid}"),
        ] {
            let r = s.page(&t, &format!("{}/{slug}{query}", s.base)).await;
            assert_eq!(r.status, 403, "{slug}{query}");
            assert!(!r.text().contains("Ann Lee"), "{slug}{query}");
        }
    }
    // Every employee action is refused.
    for (action, body) in [
        (
            "consultation.create",
            json!({"patientId": patient_id, "reason": "uti"}),
        ),
        ("consultation.send", json!({"consultationId": cid})),
        ("consultation.complete", json!({"consultationId": cid})),
        ("consultation.archive", json!({"consultationId": cid})),
        ("consultation.cancel", json!({"consultationId": cid})),
        (
            "followup.create",
            json!({"patientId": patient_id, "dueDate": "2026-03-01", "frequency": "once"}),
        ),
        ("followup.move", json!({"followupId": fid, "to": "DONE"})),
        ("franchise.onboard", json!({"accept": true})),
        ("franchise.offboard", json!({"confirm": true})),
        ("consultation.open", json!({"consultationId": cid})),
        (
            "consultation.answer",
            json!({"consultationId": cid, "answers": uti_answers()}),
        ),
    ] {
        let r = s.act(&t, action, body).await;
        assert_eq!(r.status, 403, "{action}: {}", r.text());
    }
    assert_eq!(status_of(&t, &cid).await, "SENT");
    // Another follow-up: not found, like an unknown one.
    let r = s
        .page(
            &t,
            &format!("{}/followup/answer?followupId={other}", s.base),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = s
        .act(
            &t,
            "followup.answer",
            json!({"followupId": other, "answers": uti_answers()}),
        )
        .await;
    assert_eq!(r.status, 404);
    // Its own: the answers are recorded, PLANNED → IN_PROGRESS, once.
    let r = s
        .act(
            &t,
            "followup.answer",
            json!({"followupId": fid, "answers": [{"questionId": "fever", "value": "hot"}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .act(
            &t,
            "followup.answer",
            json!({"followupId": fid, "answers": uti_answers()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event = &r.json()["events"][0];
    assert_eq!(event["status"], "IN_PROGRESS");
    assert_eq!(event["data"]["previousStatus"], "PLANNED");
    check_against_schema(event, "followup-updated.json");
    assert_in_outbox(&t, event).await;
    let thanks = s
        .page(&t, r.json()["location"].as_str().unwrap())
        .await
        .text();
    assert!(thanks.contains("Thank you"), "{thanks}");
    let r = s
        .act(
            &t,
            "followup.answer",
            json!({"followupId": fid, "answers": uti_answers()}),
        )
        .await;
    assert_eq!(r.status, 409);
    let stored = t.get(&format!("/v2/followups/{fid}"), &[]).await.json();
    assert_eq!(stored["status"], "IN_PROGRESS");
    assert_eq!(stored["answers"].as_array().unwrap().len(), 6);
    // A follow-up without a questionnaire has nothing to answer.
    let (_, bare) = followup(&t, "fu-3", None).await;
    let r = t
        .post_json(
            "/v2/embed/followup/answer",
            &[],
            &json!({"followupId": bare, "locale": "en"}),
        )
        .await;
    let s = open(&t, r.json()["iframeUrl"].as_str().unwrap()).await;
    assert!(s.html.contains("no questionnaire"), "{}", s.html);
    let r = s
        .act(
            &t,
            "followup.answer",
            json!({"followupId": bare, "answers": []}),
        )
        .await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn a_huge_multiple_choice_is_a_400_and_repeats_are_kept_once() {
    let t = spawn_app().await;
    let (_, cid) = sent_consultation(&t, "multi-1").await;
    let url = t
        .post_json(
            "/v2/embed/consultation/answer",
            &[],
            &json!({"consultationId": cid}),
        )
        .await
        .json()["iframeUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = open(&t, &url).await;
    let with_symptoms = |symptoms: Value| {
        let mut answers = uti_answers();
        answers[0]["value"] = symptoms;
        json!({"consultationId": cid, "answers": answers})
    };
    // ~1.5 MB of one valid choice, repeated: under the body limit, over
    // what an item holds.
    let huge = Value::from(vec![json!("burning"); 150_000]);
    let r = s.act(&t, "consultation.answer", with_symptoms(huge)).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("at most"));
    let r = s
        .act(
            &t,
            "consultation.answer",
            with_symptoms(json!(["burning", "urgency", "burning", "urgency"])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = t.get(&format!("/v2/consultations/{cid}"), &[]).await.json();
    assert_eq!(stored["answers"][0]["value"], json!(["burning", "urgency"]));
}

/// A patient session stored without a patient or a consultation (as an
/// older launch could be) opens nothing and answers nothing: ownership
/// checks deny when neither id is set.
#[tokio::test]
async fn a_patient_session_that_names_no_one_reaches_nothing() {
    let t = spawn_app().await;
    let (_, cid) = sent_consultation(&t, "nobody-1").await;
    let token = shared::crypto::random_token().unwrap();
    let now = START_MS;
    // (Read from its stored shape, as an older item would be.)
    let session: BrowserSession = serde_json::from_value(json!({
        "tenantKey": "demo",
        "scope": {"accountId": t.world.account_id, "userId": "demo-owner", "role": "patient",
                  "view": "consultation-answer", "locale": "en"},
        "createdAt": now,
        "expiresAt": now + 3_600_000,
    }))
    .unwrap();
    assert_eq!(session.scope.role, Role::Patient);
    assert_eq!(session.scope.view, View::ConsultationAnswer);
    let key = keys::session_key(&demo_tenant(), &hash_secret(&token));
    let item = items::item_of(key, &session, "session").unwrap();
    t.store.write(items::put_new(item)).await.unwrap();
    let base = "/en/embed/franchise/demo";
    let auth = format!("Bearer {token}");
    let r = t
        .load(
            &format!("{base}/consultation/answer?consultationId={cid}"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("symptoms"));
    let r = act(
        &t,
        base,
        "consultation.answer",
        Some(&token),
        json!({"consultationId": cid, "answers": uti_answers()}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(status_of(&t, &cid).await, "SENT");
}
