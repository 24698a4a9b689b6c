//! The page actions: moves and their errors, follow-ups, the franchise's
//! onboarding and offboarding, and the events they post.

use serde_json::json;

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn an_illegal_move_is_409_and_bad_input_names_the_field() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    let r = s
        .act(&t, "consultation.create", json!({"patientId": patient_id}))
        .await;
    let id = r.json()["events"][0]["data"]["consultationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("{}/actions/consultation.archive", s.base);
    let r = s
        .act(&t, "consultation.archive", json!({"consultationId": id}))
        .await;
    assert_error(
        &r,
        409,
        "A DRAFT consultation cannot become ARCHIVED",
        &path,
    );
    let r = s
        .act(&t, "consultation.create", json!({"reason": "uti"}))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("patientId"));
    let r = s
        .act(
            &t,
            "consultation.create",
            json!({"patientId": patient_id, "reason": "nope"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("reason"));
    let r = s
        .act(
            &t,
            "consultation.create",
            json!({"patientId": patient_id, "send": true}),
        )
        .await;
    assert_eq!(r.status, 400, "sending needs a reason");
    let r = s.act(&t, "consultation.nope", json!({})).await;
    assert_eq!(r.status, 404);
    // The draft is sent with a reason picked on its details page.
    let details = s
        .page(
            &t,
            &format!("{}/consultation/details?consultationId={id}", s.base),
        )
        .await
        .text();
    assert!(details.contains("name=\"reason\""));
    let r = s
        .act(
            &t,
            "consultation.send",
            json!({"consultationId": id, "reason": "uti"}),
        )
        .await;
    assert_eq!(r.json()["events"][0]["status"], "SENT");
}

#[tokio::test]
async fn follow_ups_are_planned_and_moved_through_their_states() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    let r = s
        .act(
            &t,
            "followup.create",
            json!({"patientId": patient_id, "dueDate": "soon", "frequency": "weekly"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("dueDate"));
    let r = s
        .act(
            &t,
            "followup.create",
            json!({"patientId": patient_id, "reason": "blood-pressure", "dueDate": "2026-02-01",
                   "frequency": "weekly", "notes": "Morning readings"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let created = &r.json()["events"][0];
    check_against_schema(created, "followup-created.json");
    assert_eq!(created["status"], "PLANNED");
    assert_in_outbox(&t, created).await;
    let id = created["data"]["followupId"].as_str().unwrap().to_owned();
    let details = s
        .page(&t, r.json()["location"].as_str().unwrap())
        .await
        .text();
    assert!(details.contains("Morning readings") && details.contains("Weekly"));
    assert!(details.contains("value=\"IN_PROGRESS\""));
    let r = s
        .act(
            &t,
            "followup.move",
            json!({"followupId": id, "to": "IN_PROGRESS"}),
        )
        .await;
    assert_eq!(r.json()["events"][0]["status"], "IN_PROGRESS");
    check_against_schema(&r.json()["events"][0], "followup-updated.json");
    let r = s
        .act(
            &t,
            "followup.move",
            json!({"followupId": id, "to": "ARCHIVED"}),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = s
        .act(
            &t,
            "followup.move",
            json!({"followupId": id, "to": "LATER"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .act(&t, "followup.move", json!({"followupId": id, "to": "DONE"}))
        .await;
    assert_eq!(r.json()["events"][0]["status"], "DONE");
    // The follow-up dashboard lists it.
    let dash = s.view(&t, "followup/dashboard").await.text();
    assert!(dash.contains(&format!("followup/details?followupId={id}")));
    assert!(dash.contains("2026-02-01"));
}

#[tokio::test]
async fn onboarding_and_offboarding_post_their_events() {
    let t = spawn_app().await;
    let url = t
        .get(
            "/embeddable/administration/franchise-onboarding?locale=en",
            &[],
        )
        .await
        .text();
    let s = open(&t, &url).await;
    assert!(s.html.contains("I accept the terms of use"));
    assert!(s.html.contains("type=\"checkbox\""));
    let r = s
        .act(&t, "franchise.onboard", json!({"accept": false}))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("accept"));
    // A session launched for another view may not administer.
    let stats = open(
        &t,
        &t.get("/embeddable/statistics?locale=en", &[]).await.text(),
    )
    .await;
    let r = stats
        .act(&t, "franchise.onboard", json!({"accept": true}))
        .await;
    assert_eq!(r.status, 403);

    let r = s
        .act(&t, "franchise.onboard", json!({"accept": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event = &r.json()["events"][0];
    assert_eq!(event["eventType"], "franchise");
    assert_eq!(event["status"], "ONBOARDED");
    check_against_schema(event, "franchise-onboarded.json");
    assert_in_outbox(&t, event).await;
    let f = shared::services::admin::franchise(&t.app, "demo")
        .await
        .unwrap();
    assert_eq!(f.status.as_str(), "ONBOARDED");
    assert_eq!(f.terms_accepted_by.unwrap().as_str(), "demo-owner");
    let management = s
        .page(&t, r.json()["location"].as_str().unwrap())
        .await
        .text();
    assert!(management.contains("Onboarded") && management.contains(HOST_ORIGIN));
    let again = s
        .view(&t, "administration/franchise-onboarding")
        .await
        .text();
    assert!(again.contains("Already onboarded"));
    let r = s
        .act(&t, "franchise.onboard", json!({"accept": true}))
        .await;
    assert_eq!(r.status, 409);

    // Onboarding is not offboarding: an onboarding session may not leave,
    // nor may the management page's.
    let r = s
        .act(&t, "franchise.offboard", json!({"confirm": true}))
        .await;
    assert_eq!(r.status, 403);
    let management = open(
        &t,
        &t.get(
            "/embeddable/administration/franchise-management?locale=en",
            &[],
        )
        .await
        .text(),
    )
    .await;
    for (action, body) in [
        ("franchise.offboard", json!({"confirm": true})),
        ("franchise.onboard", json!({"accept": true})),
    ] {
        assert_eq!(
            management.act(&t, action, body).await.status,
            403,
            "{action}"
        );
    }
    let off = open(
        &t,
        &t.get(
            "/embeddable/administration/franchise-offboarding?locale=en",
            &[],
        )
        .await
        .text(),
    )
    .await;
    let r = off
        .act(&t, "franchise.onboard", json!({"accept": true}))
        .await;
    assert_eq!(r.status, 403, "onboarding is the onboarding view's");
    let r = off.act(&t, "franchise.offboard", json!({})).await;
    assert_eq!(r.status, 400);
    let r = off
        .act(&t, "franchise.offboard", json!({"confirm": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event = &r.json()["events"][0];
    assert_eq!(event["status"], "OFFBOARDED");
    check_against_schema(event, "franchise-offboarded.json");
    // Every session of an offboarded franchise ends with it, this one too:
    // the next page is the expired one.
    let gone = off.page(&t, r.json()["location"].as_str().unwrap()).await;
    assert_eq!(gone.status, 410, "{}", gone.text());
}
