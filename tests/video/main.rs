//! The Chime SDK meetings adapter of the video port (`shared::video::chime`)
//! against a small fake of Chime's HTTP API (moto does not emulate Chime):
//! an axum server on 127.0.0.1, the SDK's endpoint pointed at it. The fake
//! checks what the SDK signs and sends — the method and path of each
//! operation, a SigV4 `Authorization` scoped to the service `chime` in the
//! region, the body's fields (`ClientRequestToken` and `ExternalMeetingId`
//! the visit's id, `ExternalUserId` the participant's id: no names) — and
//! answers as Chime does. The adapter's join data carries the meeting and
//! the attendee's join token; a second join finds the same meeting (the
//! token makes CreateMeeting idempotent); `DeleteMeeting` ends it, and a
//! meeting already gone is no error.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shared::domain::{ParticipantId, TenantKey, VisitId};
use shared::video::chime::ChimeRooms;
use shared::video::{Attendee, Room, VideoRooms};

/// One request the fake received.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    authorization: String,
    body: Value,
}

#[derive(Default)]
struct Fake {
    seen: Mutex<Vec<Seen>>,
    /// Meetings by their ClientRequestToken.
    meetings: Mutex<Vec<(String, String)>>,
    deleted: Mutex<Vec<String>>,
}

fn meeting(id: &str, external: &str) -> Value {
    json!({"Meeting": {
        "MeetingId": id,
        "ExternalMeetingId": external,
        "MediaRegion": "us-east-1",
        "MediaPlacement": {
            "AudioHostUrl": format!("{id}.k.m1.ue1.app.chime.aws:3478"),
            "AudioFallbackUrl": "wss://haxrp.m1.ue1.app.chime.aws:443/calls/x",
            "SignalingUrl": "wss://signal.m1.ue1.app.chime.aws/control/x",
            "TurnControlUrl": "https://2713.cell.us-east-1.meetings.chime.aws/v2/turn_sessions",
        },
    }})
}

async fn chime(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_owned();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    fake.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        authorization,
        body: body.clone(),
    });
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["meetings"]) => {
            let token = body["ClientRequestToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let external = body["ExternalMeetingId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut meetings = fake.meetings.lock().unwrap();
            let id = match meetings.iter().find(|(t, _)| *t == token) {
                Some((_, id)) => id.clone(),
                None => {
                    let id = format!("m-{}", meetings.len() + 1);
                    meetings.push((token, id.clone()));
                    id
                }
            };
            (StatusCode::OK, axum::Json(meeting(&id, &external))).into_response()
        }
        ("POST", ["meetings", id, "attendees"]) => {
            let known = fake.meetings.lock().unwrap().iter().any(|(_, m)| m == id);
            if !known {
                return not_found();
            }
            let user = body["ExternalUserId"].as_str().unwrap_or_default();
            let a = json!({"Attendee": {
                "ExternalUserId": user,
                "AttendeeId": format!("a-{user}"),
                "JoinToken": format!("join-token-of-{user}"),
            }});
            (StatusCode::OK, axum::Json(a)).into_response()
        }
        ("DELETE", ["meetings", id]) => {
            let mut deleted = fake.deleted.lock().unwrap();
            if deleted.iter().any(|d| d == id) {
                return not_found();
            }
            deleted.push((*id).to_owned());
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found(),
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [("x-amzn-errortype", "NotFoundException")],
        axum::Json(json!({"Code": "NotFound", "Message": "The resource was not found"})),
    )
        .into_response()
}

async fn fake_chime() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let app = Router::new().fallback(chime).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (fake, format!("http://{addr}"))
}

