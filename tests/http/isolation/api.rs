//! Every operation of `openapi/openapi.json` (read at test time), called by
//! each attacker with every credential its `security` allows (the API key
//! naming a provider; the attacker's own patient token) and B's ids in the
//! path, the query and the body.
//!
//! The rows run in their order: every call naming B's ids first, then the
//! calls that create something of the caller's own under B's names (a
//! room, a queue, a concern, a provider of the same code: names are per
//! franchise, so they must succeed, not collide), then the caller's logout.

use http::Method;
use serde_json::Value;

use super::world::{Attacker, Victim, attackers, b_state, victim};
use super::{Payload, leaked, send, shape_error, spawn, unexpected_writes, writes_into};

/// What a row expects of the call.
#[derive(Clone, Copy)]
pub enum Expect {
    /// An id of B: `404` in the error shape, nothing written.
    NotFound,
    /// Another refusal the route documents, in the error shape, nothing
    /// written; and why.
    Refused(u16, &'static str),
    /// No id of B to name (a list, a catalogue, a creation or a launch of
    /// the caller's own franchise): no `5xx`, nothing written in B's
    /// partitions; and why.
    Own(&'static str),
}

use Expect::*;

/// A body: none, JSON with `{name}`s of B's ids, or a snapshot's bytes.
#[derive(Clone, Copy)]
pub enum Body {
    No,
    Json(&'static str),
    Png,
}

pub struct Row {
    pub method: &'static str,
    pub path: &'static str,
    pub query: &'static str,
    pub body: Body,
    pub expect: Expect,
}

const fn r(
    method: &'static str,
    path: &'static str,
    query: &'static str,
    body: Body,
    expect: Expect,
) -> Row {
    Row {
        method,
        path,
        query,
        body,
        expect,
    }
}

const LIST: &str = "a list of the caller's franchise: B's items must not be in it";
const LAUNCH: &str = "a launch of the caller's own franchise's view: there is no id to name";
const SAME_NAME: &str = "the caller creates its own object under B's name: names are per franchise";
const FILTER: &str = "a filter of the caller's own list or statistics: an id of B filters to nothing, as an unknown one does (checked: the answer carries nothing of B)";
const NONE: Body = Body::No;

use Body::Json as J;

/// The table: every operation of the document, once.
#[rustfmt::skip]
pub const ROWS: &[Row] = &[
    // The vendor's launches.
    r("post", "/embeddable/consultation/view", "", J(r#"{"consultationId":"{consultationId}"}"#), NotFound),
    r("get", "/embeddable/consultation/view", "?patientKey={patientKey}", NONE, NotFound),
    r("get", "/embeddable/consultation/dashboard", "?patientKey={patientKey}", NONE, NotFound),
    r("get", "/embeddable/consultation/specific", "?consultationId={consultationId}", NONE, NotFound),
    r("get", "/embeddable/consultation/answer", "?consultationId={consultationId}", NONE, NotFound),
    r("get", "/embeddable/followup/view", "?patientKey={patientKey}", NONE, NotFound),
    r("get", "/embeddable/followup/dashboard", "?patientKey={patientKey}", NONE, NotFound),
    r("get", "/embeddable/followup/specific", "?followupId={followupId}", NONE, NotFound),
    r("get", "/embeddable/followup/plan", "?patientKey={patientKey}", NONE, NotFound),
    r("get", "/embeddable/administration/franchise-management", "", NONE, Own(LAUNCH)),
    r("get", "/embeddable/administration/franchise-onboarding", "", NONE, Own(LAUNCH)),
    r("get", "/embeddable/administration/franchise-offboarding", "", NONE, Own(LAUNCH)),
    r("get", "/embeddable/statistics", "", NONE, Own(LAUNCH)),
    r("get", "/embeddable/visits/waiting-room", "?roomCode={code}", NONE, NotFound),
    r("get", "/embeddable/visits/schedule", "?roomCode={code}", NONE, NotFound),
    r("get", "/embeddable/visits/room", "?visitId={visitId}", NONE, NotFound),
    r("get", "/embeddable/visits/statistics", "?roomCode={code}", NONE, Own(FILTER)),
    // Consultations and follow-ups.
    r("get", "/v2/consultation-reasons", "", NONE, Own("the catalogue of reasons, the same for all")),
    r("get", "/v2/consultations", "?patientId={patientId}", NONE, Own(FILTER)),
    r("get", "/v2/consultations", "?patientKey={patientKey}", NONE, NotFound),
    r("get", "/v2/consultations/{consultationId}", "", NONE, NotFound),
    r("post", "/v2/consultations/{consultationId}/cancel", "", NONE, NotFound),
    r("post", "/v2/followups", "", J(r#"{"patient":{"keys":[{"subSystem":"pms","key":"iso-a-new"}],"firstName":"Al","lastName":"Aa"},"dueDate":"2026-03-01","consultationId":"{consultationId}"}"#), NotFound),
    r("get", "/v2/followups", "?patientId={patientId}", NONE, Own(FILTER)),
    r("get", "/v2/followups", "?patientKey={patientKey}", NONE, NotFound),
    r("get", "/v2/followups/{followupId}", "", NONE, NotFound),
    r("post", "/v2/followups/{followupId}/cancel", "", NONE, NotFound),
    r("post", "/v2/embed/consultation/answer", "", J(r#"{"consultationId":"{consultationId}"}"#), NotFound),
    r("post", "/v2/embed/consultation/details", "", J(r#"{"consultationId":"{consultationId}"}"#), NotFound),
    r("post", "/v2/embed/followup/answer", "", J(r#"{"followupId":"{followupId}"}"#), NotFound),
    r("post", "/v2/embed/followup/details", "", J(r#"{"followupId":"{followupId}"}"#), NotFound),
    // Webhooks, events, queues.
    r("get", "/v2/webhook-endpoints", "", NONE, Own(LIST)),
    r("get", "/v2/webhook-endpoints/{endpointId}", "", NONE, NotFound),
    r("patch", "/v2/webhook-endpoints/{endpointId}", "", J(r#"{"description":"taken"}"#), NotFound),
    r("delete", "/v2/webhook-endpoints/{endpointId}", "", NONE, NotFound),
    r("post", "/v2/webhook-endpoints/{endpointId}/rotate-secret", "", NONE, NotFound),
    r("get", "/v2/webhook-endpoints/{endpointId}/deliveries", "", NONE, NotFound),
    r("get", "/v2/events", "", NONE, Own(LIST)),
    r("post", "/v2/events/{eventId}/redeliver", "", NONE, NotFound),
    r("post", "/v2/events/{eventId}/redeliver", "?endpointId={endpointId}", NONE, NotFound),
    r("get", "/v2/event-queues", "", NONE, Own(LIST)),
    r("get", "/v2/event-queues/{queueName}", "", NONE, NotFound),
    r("delete", "/v2/event-queues/{queueName}", "", NONE, NotFound),
    r("get", "/v2/events/subscribe", "?queue={queueName}", NONE, Refused(400, "a WebSocket: through the router it is never upgraded (stream.rs's not_upgraded); the queue of another franchise is refused over a real socket in pages.rs")),
    // The patient side.
    r("delete", "/v2/patients/sso/{tokenId}", "", NONE, NotFound),
    r("get", "/v2/rooms", "", NONE, Own(LIST)),
    r("get", "/v2/rooms/{code}", "", NONE, NotFound),
    r("patch", "/v2/rooms/{code}", "", J(r#"{"name":{"fr":"Prise","en":"Taken"}}"#), NotFound),
    r("get", "/v2/providers", "", NONE, Own(LIST)),
    r("get", "/v2/providers/{userId}/availability", "?roomCode=clinic", NONE, NotFound),
    r("get", "/v2/providers/{userId}/availability", "?roomCode={code}", NONE, NotFound),
    r("put", "/v2/providers/{userId}/availability", "", J(r#"{"roomCode":"{code}","weekly":{"mon":[{"start":"09:00","end":"12:00"}]}}"#), Refused(403, "a provider sets only their own hours: another user than the x-integration-user is refused before any lookup (the same for an unknown one)")),
    r("get", "/v2/availability", "?roomCode={code}", NONE, NotFound),
    r("post", "/v2/intakes", "", J(r#"{"patientId":"{portalPatientId}","reasonForVisit":"Cough","type":"WALKIN","roomCode":"clinic"}"#), NotFound),
    r("post", "/v2/intakes", "", J(r#"{"patientId":"{portalPatientId}","reasonForVisit":"Cough","type":"WALKIN","roomCode":"{code}"}"#), NotFound),
    r("get", "/v2/intakes/{intakeId}", "", NONE, NotFound),
    r("patch", "/v2/intakes/{intakeId}", "", J(r#"{"reasonForVisit":"Taken"}"#), NotFound),
    r("get", "/v2/visits", "?patientId={portalPatientId}", NONE, Own(FILTER)),
    r("get", "/v2/visits", "?providerId={userId}", NONE, Own(FILTER)),
    r("post", "/v2/visits", "", J(r#"{"intakeId":"{intakeId}","providerId":"dr-martin","start":"2026-01-02T15:00:00Z"}"#), NotFound),
    r("post", "/v2/visits/walkin", "", J(r#"{"intakeId":"{intakeId}"}"#), NotFound),
    r("post", "/v2/visits/econsult", "", J(r#"{"intakeId":"{intakeId}"}"#), NotFound),
    r("get", "/v2/visits/{visitId}", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/accept", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/start", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/complete", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/no-show", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/cancel", "", NONE, NotFound),
    r("get", "/v2/visits/{visitId}/messages", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/messages", "", J(r#"{"text":"taken"}"#), NotFound),
    r("get", "/v2/visits/{visitId}/participants", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/participants", "", J(r#"{"participantType":"GUEST","firstName":"Al","lastName":"Aa"}"#), NotFound),
    r("get", "/v2/visits/{visitId}/participants/{participantId}", "", NONE, NotFound),
    r("patch", "/v2/visits/{visitId}/participants/{participantId}", "", J(r#"{"firstName":"Taken"}"#), NotFound),
    r("post", "/v2/visits/{visitId}/participants/{participantId}/tokens", "", NONE, NotFound),
    r("delete", "/v2/visits/{visitId}/participants/{participantId}/invitation", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/participants/{participantId}/dismiss", "", NONE, NotFound),
    r("get", "/v2/visits/{visitId}/participants/{participantId}/video-key", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/end", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/fulfil", "", NONE, NotFound),
    r("put", "/v2/visits/{visitId}/intake", "", J(r#"{"concerns":[{"text":"taken"}]}"#), NotFound),
    r("get", "/v2/visits/{visitId}/snapshots", "", NONE, NotFound),
    r("post", "/v2/visits/{visitId}/snapshots", "", Body::Png, NotFound),
    r("get", "/v2/visits/{visitId}/snapshots/{snapshotId}", "", NONE, NotFound),
    r("delete", "/v2/visits/{visitId}/snapshots/{snapshotId}", "", NONE, NotFound),
    r("put", "/v2/visits/{visitId}/alive", "", NONE, NotFound),
    r("get", "/v2/visits/{visitId}/connection-status", "", NONE, NotFound),
    r("get", "/v2/concerns", "", NONE, Own(LIST)),
    r("get", "/v2/statistics/visits", "?from=2026-01-01&to=2026-01-31&roomCode={code}", NONE, Own(FILTER)),
    // What the caller makes of its own, under B's names and keys.
    r("post", "/embeddable/consultation/create", "", J(r#"{"patient":{"keys":[{"subSystem":"pms","key":"{patientKey}"}],"firstName":"Al","lastName":"Aa"}}"#), Own("the patient is matched by key in the caller's franchise only: B's key makes a patient of the caller's")),
    r("post", "/v2/consultations", "", J(r#"{"patient":{"keys":[{"subSystem":"pms","key":"{patientKey}"}],"firstName":"Al","lastName":"Aa"},"reason":"uti"}"#), Own("the patient is matched by key in the caller's franchise only")),
    r("post", "/v2/webhook-endpoints", "", J(r#"{"url":"https://hooks.example.com/b","eventTypes":["consultation.*"]}"#), Own(SAME_NAME)),
    r("post", "/v2/event-queues", "", J(r#"{"queueName":"{queueName}","eventTypes":["visit.*"]}"#), Own(SAME_NAME)),
    r("post", "/v2/rooms", "", J(r#"{"code":"{code}","name":{"fr":"Salle A","en":"Room A"}}"#), Own(SAME_NAME)),
    r("put", "/v2/providers/{userId}", "", J(r#"{"displayName":"Dr. Aa"}"#), Own(SAME_NAME)),
    r("post", "/v2/concerns", "", J(r#"{"code":"{concern}","kind":"secondary","label":{"fr":"Amal","en":"Aache"}}"#), Own(SAME_NAME)),
    r("post", "/v2/patients/sso", "", J(r#"{"patient":{"keys":[{"subSystem":"portal","key":"{patientKey}"}],"firstName":"Al","lastName":"Aa"}}"#), Own("the patient is matched by key in the caller's franchise only")),
    r("post", "/v2/patients/logout", "", NONE, Own("the caller's own token ends (run last: its token is spent)")),
];

/// The document's operations: (method, path, the credentials its
/// `security` allows: `ApiKey`, `PatientToken`; anonymous access needs no
/// attacker's credential and is not a row's).
pub fn operations() -> Vec<(String, String, Vec<String>)> {
    let path = format!("{}/../openapi/openapi.json", env!("CARGO_MANIFEST_DIR"));
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the document")).expect("JSON");
    let global = doc["security"].clone();
    let mut ops = Vec::new();
    for (p, item) in doc["paths"].as_object().expect("paths") {
        for (m, op) in item.as_object().expect("an item") {
            if !["get", "post", "put", "patch", "delete"].contains(&m.as_str()) {
                continue;
            }
            let security = op.get("security").unwrap_or(&global);
            let schemes = security
                .as_array()
                .expect("security")
                .iter()
                .flat_map(|s| s.as_object().expect("a requirement").keys().cloned())
                .collect();
            ops.push((m.clone(), p.clone(), schemes));
        }
    }
    ops
}

/// The headers of an attacker for a scheme.
fn credentials(a: &Attacker, scheme: &str) -> Vec<(String, String)> {
    match scheme {
        "ApiKey" => a.api(),
        "PatientToken" => a.bearer(),
        other => panic!("a scheme the matrix does not know: {other}"),
    }
}

fn payload(b: &Victim, body: Body, unknown: bool) -> (Payload, String) {
    match body {
        Body::No => (Payload::None, String::new()),
        Body::Json(j) => {
            let text = if unknown {
                b.fill_unknown(j)
            } else {
                b.fill(j)
            };
            let v: Value = serde_json::from_str(&text).expect("a row's JSON");
            (Payload::Json(v), text)
        }
        Body::Png => {
            let mut png = vec![0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
            png.extend(std::iter::repeat_n(9u8, 100));
            (Payload::Raw("image/png", png), String::new())
        }
    }
}

#[tokio::test]
async fn every_route_of_the_document_with_another_franchises_ids() {
    let iso = spawn().await;
    let t = &iso.t;
    let log = &iso.log;
    let b = victim(t).await;
    let attackers = attackers(t).await;
    let ops = operations();
    let missing: Vec<String> = ops
        .iter()
        .filter(|(m, p, _)| !ROWS.iter().any(|r| r.method == m && r.path == p))
        .map(|(m, p, _)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes of the document missing from the isolation table: {missing:?}"
    );
    let stale: Vec<String> = ROWS
        .iter()
        .filter(|r| !ops.iter().any(|(m, p, _)| r.method == m && r.path == p))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        stale.is_empty(),
        "rows of no route of the document: {stale:?}"
    );
    let before = b_state(t, &b).await;

    let secrets = b.secrets();
    let (mut calls, mut wrong) = (0, Vec::new());
    for a in &attackers {
        for row in ROWS {
            let (_, _, schemes) = ops
                .iter()
                .find(|(m, p, _)| row.method == m && row.path == p)
                .expect("a row of the document");
            for scheme in schemes {
                let path = b.fill(row.path);
                let uri = format!("{path}{}", b.fill(row.query));
                let (body, body_text) = payload(&b, row.body, false);
                let method =
                    Method::from_bytes(row.method.to_uppercase().as_bytes()).expect("a method");
                log.reset();
                let reply = send(t, method, &uri, &credentials(a, scheme), body).await;
                calls += 1;
                let what = format!(
                    "{} {uri} as {} ({scheme})",
                    row.method.to_uppercase(),
                    a.name
                );
                let status = reply.status.as_u16();
                let problem = match row.expect {
                    NotFound => shape_error(&reply, 404, &path),
                    Refused(s, why) => {
                        shape_error(&reply, s, &path).map(|p| format!("{p} (the row: {why})"))
                    }
                    Own(why) if status >= 500 => {
                        Some(format!("{status}: {} (the row: {why})", reply.text()))
                    }
                    Own(_) => None,
                };
                if let Some(p) = problem {
                    wrong.push(format!("{what}: {p}"));
                }
                let writes = match row.expect {
                    Own(_) => writes_into(log, b.tenant),
                    _ => unexpected_writes(log),
                };
                if !writes.is_empty() {
                    wrong.push(format!("{what}: wrote {writes:?}"));
                }
                let leaks = leaked(&reply.text(), &format!("{uri} {body_text}"), &secrets);
                if !leaks.is_empty() {
                    wrong.push(format!("{what}: B's {leaks:?} in {}", reply.text()));
                }
                if matches!(row.expect, Own(_)) {
                    continue;
                }
                // The same call with ids that name nothing: the same answer
                // (nothing tells B's ids from unknown ones), nothing written.
                let twin_uri = format!("{}{}", b.fill_unknown(row.path), b.fill_unknown(row.query));
                let (body, _) = payload(&b, row.body, true);
                let method =
                    Method::from_bytes(row.method.to_uppercase().as_bytes()).expect("a method");
                log.reset();
                let unknown = send(t, method, &twin_uri, &credentials(a, scheme), body).await;
                calls += 1;
                let message = |r: &crate::helpers::Reply| {
                    let m = serde_json::from_slice::<Value>(&r.body).ok()?;
                    let text = m["message"].as_str()?.to_owned();
                    Some(
                        b.ids
                            .iter()
                            .fold(text, |s, (_, v)| s.replace(&super::world::twin(v), v)),
                    )
                };
                if unknown.status != reply.status || message(&unknown) != message(&reply) {
                    wrong.push(format!(
                        "{what}: B's ids answer {} {:?}, unknown ids {} {:?}",
                        reply.status,
                        message(&reply),
                        unknown.status,
                        message(&unknown)
                    ));
                }
                let writes = unexpected_writes(log);
                if !writes.is_empty() {
                    wrong.push(format!("{what} (unknown ids): wrote {writes:?}"));
                }
            }
        }
    }
    super::world::assert_unchanged(&before, &b_state(t, &b).await);
    assert!(
        wrong.is_empty(),
        "{} of {calls} calls wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    println!(
        "isolation: {} operations of the document, {} rows, {calls} calls by {} attackers: 0 wrong",
        ops.len(),
        ROWS.len(),
        attackers.len()
    );
}
