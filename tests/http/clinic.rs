//! The patient side over HTTP (both stores): the four use cases of a
//! vendor's patient portal (SSO into the dashboard; a walk-in through the
//! waiting room to a chat; a scheduled visit with its one-time link; an
//! eConsult two providers race to accept), the races (bookings of one
//! slot, accepts of one eConsult, walk-ins of one room), the isolation of
//! patients and franchises, and CORS.

use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{Method, Request};
use serde_json::{Value, json};

use crate::helpers::{BASE_URL, HOST_ORIGIN, Reply, TestApp, spawn_app};

const HOUR: i64 = 3_600_000;

/// A request with an optional API key, bearer token and JSON body.
pub async fn call(
    t: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    bearer: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(k) = key {
        b = b.header("Api-key", k);
    }
    if let Some(tok) = bearer {
        b = b.header("authorization", format!("Bearer {tok}"));
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(j) => b
            .header("content-type", "application/json")
            .body(Body::from(j.to_string())),
        None => b.body(Body::empty()),
    };
    t.send(req.expect("request")).await
}

/// The `x-integration-user` of a provider.
pub fn provider_header(id: &str) -> String {
    STANDARD.encode(json!({"userId": id}).to_string())
}

/// `POST /v2/patients/sso` for a patient with this key: (patientId, token).
pub async fn sso(t: &TestApp, key: &str) -> (String, String) {
    let r = call(
        t,
        Method::POST,
        "/v2/patients/sso",
        Some(&t.world.api_key),
        None,
        &[],
        Some(&json!({"patient": {"keys": [{"subSystem": "portal", "key": key}], "firstName": "Ana", "lastName": "Lopez", "email": "ana@example.com"}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    let token = b["token"]["token"].as_str().expect("token").to_owned();
    assert!(
        token.starts_with("demo."),
        "the token carries its franchise"
    );
    assert!(b["token"]["expiresAt"].as_str().is_some());
    (b["patientId"].as_str().expect("id").to_owned(), token)
}

pub async fn intake(t: &TestApp, token: &str, kind: &str) -> String {
    let r = call(
        t,
        Method::POST,
        "/v2/intakes",
        None,
        Some(token),
        &[],
        Some(
            &json!({"reasonForVisit": "Sore throat", "type": kind, "roomCode": "clinic",
            "concerns": [{"text": "fever", "primary": true}]}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["intakeId"].as_str().expect("intake").to_owned()
}

/// A provider's move on a visit.
pub async fn provider_move(t: &TestApp, visit: &str, mv: &str, provider: &str) -> Reply {
    let header = provider_header(provider);
    call(
        t,
        Method::POST,
        &format!("/v2/visits/{visit}/{mv}"),
        Some(&t.world.api_key),
        None,
        &[("x-integration-user", &header)],
        None,
    )
    .await
}

pub async fn walkin(t: &TestApp, token: &str) -> Value {
    let i = intake(t, token, "WALKIN").await;
    let r = call(
        t,
        Method::POST,
        "/v2/visits/walkin",
        None,
        Some(token),
        &[],
        Some(&json!({"intakeId": i})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn a_walk_in_waits_is_started_by_a_provider_and_chats_both_ways() {
    let t = spawn_app().await;
    let (patient, token) = sso(&t, "P-100").await;
    let first = walkin(&t, &token).await;
    assert_eq!(first["status"], "WAITING");
    assert_eq!(first["queuePosition"], 1);
    assert_eq!(first["patientId"], patient);
    let (_, other) = sso(&t, "P-101").await;
    let second = walkin(&t, &other).await;
    assert_eq!(second["queuePosition"], 2);
    let id = first["visitId"].as_str().unwrap();
    let id2 = second["visitId"].as_str().unwrap();
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits/{id2}"),
        None,
        Some(&other),
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["queuePosition"], 2);
    assert_eq!(
        r.json()["estimatedWaitMinutes"],
        7,
        "15 minutes ahead, shared by 2 providers"
    );

    // Chat is closed until the visit starts.
    let msg = json!({"text": "Hello?"});
    let path = format!("/v2/visits/{id}/messages");
    let r = call(&t, Method::POST, &path, None, Some(&token), &[], Some(&msg)).await;
    assert_eq!(r.status, 409, "{}", r.text());

    // A user who is not a provider of the room: 403. A provider: started.
    assert_eq!(
        provider_move(&t, id, "start", "someone-else").await.status,
        403
    );
    let r = provider_move(&t, id, "start", "dr-martin").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "IN_PROGRESS");
    assert_eq!(r.json()["providerId"], "dr-martin");
    // The second walk-in moved up.
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits/{id2}"),
        None,
        Some(&other),
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["queuePosition"], 1);
    // The start counted the first one out of the queue (in its own
    // transaction): a new walk-in joins behind the second only.
    let (_, third) = sso(&t, "P-102").await;
    assert_eq!(walkin(&t, &third).await["queuePosition"], 2);

    // Both ways.
    let r = call(&t, Method::POST, &path, None, Some(&token), &[], Some(&msg)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["author"], "PATIENT");
    t.clock.advance_ms(1000);
    let header = provider_header("dr-martin");
    let reply = json!({"text": "Hi Ana, how can I help?"});
    let r = call(
        &t,
        Method::POST,
        &path,
        Some(&t.world.api_key),
        None,
        &[("x-integration-user", &header)],
        Some(&reply),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["authorName"], "Dr. Élise Martin");
    let r = call(&t, Method::GET, &path, None, Some(&token), &[], None).await;
    let items = r.json()["items"].as_array().cloned().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["text"], "Hi Ana, how can I help?");
    // Another patient sees neither the visit nor its chat.
    let r = call(&t, Method::GET, &path, None, Some(&other), &[], None).await;
    assert_eq!(r.status, 404);
    // Too long a message.
    let long = json!({"text": "x".repeat(2001)});
    assert_eq!(
        call(
            &t,
            Method::POST,
            &path,
            None,
            Some(&token),
            &[],
            Some(&long)
        )
        .await
        .status,
        400
    );

    let r = provider_move(&t, id, "complete", "dr-martin").await;
    assert_eq!(r.json()["status"], "COMPLETED");
    // Outside the state machine: 409.
    assert_eq!(
        provider_move(&t, id, "start", "dr-martin").await.status,
        409
    );
}

#[tokio::test]
async fn a_scheduled_visit_books_a_free_slot_with_a_one_time_link() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-200").await;
    let i = intake(&t, &token, "SCHEDULED").await;
    let r = call(&t, Method::GET, "/v2/availability?roomCode=clinic&providerId=dr-nguyen&from=2026-01-02T10:00:00Z&to=2026-01-02T12:00:00Z", None, Some(&token), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let slots = r.json()["items"].as_array().cloned().unwrap();
    assert_eq!(slots.len(), 8, "2 hours of 15-minute slots");
    let start = slots[0]["start"].as_str().unwrap().to_owned();
    assert_eq!(start, "2026-01-02T10:00:00.000Z");
    let body = json!({"intakeId": i, "providerId": "dr-nguyen", "start": start, "duration": 30});
    let r = call(
        &t,
        Method::POST,
        "/v2/visits",
        None,
        Some(&token),
        &[],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "SCHEDULED");
    assert_eq!(v["end"], "2026-01-02T10:30:00.000Z");
    let url = v["appointmentUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{BASE_URL}/members/appointment/{}?token=demo.",
            v["visitId"].as_str().unwrap()
        )),
        "{url}"
    );
    // The booked time is no longer free; the same slot again is a 409.
    let r = call(&t, Method::GET, "/v2/availability?roomCode=clinic&providerId=dr-nguyen&from=2026-01-02T10:00:00Z&to=2026-01-02T12:00:00Z", None, Some(&token), &[], None).await;
    let starts: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !starts
            .iter()
            .any(|s| s == "2026-01-02T10:00:00.000Z" || s == "2026-01-02T10:15:00.000Z"),
        "{starts:?}"
    );
    assert_eq!(starts.len(), 6);
    let i2 = intake(&t, &token, "SCHEDULED").await;
    let overlap =
        json!({"intakeId": i2, "providerId": "dr-nguyen", "start": "2026-01-02T10:15:00Z"});
    assert_eq!(
        call(
            &t,
            Method::POST,
            "/v2/visits",
            None,
            Some(&token),
            &[],
            Some(&overlap)
        )
        .await
        .status,
        409
    );
    // Cancelling frees it.
    let id = v["visitId"].as_str().unwrap();
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{id}/cancel"),
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["status"], "CANCELLED", "{}", r.text());
    assert_eq!(
        call(
            &t,
            Method::POST,
            "/v2/visits",
            None,
            Some(&token),
            &[],
            Some(&overlap)
        )
        .await
        .status,
        201
    );
}

#[tokio::test]
async fn a_scheduled_visit_nobody_started_is_a_no_show_after_its_end() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-210").await;
    let i = intake(&t, &token, "SCHEDULED").await;
    let body = json!({"intakeId": i, "providerId": "dr-martin", "start": "2026-01-01T01:00:00Z"});
    let r = call(
        &t,
        Method::POST,
        "/v2/visits",
        None,
        Some(&token),
        &[],
        Some(&body),
    )
    .await;
    let id = r.json()["visitId"].as_str().unwrap().to_owned();
    t.clock.advance_ms(2 * HOUR);
    let key = Some(t.world.api_key.as_str());
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits/{id}"),
        key,
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["status"], "NO_SHOW", "{}", r.text());
    // Its event was written with the move.
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{id}/cancel"),
        key,
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn an_econsult_is_accepted_by_exactly_one_of_two_providers() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-300").await;
    let i = intake(&t, &token, "ECONSULT").await;
    let r = call(
        &t,
        Method::POST,
        "/v2/visits/econsult",
        None,
        Some(&token),
        &[],
        Some(&json!({"intakeId": i, "roomCode": "clinic"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"], "PENDING_ACCEPT");
    let id = r.json()["visitId"].as_str().unwrap().to_owned();
    let (a, b) = tokio::join!(
        provider_move(&t, &id, "accept", "dr-martin"),
        provider_move(&t, &id, "accept", "dr-nguyen")
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text(), b.text());
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
    assert_eq!(r.json()["status"], "IN_PROGRESS");
}

#[tokio::test]
async fn races_have_one_winner_and_walk_ins_distinct_places() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-400").await;
    let mut intakes = Vec::new();
    for _ in 0..20 {
        intakes.push(intake(&t, &token, "SCHEDULED").await);
    }
    let bookings = intakes.iter().map(|i| {
        let body = json!({"intakeId": i, "providerId": "dr-martin", "start": "2026-01-03T09:00:00Z", "duration": 30});
        let t = &t;
        let token = token.clone();
        async move { call(t, Method::POST, "/v2/visits", None, Some(&token), &[], Some(&body)).await.status.as_u16() }
    });
    let statuses = futures::future::join_all(bookings).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );

    let e = intake(&t, &token, "ECONSULT").await;
    let r = call(
        &t,
        Method::POST,
        "/v2/visits/econsult",
        None,
        Some(&token),
        &[],
        Some(&json!({"intakeId": e})),
    )
    .await;
    let id = r.json()["visitId"].as_str().unwrap().to_owned();
    let accepts = (0..20).map(|n| {
        let who = if n % 2 == 0 { "dr-martin" } else { "dr-nguyen" };
        let (t, id) = (&t, id.clone());
        async move { provider_move(t, &id, "accept", who).await.status.as_u16() }
    });
    let statuses = futures::future::join_all(accepts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );

    let mut walkins = Vec::new();
    for _ in 0..20 {
        walkins.push(intake(&t, &token, "WALKIN").await);
    }
    let joins = walkins.iter().map(|i| {
        let (t, token) = (&t, token.clone());
        let body = json!({"intakeId": i});
        async move {
            call(
                t,
                Method::POST,
                "/v2/visits/walkin",
                None,
                Some(&token),
                &[],
                Some(&body),
            )
            .await
            .json()
        }
    });
    let visits = futures::future::join_all(joins).await;
    let mut places: Vec<u64> = visits
        .iter()
        .map(|v| v["queuePosition"].as_u64().expect("a place"))
        .collect();
    places.sort_unstable();
    assert_eq!(places, (1..=20).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_patient_token_reaches_only_its_patient_and_franchise() {
    let t = spawn_app().await;
    let (_, ana) = sso(&t, "P-500").await;
    let (_, bob) = sso(&t, "P-501").await;
    let v = walkin(&t, &ana).await;
    let id = v["visitId"].as_str().unwrap();
    let intake_id = v["intakeId"].as_str().unwrap();
    for path in [
        format!("/v2/visits/{id}"),
        format!("/v2/intakes/{intake_id}"),
        format!("/v2/visits/{id}/messages"),
    ] {
        assert_eq!(
            call(&t, Method::GET, &path, None, Some(&bob), &[], None)
                .await
                .status,
            404,
            "{path}"
        );
        assert_eq!(
            call(&t, Method::GET, &path, None, Some(&ana), &[], None)
                .await
                .status,
            200,
            "{path}"
        );
        // Another franchise's key: not found either.
        let r = call(
            &t,
            Method::GET,
            &path,
            Some(&t.world.other_account_api_key),
            None,
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, 404, "{path}");
    }
    // Bob cannot cancel, nor list, Ana's.
    assert_eq!(
        call(
            &t,
            Method::POST,
            &format!("/v2/visits/{id}/cancel"),
            None,
            Some(&bob),
            &[],
            None
        )
        .await
        .status,
        404
    );
    let ana_id = v["patientId"].as_str().unwrap();
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits?patientId={ana_id}"),
        None,
        Some(&bob),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(&t, Method::GET, "/v2/visits", None, Some(&ana), &[], None).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    // An intake for someone else's patient id.
    let body =
        json!({"reasonForVisit": "x", "type": "WALKIN", "roomCode": "clinic", "patientId": ana_id});
    assert_eq!(
        call(
            &t,
            Method::POST,
            "/v2/intakes",
            None,
            Some(&bob),
            &[],
            Some(&body)
        )
        .await
        .status,
        404
    );
    // A forged, revoked or malformed token: 401.
    let forged = format!("{}x", &ana[..ana.len() - 1]);
    assert_eq!(
        call(
            &t,
            Method::GET,
            "/v2/visits",
            None,
            Some(&forged),
            &[],
            None
        )
        .await
        .status,
        401
    );
    assert_eq!(
        call(&t, Method::GET, "/v2/visits", None, Some("nope"), &[], None)
            .await
            .status,
        401
    );
    assert_eq!(
        call(
            &t,
            Method::POST,
            "/v2/patients/logout",
            None,
            Some(&ana),
            &[],
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        call(&t, Method::GET, "/v2/visits", None, Some(&ana), &[], None)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn sso_tokens_expire_are_revoked_and_vendor_only() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-600").await;
    assert_eq!(
        call(&t, Method::GET, "/v2/visits", None, Some(&token), &[], None)
            .await
            .status,
        200
    );
    t.clock.advance_ms(HOUR + 1);
    assert_eq!(
        call(&t, Method::GET, "/v2/visits", None, Some(&token), &[], None)
            .await
            .status,
        401
    );
    let (_, token) = sso(&t, "P-600").await;
    let id = token.split('.').nth(1).unwrap();
    let r = call(
        &t,
        Method::DELETE,
        &format!("/v2/patients/sso/{id}"),
        Some(&t.world.api_key),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        call(&t, Method::GET, "/v2/visits", None, Some(&token), &[], None)
            .await
            .status,
        401
    );
    // Out of bounds lifetimes; a patient token cannot mint one.
    for ttl in [60, 90_000] {
        let body = json!({"patient": {"keys": [{"subSystem": "portal", "key": "P-600"}]}, "expiresInSeconds": ttl});
        let r = call(
            &t,
            Method::POST,
            "/v2/patients/sso",
            Some(&t.world.api_key),
            None,
            &[],
            Some(&body),
        )
        .await;
        assert_eq!(r.status, 400, "{ttl}");
    }
    let (_, token) = sso(&t, "P-601").await;
    let body = json!({"patient": {"keys": [{"subSystem": "portal", "key": "P-9"}]}});
    assert_eq!(
        call(
            &t,
            Method::POST,
            "/v2/patients/sso",
            None,
            Some(&token),
            &[],
            Some(&body)
        )
        .await
        .status,
        403
    );
}

#[tokio::test]
async fn browser_calls_get_cors_for_the_franchise_origins_only() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-700").await;
    let r = call(
        &t,
        Method::OPTIONS,
        "/v2/visits",
        None,
        None,
        &[
            ("origin", HOST_ORIGIN),
            ("access-control-request-method", "GET"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), HOST_ORIGIN);
    let r = call(
        &t,
        Method::OPTIONS,
        "/v2/visits",
        None,
        None,
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ],
        None,
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), "");
    let r = call(
        &t,
        Method::GET,
        "/v2/visits",
        None,
        Some(&token),
        &[("origin", HOST_ORIGIN)],
        None,
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), HOST_ORIGIN);
    assert!(r.header("vary").contains("Origin"));
    assert_eq!(r.header("access-control-allow-credentials"), "");
    let r = call(
        &t,
        Method::GET,
        "/v2/visits",
        None,
        Some(&token),
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), "");
    // The API key is never for browsers: no CORS with it.
    let r = call(
        &t,
        Method::GET,
        "/v2/rooms",
        Some(&t.world.api_key),
        None,
        &[("origin", HOST_ORIGIN)],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), "");
}

#[tokio::test]
async fn rooms_are_created_by_code_and_show_public_fields_without_a_key() {
    let t = spawn_app().await;
    let key = Some(t.world.api_key.as_str());
    let body = json!({"code": "night", "name": {"fr": "Nuit", "en": "Night"}, "visitTypes": ["WALKIN"],
        "hours": {"mon": [{"start": "22:00", "end": "24:00"}]}, "closedMessage": {"fr": "Fermé", "en": "Closed now"}});
    // A text in a language embedcare does not hold is refused, not dropped
    // (and nothing is made: the same code is created next).
    let mut other = body.clone();
    other["closedMessage"]["de"] = json!("Geschlossen");
    let r = call(&t, Method::POST, "/v2/rooms", key, None, &[], Some(&other)).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["message"].as_str().unwrap().contains("de"),
        "{}",
        r.text()
    );
    let r = call(&t, Method::POST, "/v2/rooms", key, None, &[], Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        call(&t, Method::POST, "/v2/rooms", key, None, &[], Some(&body))
            .await
            .status,
        409
    );
    let r = call(
        &t,
        Method::GET,
        "/v2/rooms/night",
        None,
        None,
        &[("x-tenant-key", "demo")],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json().get("providerIds").is_none(), "public fields only");
    assert_eq!(r.json()["open"], false);
    // A walk-in in a closed room: 409 with its message.
    let (patient, token) = sso(&t, "P-800").await;
    let i = call(&t, Method::POST, "/v2/intakes", key, None, &[], Some(&json!({"patientId": patient, "reasonForVisit": "x", "type": "WALKIN", "roomCode": "night"}))).await;
    assert_eq!(i.status, 201, "{}", i.text());
    let i = i.json()["intakeId"].as_str().unwrap().to_owned();
    let r = call(
        &t,
        Method::POST,
        "/v2/visits/walkin",
        None,
        Some(&token),
        &[],
        Some(&json!({"intakeId": i})),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["message"], "Closed now");
    // PATCH: open around the clock.
    let r = call(
        &t,
        Method::PATCH,
        "/v2/rooms/night",
        key,
        None,
        &[],
        Some(&json!({"hours": null})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["open"], true);
    let r = call(
        &t,
        Method::POST,
        "/v2/visits/walkin",
        None,
        Some(&token),
        &[],
        Some(&json!({"intakeId": i})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // Bad bodies are 400s naming the field.
    let bad = json!({"code": "Bad Code", "name": {"fr": "a", "en": "b"}});
    assert_eq!(
        call(&t, Method::POST, "/v2/rooms", key, None, &[], Some(&bad))
            .await
            .status,
        400
    );
    let bad = json!({"code": "x1", "name": {"fr": "a", "en": "b"}, "hours": {"mon": [{"start": "10:00", "end": "09:00"}]}});
    assert_eq!(
        call(&t, Method::POST, "/v2/rooms", key, None, &[], Some(&bad))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn providers_set_their_own_availability_and_the_provider_flag_makes_one() {
    let t = spawn_app().await;
    let key = Some(t.world.api_key.as_str());
    let newcomer = STANDARD.encode(json!({"userId": "dr-new", "firstName": "Noor", "lastName": "Haddad", "email": "noor@example.com", "provider": true}).to_string());
    let r = call(
        &t,
        Method::GET,
        "/v2/providers",
        key,
        None,
        &[("x-integration-user", &newcomer)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["userId"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"dr-new"), "{names:?}");
    // Not yet a provider of the room: 403; once assigned, it sets its hours.
    let body =
        json!({"roomCode": "clinic", "weekly": {"fri": [{"start": "09:00", "end": "12:00"}]}});
    let h = provider_header("dr-new");
    let r = call(
        &t,
        Method::PUT,
        "/v2/providers/dr-new/availability",
        key,
        None,
        &[("x-integration-user", &h)],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = call(
        &t,
        Method::PATCH,
        "/v2/rooms/clinic",
        key,
        None,
        &[],
        Some(&json!({"providerIds": ["dr-martin", "dr-nguyen", "dr-new"]})),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call(
        &t,
        Method::PUT,
        "/v2/providers/dr-new/availability",
        key,
        None,
        &[("x-integration-user", &h)],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Someone else's availability: 403.
    let r = call(
        &t,
        Method::PUT,
        "/v2/providers/dr-martin/availability",
        key,
        None,
        &[("x-integration-user", &h)],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 403);
    // Friday 2026-01-02, 09:00-12:00 Toronto = 14:00-17:00 UTC.
    let r = call(&t, Method::GET, "/v2/availability?roomCode=clinic&providerId=dr-new&from=2026-01-02T00:00:00Z&to=2026-01-03T00:00:00Z&duration=60", key, None, &[], None).await;
    let slots = r.json()["items"].as_array().cloned().unwrap();
    assert_eq!(slots.first().unwrap()["start"], "2026-01-02T14:00:00.000Z");
    assert_eq!(slots.last().unwrap()["end"], "2026-01-02T17:00:00.000Z");
    assert_eq!(slots.len(), 9);
}

/// The outbox events written since the app started, as (detail-type, body).
fn events_written(t: &TestApp) -> Vec<(String, Value)> {
    t.store
        .written()
        .into_iter()
        .filter_map(|w| match w {
            shared::store::Write::Put { item, .. } if item.get_str("type") == Some("outbox") => {
                Some((
                    item.get_str("detailType").unwrap_or_default().to_owned(),
                    item.attrs.get("detail").cloned().unwrap_or_default(),
                ))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn visit_events_carry_ids_and_statuses_and_match_their_schemas() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-1000").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap();
    provider_move(&t, id, "start", "dr-martin").await;
    provider_move(&t, id, "complete", "dr-martin").await;
    let events = events_written(&t);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(d, b)| (d.as_str(), b["status"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Visit Created", "WAITING"),
            ("Visit Updated", "IN_PROGRESS"),
            ("Visit Updated", "COMPLETED")
        ]
    );
    assert_eq!(events[1].1["data"]["previousStatus"], "WAITING");
    assert_eq!(events[2].1["data"]["version"], 3);
    for (detail_type, body) in &events {
        let file = detail_type.to_lowercase().replace(' ', "-");
        let path = format!(
            "{}/../events/schemas/{file}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let envelope = json!({"source": "embedcare", "detail-type": detail_type, "detail": body});
        let errors: Vec<String> = validator
            .iter_errors(&envelope)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{detail_type}: {errors:?}");
        let text = body.to_string();
        for personal in [
            "Ana",
            "Lopez",
            "Sore throat",
            "fever",
            "ana@example.com",
            "P-1000",
        ] {
            assert!(!text.contains(personal), "{detail_type} holds {personal}");
        }
    }
}