fn client(endpoint: &str) -> aws_sdk_chimesdkmeetings::Client {
    let conf = aws_sdk_chimesdkmeetings::Config::builder()
        .behavior_version(aws_sdk_chimesdkmeetings::config::BehaviorVersion::latest())
        .region(aws_sdk_chimesdkmeetings::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_chimesdkmeetings::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_chimesdkmeetings::Client::from_conf(conf)
}

fn signed_for_chime(s: &Seen) {
    let a = &s.authorization;
    assert!(a.starts_with("AWS4-HMAC-SHA256 "), "{a}");
    assert!(a.contains("Credential=AKIDTEST/"), "{a}");
    assert!(
        a.contains("/us-east-1/chime/aws4_request"),
        "scope service chime: {a}"
    );
    assert!(
        a.contains("SignedHeaders=") && a.contains("Signature="),
        "{a}"
    );
}

#[tokio::test]
async fn the_chime_adapter_signs_and_sends_what_chime_expects() {
    let (fake, endpoint) = fake_chime().await;
    let rooms = ChimeRooms::new(client(&endpoint), "us-east-1");
    assert_eq!(rooms.provider(), "chime");
    let tenant = TenantKey::parse("demo").unwrap();
    let visit = VisitId::parse("4f7c7d39-2b8e-4d5b-9d1a-9b3f0a7e2c11").unwrap();
    let room = Room {
        tenant: &tenant,
        visit: &visit,
    };

    // The provider starts: CreateMeeting, its token and external id the visit's.
    rooms.open(room).await.expect("opened");
    {
        let seen = fake.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let s = &seen[0];
        assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/meetings"));
        signed_for_chime(s);
        assert_eq!(s.body["ClientRequestToken"], visit.as_str());
        assert_eq!(s.body["ExternalMeetingId"], visit.as_str());
        assert_eq!(s.body["MediaRegion"], "us-east-1");
    }

    // A participant joins: the same meeting (ensured again), an attendee
    // whose external id is the participant's id, and its join token.
    let pid = ParticipantId::parse("p-123").unwrap();
    let data = rooms
        .join(
            room,
            Attendee {
                participant_id: &pid,
                seat: None,
            },
            0,
        )
        .await
        .expect("joined");
    assert_eq!(data["provider"], "chime");
    assert_eq!(data["participantId"], "p-123");
    assert_eq!(
        data["meeting"]["MeetingId"], "m-1",
        "one meeting for the visit"
    );
    assert_eq!(data["meeting"]["ExternalMeetingId"], visit.as_str());
    assert!(
        data["meeting"]["MediaPlacement"]["SignalingUrl"]
            .as_str()
            .unwrap()
            .starts_with("wss://")
    );
    assert_eq!(data["attendee"]["AttendeeId"], "a-p-123");
    assert_eq!(data["attendee"]["ExternalUserId"], "p-123");
    assert_eq!(data["attendee"]["JoinToken"], "join-token-of-p-123");
    {
        let seen = fake.seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1].path, "/meetings");
        let s = &seen[2];
        assert_eq!(
            (s.method.as_str(), s.path.as_str()),
            ("POST", "/meetings/m-1/attendees")
        );
        signed_for_chime(s);
        assert_eq!(
            s.body,
            json!({"ExternalUserId": "p-123"}),
            "nothing but the participant's id"
        );
    }

    // The end: DeleteMeeting of that meeting; again, already gone: no error.
    rooms.close(room).await.expect("closed");
    rooms
        .close(room)
        .await
        .expect("a meeting already gone is fine");
    let seen = fake.seen.lock().unwrap();
    let deletes: Vec<&Seen> = seen.iter().filter(|s| s.method == Method::DELETE).collect();
    assert_eq!(deletes.len(), 2);
    assert_eq!(deletes[0].path, "/meetings/m-1");
    signed_for_chime(deletes[0]);
    assert_eq!(*fake.deleted.lock().unwrap(), vec!["m-1".to_owned()]);
}

#[tokio::test]
async fn a_chime_failure_is_an_error_not_a_panic() {
    let (_, endpoint) = fake_chime().await;
    let rooms = ChimeRooms::new(client(&endpoint), "us-east-1");
    let tenant = TenantKey::parse("demo").unwrap();
    let visit = VisitId::parse("v-1").unwrap();
    let pid = ParticipantId::parse("p-1").unwrap();
    // An endpoint that answers nothing Chime would: the adapter reports it.
    let rooms_down = ChimeRooms::new(client("http://127.0.0.1:9"), "us-east-1");
    let room = Room {
        tenant: &tenant,
        visit: &visit,
    };
    let attendee = Attendee {
        participant_id: &pid,
        seat: None,
    };
    assert!(rooms_down.open(room).await.is_err());
    assert!(rooms_down.join(room, attendee, 0).await.is_err());
    assert!(rooms.join(room, attendee, 0).await.is_ok());
}
