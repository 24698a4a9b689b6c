//! The patient side's routes against the document: each called with valid
//! requests — by the vendor's server (the API key, a provider named by
//! `x-integration-user`), by the patient's browser (its SSO token), or
//! with no credentials at all where the document says so — and each
//! request and answer validated against the schemas documented for them.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use serde_json::{Value, json};
use shared::clock::iso_ms;

use crate::responses::checked_with;
use crate::support::*;

/// Exercises every route of the patient side; returns the routes seen.
pub async fn successes(w: &World, s: &Schemas) -> BTreeSet<(String, String)> {
    let mut seen = BTreeSet::new();
    let key = w.demo.api_key.clone();
    let provider = STANDARD.encode(json!({"userId": "dr-martin"}).to_string());
    let vendor: Vec<(&str, &str)> = vec![("api-key", key.as_str())];
    let as_provider = vec![
        ("api-key", key.as_str()),
        ("x-integration-user", provider.as_str()),
    ];
    let mut call = async |route: (&'static str, &'static str),
                          uri: &str,
                          headers: &[(&str, &str)],
                          body: Option<Value>| {
        seen.insert((route.0.to_owned(), route.1.to_owned()));
        checked_with(w, s, route, uri, headers, body).await
    };

    // The vendor's server: the patient's SSO tokens.
    let sso = |key: &str| {
        json!({"patient": {"keys": [{"subSystem": "portal", "key": key}], "firstName": "Ana",
            "lastName": "Lopez", "email": "ana@example.com"}, "expiresInSeconds": 900})
    };
    let issued = call(
        ("post", "/v2/patients/sso"),
        "/v2/patients/sso",
        &vendor,
        Some(sso("oa-1")),
    )
    .await;
    let patient_id = issued["patientId"].as_str().unwrap().to_owned();
    let token_id = issued["token"]["tokenId"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {}", issued["token"]["token"].as_str().unwrap());
    let patient = vec![("authorization", bearer.as_str())];

    // Rooms, providers, availability.
    call(("get", "/v2/rooms"), "/v2/rooms", &vendor, None).await;
    call(("get", "/v2/rooms"), "/v2/rooms", &patient, None).await;
    let room = json!({"code": "oa-room", "name": {"fr": "Salle", "en": "Room"}, "visitTypes": ["WALKIN"],
        "hours": {"mon": [{"start": "09:00", "end": "17:00"}]}, "closedMessage": {"fr": "Fermé", "en": "Closed"}});
    call(("post", "/v2/rooms"), "/v2/rooms", &vendor, Some(room)).await;
    let r = call(
        ("patch", "/v2/rooms/{code}"),
        "/v2/rooms/oa-room",
        &vendor,
        Some(json!({"hours": null})),
    )
    .await;
    assert_eq!(r["open"], true);
    call(
        ("get", "/v2/rooms/{code}"),
        "/v2/rooms/clinic",
        &vendor,
        None,
    )
    .await;
    call(
        ("get", "/v2/rooms/{code}"),
        "/v2/rooms/clinic",
        &patient,
        None,
    )
    .await;
    let public = call(
        ("get", "/v2/rooms/{code}"),
        "/v2/rooms/clinic",
        &[("x-tenant-key", "demo")],
        None,
    )
    .await;
    assert!(public.get("providerIds").is_none());
    call(("get", "/v2/providers"), "/v2/providers", &vendor, None).await;
    let body =
        json!({"displayName": "Dr. Martin", "title": "Pharmacist", "languages": ["FR", "EN"]});
    call(
        ("put", "/v2/providers/{userId}"),
        "/v2/providers/dr-martin",
        &vendor,
        Some(body),
    )
    .await;
    let all_day = json!([{"start": "00:00", "end": "24:00"}]);
    let weekly: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| ((*d).to_owned(), all_day.clone()))
        .collect();
    let body = json!({"roomCode": "clinic", "weekly": weekly, "exceptions": [{"date": "2030-12-25", "spans": []}]});
    let path = ("put", "/v2/providers/{userId}/availability");
    call(
        path,
        "/v2/providers/dr-martin/availability",
        &as_provider,
        Some(body),
    )
    .await;
    let path = ("get", "/v2/providers/{userId}/availability");
    call(
        path,
        "/v2/providers/dr-martin/availability?roomCode=clinic",
        &vendor,
        None,
    )
    .await;
    let quarter = 15 * 60_000;
    let now = shared::clock::SystemClock;
    let from = (shared::clock::Clock::now_ms(&now) / quarter + 96) * quarter;
    let uri = format!(
        "/v2/availability?roomCode=clinic&providerId=dr-nguyen&from={}&to={}&duration=15",
        iso_ms(from),
        iso_ms(from + 3_600_000)
    );
    let free = call(("get", "/v2/availability"), &uri, &patient, None).await;
    let start = free["items"][0]["start"].as_str().unwrap().to_owned();
    let later = free["items"][2]["start"].as_str().unwrap().to_owned();

    // The patient's browser: intakes and visits.
    let intake_body = |kind: &str| {
        json!({"reasonForVisit": "Sore throat", "type": kind, "roomCode": "clinic",
            "concerns": [{"text": "fever", "primary": true}], "custom": {"ref": 1}})
    };
    let id_of = |v: Value, field: &str| v[field].as_str().unwrap().to_owned();
    let intakes = ("post", "/v2/intakes");
    let scheduled_intake = id_of(
        call(
            intakes,
            "/v2/intakes",
            &patient,
            Some(intake_body("SCHEDULED")),
        )
        .await,
        "intakeId",
    );
    let uri = format!("/v2/intakes/{scheduled_intake}");
    call(("get", "/v2/intakes/{intakeId}"), &uri, &patient, None).await;
    let body = json!({"location": "Montréal", "phone": "514 555 0100"});
    call(
        ("patch", "/v2/intakes/{intakeId}"),
        &uri,
        &patient,
        Some(body),
    )
    .await;
    let body = json!({"intakeId": scheduled_intake, "providerId": "dr-nguyen", "start": start, "duration": 15});
    let booked = call(("post", "/v2/visits"), "/v2/visits", &patient, Some(body)).await;
    assert!(booked["appointmentUrl"].as_str().is_some());
    let booked_id = booked["visitId"].as_str().unwrap().to_owned();
    let other = id_of(
        call(
            intakes,
            "/v2/intakes",
            &patient,
            Some(intake_body("SCHEDULED")),
        )
        .await,
        "intakeId",
    );
    let body = json!({"intakeId": other, "providerId": "dr-nguyen", "start": later});
    let no_show = call(("post", "/v2/visits"), "/v2/visits", &patient, Some(body)).await;
    let no_show = no_show["visitId"].as_str().unwrap().to_owned();

    let walkin_intake = id_of(
        call(
            intakes,
            "/v2/intakes",
            &patient,
            Some(intake_body("WALKIN")),
        )
        .await,
        "intakeId",
    );
    let body = json!({"intakeId": walkin_intake});
    let waiting = call(
        ("post", "/v2/visits/walkin"),
        "/v2/visits/walkin",
        &patient,
        Some(body),
    )
    .await;
    assert!(waiting["queuePosition"].as_u64().is_some());
    let id = waiting["visitId"].as_str().unwrap().to_owned();
    call(
        ("get", "/v2/visits/{visitId}"),
        &format!("/v2/visits/{id}"),
        &patient,
        None,
    )
    .await;
    let uri = format!("/v2/visits/{id}/start");
    call(
        ("post", "/v2/visits/{visitId}/start"),
        &uri,
        &as_provider,
        None,
    )
    .await;
    let uri = format!("/v2/visits/{id}/messages");
    let path = ("post", "/v2/visits/{visitId}/messages");
    call(path, &uri, &patient, Some(json!({"text": "Hello"}))).await;
    call(
        path,
        &uri,
        &as_provider,
        Some(json!({"text": "Hello, Ana"})),
    )
    .await;
    let chat = call(
        ("get", "/v2/visits/{visitId}/messages"),
        &uri,
        &patient,
        None,
    )
    .await;
    assert_eq!(chat["items"].as_array().map(Vec::len), Some(2));
    let uri = format!("/v2/visits/{id}/complete");
    call(
        ("post", "/v2/visits/{visitId}/complete"),
        &uri,
        &as_provider,
        None,
    )
    .await;

    let econsult_intake = id_of(
        call(
            intakes,
            "/v2/intakes",
            &patient,
            Some(intake_body("ECONSULT")),
        )
        .await,
        "intakeId",
    );
    let body = json!({"intakeId": econsult_intake, "roomCode": "clinic"});
    let pending = call(
        ("post", "/v2/visits/econsult"),
        "/v2/visits/econsult",
        &patient,
        Some(body),
    )
    .await;
    let uri = format!("/v2/visits/{}/accept", pending["visitId"].as_str().unwrap());
    call(
        ("post", "/v2/visits/{visitId}/accept"),
        &uri,
        &as_provider,
        None,
    )
    .await;
    let uri = format!("/v2/visits/{no_show}/no-show");
    call(
        ("post", "/v2/visits/{visitId}/no-show"),
        &uri,
        &as_provider,
        None,
    )
    .await;
    let uri = format!("/v2/visits/{booked_id}/cancel");
    let r = call(
        ("post", "/v2/visits/{visitId}/cancel"),
        &uri,
        &patient,
        None,
    )
    .await;
    assert_eq!(r["status"], "CANCELLED");

    call(("get", "/v2/visits"), "/v2/visits?limit=2", &patient, None).await;
    let uri = format!("/v2/visits?patientId={patient_id}&status=CANCELLED");
    call(("get", "/v2/visits"), &uri, &vendor, None).await;
    call(
        ("get", "/v2/visits"),
        "/v2/visits?providerId=dr-martin",
        &vendor,
        None,
    )
    .await;

    let mut done = Vec::new();
    // 204s: the patient logs out (another token); the vendor revokes one.
    let other = call(
        ("post", "/v2/patients/sso"),
        "/v2/patients/sso",
        &vendor,
        Some(sso("oa-1")),
    )
    .await;
    let other = format!("Bearer {}", other["token"]["token"].as_str().unwrap());
    for (route, uri, headers) in [
        (
            ("post", "/v2/patients/logout"),
            "/v2/patients/logout".to_owned(),
            vec![("authorization", other.as_str())],
        ),
        (
            ("delete", "/v2/patients/sso/{tokenId}"),
            format!("/v2/patients/sso/{token_id}"),
            vendor.clone(),
        ),
    ] {
        let r = send(&w.router, route.0, &uri, &headers, None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{uri}: {}", r.text());
        assert!(r.body.is_empty());
        done.push((route.0.to_owned(), route.1.to_owned()));
    }
    // Both tokens are dead now.
    for b in [&bearer, &other] {
        let r = send(
            &w.router,
            "get",
            "/v2/visits",
            &[("authorization", b.as_str())],
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    seen.extend(done);
    seen
}
