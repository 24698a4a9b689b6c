//! The live encounter's routes against the document: the concerns
//! catalogue, a visit's intake, its participants and their invitations,
//! its people's presence (the REST heartbeat, the connection status), its
//! end and fulfilment — each called with a valid request (the API key,
//! a provider named by `x-integration-user`, the patient's token), the
//! request and the answer validated against the schemas documented.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use serde_json::{Value, json};

use crate::responses::checked_with;
use crate::support::*;

/// Exercises every route of the encounter; returns the routes seen.
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

    let sso = json!({"patient": {"keys": [{"subSystem": "portal", "key": "oe-1"}], "firstName": "Ana",
        "lastName": "Lopez"}});
    let issued = call(
        ("post", "/v2/patients/sso"),
        "/v2/patients/sso",
        &vendor,
        Some(sso),
    )
    .await;
    let bearer = format!("Bearer {}", issued["token"]["token"].as_str().unwrap());
    let patient = vec![("authorization", bearer.as_str())];

    // The catalogue.
    let concerns = ("get", "/v2/concerns");
    call(concerns, "/v2/concerns?kind=primary", &patient, None).await;
    let own = json!({"code": "oe-vaccine", "kind": "primary", "label": {"fr": "Vaccin", "en": "Vaccine"}});
    call(("post", "/v2/concerns"), "/v2/concerns", &vendor, Some(own)).await;
    let all = call(concerns, "/v2/concerns", &vendor, None).await;
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "oe-vaccine")
    );

    // A walk-in visit and its intake.
    let intake = json!({"reasonForVisit": "Sore throat", "type": "WALKIN", "roomCode": "clinic"});
    let i = call(
        ("post", "/v2/intakes"),
        "/v2/intakes",
        &patient,
        Some(intake),
    )
    .await;
    let body = json!({"intakeId": i["intakeId"]});
    let v = call(
        ("post", "/v2/visits/walkin"),
        "/v2/visits/walkin",
        &patient,
        Some(body),
    )
    .await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    let body = json!({"concerns": [{"code": "oe-vaccine", "primary": true}, {"text": "Tired", "primary": false}],
        "additionalNotes": "Since Monday", "allergies": ["penicillin"]});
    let uri = format!("/v2/visits/{id}/intake");
    call(
        ("put", "/v2/visits/{visitId}/intake"),
        &uri,
        &patient,
        Some(body),
    )
    .await;

    // Participants.
    let uri = format!("/v2/visits/{id}/participants");
    let list = ("get", "/v2/visits/{visitId}/participants");
    let body = json!({"participantType": "PATIENT", "firstName": "Ana", "lastName": "Lopez"});
    let add = ("post", "/v2/visits/{visitId}/participants");
    let me = call(add, &uri, &as_provider, Some(body)).await;
    let body = json!({"participantType": "GUEST", "firstName": "Sam", "lastName": "Lee", "email": "sam@example.com"});
    let guest = call(add, &uri, &vendor, Some(body)).await;
    let body = json!({"participantType": "PRACTITIONER", "firstName": "Dr", "lastName": "Two"});
    let other = call(add, &uri, &vendor, Some(body)).await;
    call(list, &uri, &patient, None).await;
    call(list, &format!("{uri}?include=all"), &vendor, None).await;
    let one = ("get", "/v2/visits/{visitId}/participants/{participantId}");
    let (me, guest, other) = (
        me["participantId"].as_str().unwrap().to_owned(),
        guest["participantId"].as_str().unwrap().to_owned(),
        other["participantId"].as_str().unwrap().to_owned(),
    );
    call(one, &format!("{uri}/{guest}"), &vendor, None).await;
    let patch = ("patch", "/v2/visits/{visitId}/participants/{participantId}");
    call(
        patch,
        &format!("{uri}/{me}"),
        &as_provider,
        Some(json!({"status": "JOINED", "lastName": "Lopez-Diaz"})),
    )
    .await;
    let tokens = (
        "post",
        "/v2/visits/{visitId}/participants/{participantId}/tokens",
    );
    let inv = call(tokens, &format!("{uri}/{guest}/tokens"), &as_provider, None).await;
    assert!(
        inv["url"]
            .as_str()
            .unwrap()
            .contains("/members/invitation/")
    );
    call(tokens, &format!("{uri}/{other}/tokens"), &vendor, None).await;
    let dismiss = (
        "post",
        "/v2/visits/{visitId}/participants/{participantId}/dismiss",
    );
    let out = call(
        dismiss,
        &format!("{uri}/{guest}/dismiss"),
        &as_provider,
        None,
    )
    .await;
    assert_eq!(out["status"], "DISMISSED");
    // A decline: 204, no body.
    let r = send(
        &w.router,
        "delete",
        &format!("{uri}/{other}/invitation"),
        &vendor,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert!(r.body.is_empty());

    // Started, left by the patient, ended by the provider, fulfilled.
    let start = format!("/v2/visits/{id}/start");
    call(
        ("post", "/v2/visits/{visitId}/start"),
        &start,
        &as_provider,
        None,
    )
    .await;
    let key = (
        "get",
        "/v2/visits/{visitId}/participants/{participantId}/video-key",
    );
    let k = call(key, &format!("{uri}/{me}/video-key"), &as_provider, None).await;
    assert_eq!(k["provider"], "webrtc");
    // Presence: the REST heartbeat of the patient and the provider, the
    // connection status for the franchise's key.
    let alive = ("put", ALIVE);
    let p = call(alive, &format!("/v2/visits/{id}/alive"), &patient, None).await;
    assert_eq!(
        (p["participantId"].as_str(), p["status"].as_str()),
        (Some(me.as_str()), Some("JOINED"))
    );
    call(alive, &format!("/v2/visits/{id}/alive"), &as_provider, None).await;
    let status = ("get", "/v2/visits/{visitId}/connection-status");
    let st = call(
        status,
        &format!("/v2/visits/{id}/connection-status"),
        &vendor,
        None,
    )
    .await;
    assert_eq!(st["items"].as_array().unwrap().len(), 2, "{st}");
    let end = ("post", "/v2/visits/{visitId}/end");
    let left = call(end, &format!("/v2/visits/{id}/end"), &patient, None).await;
    assert_eq!(left["status"], "LEFT");
    let done = call(end, &format!("/v2/visits/{id}/end"), &as_provider, None).await;
    assert_eq!(done["status"], "COMPLETED");
    assert!(done["durations"]["visitSeconds"].is_number());
    let fulfil = ("post", "/v2/visits/{visitId}/fulfil");
    let f = call(fulfil, &format!("/v2/visits/{id}/fulfil"), &patient, None).await;
    assert_eq!(f["fulfilledBy"]["type"], "PATIENT");
    seen.insert((
        "delete".to_owned(),
        "/v2/visits/{visitId}/participants/{participantId}/invitation".to_owned(),
    ));
    seen
}
