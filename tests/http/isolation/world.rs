//! B's world (franchise `demo`): an object of every kind the API names by
//! id, made through the API as a vendor makes them; and the attackers, each
//! a franchise with the demo room and providers (the same room code and
//! user ids as B's: a name shared across franchises must not collide) and
//! a patient signed in with the same portal key as B's.

use http::Method;
use serde_json::{Value, json};
use shared::services::demo::{self, DEMO_TENANT, DEMO_TENANT_2, OTHER_TENANT};

use super::{HOOK_HOST, Payload, send};
use crate::clinic::{intake, provider_header, provider_move, sso, walkin};
use crate::helpers::{Reply, TestApp};
use crate::pages::matrix;

/// The provider every franchise of the world has (the demo's).
pub const PROVIDER: &str = "dr-martin";
/// The patient key B's patient and every attacker's share.
pub const PATIENT_KEY: &str = "iso-shared-key";
/// The patient key only B has (its patient of consultations and follow-ups).
pub const B_KEY: &str = "iso-b-key";

/// B: its tenant and the ids of its objects, by the name the API gives
/// the parameter.
pub struct Victim {
    pub tenant: &'static str,
    pub ids: Vec<(&'static str, String)>,
    /// B's things that are no id (secrets, texts): never in A's answers.
    pub others: Vec<String>,
}

impl Victim {
    pub fn id(&self, name: &str) -> &str {
        self.ids
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("B has no {name}"))
    }

    /// `template` with every `{name}` of B's ids replaced by the id.
    pub fn fill(&self, template: &str) -> String {
        self.ids.iter().fold(template.to_owned(), |s, (n, v)| {
            s.replace(&format!("{{{n}}}"), v)
        })
    }

    /// `template` filled with ids of B's shapes that name nothing: each id
    /// with its last character changed (a hex digit for a hex digit).
    pub fn fill_unknown(&self, template: &str) -> String {
        self.ids.iter().fold(template.to_owned(), |s, (n, v)| {
            s.replace(&format!("{{{n}}}"), &twin(v))
        })
    }

    /// What of B must never reach A.
    pub fn secrets(&self) -> Vec<String> {
        self.ids
            .iter()
            .map(|(_, v)| v.clone())
            .chain(self.others.iter().cloned())
            .collect()
    }
}

/// An id of the same shape as `id` that is not it.
pub fn twin(id: &str) -> String {
    let mut chars: Vec<char> = id.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = match *last {
            '0' => '1',
            c if c.is_ascii_hexdigit() => '0',
            'x' => 'y',
            _ => 'x',
        };
    }
    chars.into_iter().collect()
}

/// An attacker: a franchise, its API key (and the headers that name its
/// franchise), and a patient token of its own.
pub struct Attacker {
    pub name: &'static str,
    pub key: String,
    pub tenant_header: Option<&'static str>,
    pub patient_token: String,
}

impl Attacker {
    /// The headers of the vendor's server: the key, the franchise, the
    /// provider.
    pub fn api(&self) -> Vec<(String, String)> {
        let mut h = vec![
            ("api-key".to_owned(), self.key.clone()),
            ("x-integration-user".to_owned(), provider_header(PROVIDER)),
        ];
        if let Some(t) = self.tenant_header {
            h.push(("x-tenant-key".to_owned(), t.to_owned()));
        }
        h
    }

    pub fn bearer(&self) -> Vec<(String, String)> {
        vec![(
            "authorization".to_owned(),
            format!("Bearer {}", self.patient_token),
        )]
    }
}

fn provider(t: &TestApp) -> Vec<(String, String)> {
    vec![
        ("api-key".to_owned(), t.world.api_key.clone()),
        ("x-integration-user".to_owned(), provider_header(PROVIDER)),
    ]
}

fn made(r: Reply, what: &str) -> Value {
    assert!(r.status.is_success(), "{what}: {} {}", r.status, r.text());
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
        .to_owned()
}

