//! The live encounter over HTTP (both stores): the concerns catalogue and
//! a visit's intake; participants added, listed, invited (a single-use,
//! 24-hour link, e-mailed without health data), declined, dismissed (their
//! session dies at once); a visit ended and fulfilled with its durations;
//! the moves outside the state machines refused.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};
use shared::notify::local::LocalNotifier;

use crate::clinic::{call, provider_header, provider_move, sso, walkin};
use crate::helpers::{TestApp, spawn_app};

const MINUTE: i64 = 60_000;

async fn as_provider(
    t: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> crate::helpers::Reply {
    let h = provider_header("dr-martin");
    call(
        t,
        method,
        path,
        Some(&t.world.api_key),
        None,
        &[("x-integration-user", &h)],
        body,
    )
    .await
}

async fn add(t: &TestApp, visit: &str, body: Value) -> Value {
    let r = as_provider(
        t,
        Method::POST,
        &format!("/v2/visits/{visit}/participants"),
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn concerns_catalogue_and_the_visits_intake() {
    let t = spawn_app().await;
    let key = Some(t.world.api_key.as_str());
    let r = call(
        &t,
        Method::GET,
        "/v2/concerns?kind=primary",
        key,
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let items = r.json()["items"].as_array().unwrap().clone();
    assert!(items.iter().all(|c| c["kind"] == "primary"));
    let fever = items.iter().find(|c| c["code"] == "fever").expect("fever");
    assert_eq!(fever["label"]["fr"], "Fièvre");
    let r = call(
        &t,
        Method::GET,
        "/v2/concerns?kind=other",
        key,
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 400);

    // The franchise adds its own; a code taken is a 409; a patient may not add.
    let own = json!({"code": "travel-vaccine", "kind": "primary", "label": {"fr": "Vaccin voyage", "en": "Travel vaccine"}});
    let r = call(&t, Method::POST, "/v2/concerns", key, None, &[], Some(&own)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["custom"], true);
    assert_eq!(
        call(&t, Method::POST, "/v2/concerns", key, None, &[], Some(&own))
            .await
            .status,
        409
    );
    let taken = json!({"code": "fever", "kind": "primary", "label": {"fr": "F", "en": "F"}});
    assert_eq!(
        call(
            &t,
            Method::POST,
            "/v2/concerns",
            key,
            None,
            &[],
            Some(&taken)
        )
        .await
        .status,
        409
    );
    let bad = json!({"code": "Bad Code", "kind": "primary", "label": {"fr": "F", "en": "F"}});
    assert_eq!(
        call(&t, Method::POST, "/v2/concerns", key, None, &[], Some(&bad))
            .await
            .status,
        400
    );
    let (_, token) = sso(&t, "P-300").await;
    let r = call(
        &t,
        Method::POST,
        "/v2/concerns",
        None,
        Some(&token),
        &[],
        Some(&own),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        &t,
        Method::GET,
        "/v2/concerns",
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert!(
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "travel-vaccine")
    );

    // The intake of a visit: exactly one primary, known codes.
    let v = walkin(&t, &token).await;
    let path = format!("/v2/visits/{}/intake", v["visitId"].as_str().unwrap());
    let put = |body: Value| {
        let (t, path, token) = (&t, path.clone(), token.clone());
        async move { call(t, Method::PUT, &path, None, Some(&token), &[], Some(&body)).await }
    };
    for bad in [
        json!({"concerns": []}),
        json!({"concerns": [{"code": "fever", "primary": false}]}),
        json!({"concerns": [{"code": "fever", "primary": true}, {"code": "cough", "primary": true}]}),
        json!({"concerns": [{"code": "no-such-code", "primary": true}]}),
        json!({"concerns": [{"code": "nausea", "primary": true}]}),
        json!({"concerns": [{"primary": true}]}),
        json!({"concerns": [{"code": "fever", "primary": true}], "allergies": "peanuts"}),
        json!({"concerns": [{"code": "fever", "primary": true}], "allergies": ["x".repeat(201)]}),
        json!({"concerns": [{"code": "fever", "primary": true}], "additionalNotes": "x".repeat(2001)}),
    ] {
        let r = put(bad.clone()).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    let good = json!({
        "concerns": [{"code": "travel-vaccine", "primary": true}, {"code": "fatigue", "primary": false},
                     {"text": "Tingling hands", "primary": false}],
        "additionalNotes": "Since Monday", "allergies": ["penicillin"], "medications": [],
        "conditions": ["asthma"], "surgeries": []
    });
    let r = put(good).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(
        b["concerns"][0]["text"], "Vaccin voyage",
        "the label in the franchise's language (FR)"
    );
    assert_eq!(b["concerns"][2]["text"], "Tingling hands");
    assert_eq!(b["allergies"], json!(["penicillin"]));
    // Another patient does not reach it.
    let (_, other) = sso(&t, "P-301").await;
    let r = call(
        &t,
        Method::PUT,
        &path,
        None,
        Some(&other),
        &[],
        Some(&json!({"concerns": [{"code": "fever", "primary": true}]})),
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn participants_are_invited_once_declined_and_dismissed() {
    let t = spawn_app().await;
    let notifier = Arc::new(LocalNotifier::default());
    t.app.set_notifier(notifier.clone());
    let (_, token) = sso(&t, "P-310").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    let base = format!("/v2/visits/{id}/participants");

    let bad = json!({"participantType": "FRIEND", "firstName": "A", "lastName": "B"});
    let r = as_provider(&t, Method::POST, &base, Some(&bad)).await;
    assert_eq!(r.status, 400);
    let r = as_provider(
        &t,
        Method::POST,
        &base,
        Some(&json!({"participantType": "GUEST", "lastName": "B"})),
    )
    .await;
    assert_eq!(r.status, 400);

    let guest = add(&t, &id, json!({"participantType": "GUEST", "firstName": "Sam", "lastName": "Lee", "email": "sam@example.com"})).await;
    assert_eq!(guest["status"], "INVITED");
    let gid = guest["participantId"].as_str().unwrap().to_owned();
    let declining = add(
        &t,
        &id,
        json!({"participantType": "PRACTITIONER", "firstName": "Dr", "lastName": "Two"}),
    )
    .await;
    let did = declining["participantId"].as_str().unwrap().to_owned();

    // A patient may not invite unless the room allows related persons.
    let rp = json!({"participantType": "RELATED_PERSON", "firstName": "Mia", "lastName": "Lopez"});
    let r = call(&t, Method::POST, &base, None, Some(&token), &[], Some(&rp)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let allow = json!({"relatedPersonInvites": true});
    let r = call(
        &t,
        Method::PATCH,
        "/v2/rooms/clinic",
        Some(&t.world.api_key),
        None,
        &[],
        Some(&allow),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = call(&t, Method::POST, &base, None, Some(&token), &[], Some(&rp)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let gp = json!({"participantType": "GUEST", "firstName": "X", "lastName": "Y"});
    let r = call(&t, Method::POST, &base, None, Some(&token), &[], Some(&gp)).await;
    assert_eq!(r.status, 403, "a related person only");

    // The invitation: mailed without health data, single use, 24 h.
    let r = as_provider(&t, Method::POST, &format!("{base}/{gid}/tokens"), None).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let inv = r.json();
    assert_eq!(inv["emailed"], true);
    let link = inv["token"].as_str().unwrap().to_owned();
    let sent = notifier.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.to, "sam@example.com");
    assert!(sent[0].1.text.contains(inv["url"].as_str().unwrap()));
    assert!(!sent[0].1.text.contains("Sore throat") && !sent[0].1.text.contains("fever"));
    // The GET of the link is the shell: it burns nothing.
    let url = inv["url"].as_str().unwrap();
    let page = url.strip_prefix(crate::helpers::BASE_URL).unwrap();
    let r = call(&t, Method::GET, page, None, None, &[], None).await;
    assert_eq!(r.status, 200);
    assert!(!r.text().contains(&link));
    let path = page.split('?').next().unwrap().to_owned();
    let r = t.post_form(&path, &[("link", &link)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = t.post_form(&path, &[("link", &link)]).await;
    assert_eq!(r.status, 410, "single use");
    let r = as_provider(&t, Method::GET, &format!("{base}/{gid}"), None).await;
    assert_eq!(r.json()["status"], "JOINING");

    // A fresh link, redeemed through the service to hold the session.
    let r = as_provider(&t, Method::POST, &format!("{base}/{gid}/tokens"), None).await;
    let link = r.json()["token"].as_str().unwrap().to_owned();
    let visit_id = shared::domain::VisitId::parse(&id).unwrap();
    let (session, _) = shared::services::clinic::participants::redeem(&t.app, &link, &visit_id)
        .await
        .expect("redeemed");
    let guest_session = session.token;
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits/{id}"),
        None,
        Some(&guest_session),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "a guest sees its visit");
    let r = call(
        &t,
        Method::GET,
        &base,
        None,
        Some(&guest_session),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call(
        &t,
        Method::GET,
        "/v2/visits/nope",
        None,
        Some(&guest_session),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(
        &t,
        Method::POST,
        &format!("{base}/{did}/dismiss"),
        None,
        Some(&guest_session),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 403, "a guest manages no one");

    // An invitation expires after 24 hours.
    let r = as_provider(&t, Method::POST, &format!("{base}/{did}/tokens"), None).await;
    let late = r.json()["token"].as_str().unwrap().to_owned();
    t.clock.advance_ms(24 * 60 * MINUTE + 1);
    let r = t.post_form(&path, &[("link", &late)]).await;
    assert_eq!(r.status, 410, "expired");
    // Declined with the invitation of a fresh link; final, gone from the default list.
    let r = as_provider(&t, Method::POST, &format!("{base}/{did}/tokens"), None).await;
    let fresh = r.json()["token"].as_str().unwrap().to_owned();
    let r = call(
        &t,
        Method::DELETE,
        &format!("{base}/{did}/invitation"),
        None,
        Some(&fresh),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = call(
        &t,
        Method::DELETE,
        &format!("{base}/{did}/invitation"),
        Some(&t.world.api_key),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 409, "declined is final");
    let r = t.post_form(&path, &[("link", &fresh)]).await;
    assert_eq!(r.status, 410, "the declined invitation died");
    let r = as_provider(&t, Method::GET, &base, None).await;
    let ids: Vec<_> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["participantId"].clone())
        .collect();
    assert!(!ids.contains(&json!(did)) && ids.contains(&json!(gid)));
    let r = as_provider(&t, Method::GET, &format!("{base}?include=declined"), None).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    let r = as_provider(&t, Method::GET, &format!("{base}?include=all"), None).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        as_provider(&t, Method::GET, &format!("{base}?include=nobody"), None)
            .await
            .status,
        400
    );

    // PATCH moves within the state machine only.
    let r = as_provider(
        &t,
        Method::PATCH,
        &format!("{base}/{gid}"),
        Some(&json!({"status": "JOINED"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "JOINED");
    let r = as_provider(
        &t,
        Method::PATCH,
        &format!("{base}/{gid}"),
        Some(&json!({"status": "INVITED"})),
    )
    .await;
    assert_eq!(r.status, 409);

    // Dismissed: out at once, the session dies with it.
    let (_, token) = sso(&t, "P-310").await; // the first one expired meanwhile
    let r = call(
        &t,
        Method::POST,
        &format!("{base}/{gid}/dismiss"),
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 403, "the patient dismisses no one");
    let r = as_provider(&t, Method::POST, &format!("{base}/{gid}/dismiss"), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "DISMISSED");
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits/{id}"),
        None,
        Some(&guest_session),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 401, "the dismissed guest's session is revoked");
    assert_eq!(
        as_provider(&t, Method::POST, &format!("{base}/{gid}/dismiss"), None)
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn a_visit_is_ended_and_fulfilled_with_its_durations() {
    let t = spawn_app().await;
    let (patient, token) = sso(&t, "P-320").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    // Not started: neither ended nor fulfilled.
    assert_eq!(
        as_provider(&t, Method::POST, &format!("/v2/visits/{id}/end"), None)
            .await
            .status,
        409
    );
    assert_eq!(
        as_provider(&t, Method::POST, &format!("/v2/visits/{id}/fulfil"), None)
            .await
            .status,
        409
    );
    let me = add(
        &t,
        &id,
        json!({"participantType": "PATIENT", "firstName": "Ana", "lastName": "Lopez"}),
    )
    .await;
    let pid = me["participantId"].as_str().unwrap().to_owned();
    t.clock.advance_ms(2 * MINUTE);
    let r = as_provider(
        &t,
        Method::PATCH,
        &format!("/v2/visits/{id}/participants/{pid}"),
        Some(&json!({"status": "JOINED"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    t.clock.advance_ms(3 * MINUTE);
    assert_eq!(
        provider_move(&t, &id, "start", "dr-martin").await.status,
        200
    );
    t.clock.advance_ms(10 * MINUTE);

    // The patient leaves (and may come back); a guest may not fulfil.
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{id}/end"),
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "LEFT");
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits/{id}"),
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(
        r.json()["status"],
        "IN_PROGRESS",
        "leaving ends nothing for the others"
    );
    let r = as_provider(
        &t,
        Method::PATCH,
        &format!("/v2/visits/{id}/participants/{pid}"),
        Some(&json!({"status": "JOINED"})),
    )
    .await;
    assert_eq!(r.status, 200);

    // The provider ends it for everyone.
    assert_eq!(
        provider_move(&t, &id, "end", "someone-else").await.status,
        403
    );
    let r = as_provider(&t, Method::POST, &format!("/v2/visits/{id}/end"), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["status"], "COMPLETED");
    assert_eq!(b["durations"]["waitingSeconds"], 3 * 60, "joined → started");
    assert_eq!(b["durations"]["visitSeconds"], 10 * 60);
    assert_eq!(b["durations"]["disconnectedSeconds"], 0);
    assert!(b["fulfilledAt"].is_null());
    let r = as_provider(
        &t,
        Method::GET,
        &format!("/v2/visits/{id}/participants/{pid}"),
        None,
    )
    .await;
    assert_eq!(r.json()["status"], "LEFT", "everyone left");
    assert_eq!(
        as_provider(&t, Method::POST, &format!("/v2/visits/{id}/end"), None)
            .await
            .status,
        409
    );

    // The patient fulfils it, once.
    t.clock.advance_ms(MINUTE);
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{id}/fulfil"),
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["status"], "COMPLETED");
    assert_eq!(b["fulfilledBy"], json!({"type": "PATIENT", "id": patient}));
    assert!(b["fulfilledAt"].as_str().is_some());
    assert_eq!(b["durations"]["visitSeconds"], 10 * 60, "kept from the end");
    let r = as_provider(&t, Method::POST, &format!("/v2/visits/{id}/fulfil"), None).await;
    assert_eq!(r.status, 409);

    // A provider's fulfilment completes a visit in progress.
    let (_, other) = sso(&t, "P-321").await;
    let v2 = walkin(&t, &other).await;
    let id2 = v2["visitId"].as_str().unwrap().to_owned();
    assert_eq!(
        provider_move(&t, &id2, "start", "dr-martin").await.status,
        200
    );
    t.clock.advance_ms(5 * MINUTE);
    let r = as_provider(&t, Method::POST, &format!("/v2/visits/{id2}/fulfil"), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["status"], "COMPLETED");
    assert_eq!(b["fulfilledBy"]["type"], "PROVIDER");
    assert_eq!(b["durations"]["visitSeconds"], 5 * 60);
    // The patient with no participant in the room cannot leave it.
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{id2}/end"),
        None,
        Some(&other),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 409);
}