/// B's world, through the API.
pub async fn victim(t: &TestApp) -> Victim {
    let as_b = provider(t);
    let post = |path: &'static str, body: Value| {
        let h = as_b.clone();
        async move { send(t, Method::POST, path, &h, Payload::Json(body)).await }
    };
    let care = matrix::world(t, &t.world.api_key, B_KEY).await;
    let (portal_patient, token) = sso(t, PATIENT_KEY).await;
    let token_id = token.split('.').nth(1).expect("a token id").to_owned();
    let token_secret = token.split('.').nth(2).expect("a secret").to_owned();
    let visit = text(&walkin(t, &token).await, "visitId");
    let r = provider_move(t, &visit, "start", PROVIDER).await;
    assert_eq!(r.status, 200, "start: {}", r.text());
    let spare_intake = intake(t, &token, "WALKIN").await;
    let vpath = |rest: &str| format!("/v2/visits/{visit}{rest}");
    let message = "B's private words";
    let r = send(
        t,
        Method::POST,
        &vpath("/messages"),
        &as_b,
        Payload::Json(json!({"text": message})),
    )
    .await;
    made(r, "a message");
    let guest = json!({"participantType": "GUEST", "firstName": "Gus", "lastName": "Bguest",
                       "email": "gus@b.example.com"});
    let r = send(
        t,
        Method::POST,
        &vpath("/participants"),
        &as_b,
        Payload::Json(guest),
    )
    .await;
    let participant = text(&made(r, "a participant"), "participantId");
    let r = send(
        t,
        Method::POST,
        &vpath(&format!("/participants/{participant}/tokens")),
        &as_b,
        Payload::None,
    )
    .await;
    let invitation = text(&made(r, "an invitation"), "token");
    let mut png = vec![0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    png.extend(std::iter::repeat_n(7u8, 200));
    let r = send(
        t,
        Method::POST,
        &vpath("/snapshots"),
        &as_b,
        Payload::Raw("image/png", png),
    )
    .await;
    let snapshot = text(&made(r, "a snapshot"), "snapshotId");
    let room = "iso-b-room";
    let r = post(
        "/v2/rooms",
        json!({"code": room, "name": {"fr": "Salle B", "en": "Room B"}, "providerIds": [PROVIDER]}),
    )
    .await;
    made(r, "a room");
    let b_provider = "dr-iso-b";
    let r = send(
        t,
        Method::PUT,
        &format!("/v2/providers/{b_provider}"),
        &as_b,
        Payload::Json(json!({"displayName": "Dr. Bonly"})),
    )
    .await;
    made(r, "a provider");
    let concern = "iso-b-concern";
    let r = post(
        "/v2/concerns",
        json!({"code": concern, "kind": "secondary", "label": {"fr": "Bmal", "en": "Bache"}}),
    )
    .await;
    made(r, "a concern");
    let r = post(
        "/v2/webhook-endpoints",
        json!({"url": format!("https://{HOOK_HOST}/b"), "eventTypes": ["consultation.*"]}),
    )
    .await;
    let endpoint = made(r, "a webhook endpoint");
    let queue = "iso-b-queue";
    let r = post(
        "/v2/event-queues",
        json!({"queueName": queue, "eventTypes": ["visit.*"]}),
    )
    .await;
    made(r, "an event queue");
    let r = send(t, Method::GET, "/v2/events", &as_b, Payload::None).await;
    let events = made(r, "the events");
    let event = text(&events["items"][0], "id");
    Victim {
        tenant: DEMO_TENANT,
        ids: vec![
            ("patientKey", B_KEY.to_owned()),
            ("patientId", care.patient),
            ("consultationId", care.consultation),
            ("followupId", care.followup),
            ("portalPatientId", portal_patient),
            ("tokenId", token_id),
            ("visitId", visit),
            ("intakeId", spare_intake),
            ("participantId", participant),
            ("snapshotId", snapshot),
            ("code", room.to_owned()),
            ("userId", b_provider.to_owned()),
            ("concern", concern.to_owned()),
            ("endpointId", text(&endpoint, "endpointId")),
            ("queueName", queue.to_owned()),
            ("eventId", event),
        ],
        others: vec![
            token_secret,
            invitation.clone(),
            text(&endpoint, "secret"),
            message.to_owned(),
            "Bguest".to_owned(),
            "Bonly".to_owned(),
            "Bache".to_owned(),
        ],
    }
}

/// The two attackers, each with the demo room, providers and a patient.
pub async fn attackers(t: &TestApp) -> Vec<Attacker> {
    let mut all = Vec::new();
    for (name, tenant, key, header) in [
        (
            "another franchise of B's account",
            DEMO_TENANT_2,
            t.world.multi_franchise_api_key.clone(),
            Some(DEMO_TENANT_2),
        ),
        (
            "a franchise of another account",
            OTHER_TENANT,
            t.world.other_account_api_key.clone(),
            None,
        ),
    ] {
        demo::seed_clinic(&t.app, tenant).await.expect("a clinic");
        let mut h = vec![("api-key".to_owned(), key.clone())];
        if let Some(x) = header {
            h.push(("x-tenant-key".to_owned(), x.to_owned()));
        }
        let body = json!({"patient": {"keys": [{"subSystem": "portal", "key": PATIENT_KEY}],
                                      "firstName": "Ana", "lastName": "Attacker"}});
        let r = send(t, Method::POST, "/v2/patients/sso", &h, Payload::Json(body)).await;
        let token = made(r, "an attacker's patient token")["token"]["token"]
            .as_str()
            .expect("a token")
            .to_owned();
        assert!(token.starts_with(&format!("{tenant}.")), "{token}");
        all.push(Attacker {
            name,
            key,
            tenant_header: header,
            patient_token: token,
        });
    }
    all
}

/// What B's objects look like to B: its reads of each, to compare before
/// and after the attackers' calls.
pub async fn b_state(t: &TestApp, b: &Victim) -> Vec<(String, u16, Value)> {
    let mut seen = Vec::new();
    for uri in [
        "/v2/consultations/{consultationId}",
        "/v2/followups/{followupId}",
        "/v2/consultations?patientId={patientId}",
        "/v2/visits/{visitId}",
        "/v2/visits/{visitId}/messages",
        "/v2/visits/{visitId}/participants",
        "/v2/visits/{visitId}/participants/{participantId}",
        "/v2/visits/{visitId}/snapshots",
        "/v2/intakes/{intakeId}",
        "/v2/rooms",
        "/v2/providers",
        "/v2/providers/{userId}/availability?roomCode={code}",
        "/v2/concerns",
        "/v2/webhook-endpoints",
        "/v2/event-queues",
        "/v2/events",
    ] {
        let uri = b.fill(uri);
        let r = send(t, Method::GET, &uri, &provider(t), Payload::None).await;
        // As JSON: DynamoDB keeps no order of a map's attributes.
        let body = serde_json::from_slice(&r.body).unwrap_or_else(|_| Value::String(r.text()));
        seen.push((uri, r.status.as_u16(), body));
    }
    seen
}

/// Fails naming what of B's objects changed between two reads.
pub fn assert_unchanged(before: &[(String, u16, Value)], after: &[(String, u16, Value)]) {
    let changed: Vec<String> = before
        .iter()
        .zip(after)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| format!("{}: {} {}\n  now {} {}", x.0, x.1, x.2, y.1, y.2))
        .collect();
    assert!(
        changed.is_empty(),
        "B's objects changed:\n{}",
        changed.join("\n")
    );
}
