//! The `visit-live` binary as Lambda runs it, on moto: the visit WebSocket
//! API's `$connect` lets in the visit's patient (a browser's subprotocol
//! token) and provider (the API key) and refuses the others with their
//! status; `$default` stores a chat message and posts it to both
//! connections, answers `sync` and `ping` to the sender, through moto's
//! API Gateway Management API; `$disconnect` removes the connection's
//! items; a move written by another function (here in process, with the
//! same adapter) is posted to the connection that is left. Presence: the
//! provider's arrival is posted to the patient (`presence`), the `ready`
//! frame lists both with `you`, a `ping` beats, the patient's
//! `$disconnect` is posted to the provider as `DISCONNECTED`; a guest
//! dismissed through the API is told, deleted (`DeleteConnection`) and
//! the others get their `DISMISSED`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shared::app::Ports;
use shared::clock::SystemClock;
use shared::delivery::apigw::ApiGatewayConnections;
use shared::domain::{TenantKey, VisitId};
use shared::services::clinic::fanout;
use shared::services::demo;
use shared::{App, AppState, Config};
use tower::ServiceExt;

use super::events::{Recorder, server};
use super::{BASE_URL, Function, build, dynamo, sdk_config};

async fn call(
    app: &AppState,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Value {
    let mut b = axum::http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(j) => b
            .header("content-type", "application/json")
            .body(Body::from(j.to_string())),
        None => b.body(Body::empty()),
    }
    .unwrap();
    let res = shared::http::app_router(app.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

async fn sso(app: &AppState, key: &str, k: &str) -> String {
    let body = json!({"patient": {"keys": [{"subSystem": "portal", "key": k}], "firstName": "Ana", "lastName": "Lopez"}});
    let r = call(
        app,
        Method::POST,
        "/v2/patients/sso",
        &[("api-key", key)],
        Some(body),
    )
    .await;
    r["token"]["token"].as_str().unwrap().to_owned()
}

fn ws_event(
    route: &str,
    connection: &str,
    headers: Value,
    query: Value,
    body: Option<&str>,
) -> Value {
    json!({
        "requestContext": {
            "routeKey": route, "connectionId": connection, "eventType": route.trim_start_matches('$').to_uppercase(),
            "domainName": "live.execute-api.us-east-1.amazonaws.com", "stage": "live",
            "apiId": "live", "requestId": format!("ws-{connection}"), "connectedAt": 1_795_327_200_000_i64
        },
        "headers": headers,
        "queryStringParameters": query,
        "body": body,
        "isBase64Encoded": false
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visit_socket_runs_on_the_websocket_api_s_events_and_posts_through_moto() {
    let bins = build(&["visit-live"]);
    let (store, _) = dynamo::store(Arc::new(SystemClock)).await;
    let table = store.table().to_owned();
    // The Management API: moto, behind a recorder that keeps the frames.
    let frames = Recorder {
        forward: Some(dynamo::endpoint().to_owned()),
        ..Recorder::default()
    };
    let endpoint = server(frames.clone()).await;
    let mut config = Config::new(BASE_URL);
    config.secret = shared::crypto::Secret::new(super::SECRET.as_bytes().to_vec()).unwrap();
    let ports = Ports {
        visit_live: Some(Arc::new(ApiGatewayConnections::new(
            &sdk_config(),
            &endpoint,
        ))),
        ..Ports::default()
    };
    let app = App::with_ports(Arc::new(store), Arc::new(SystemClock), config, ports);
    let world = demo::seed(&app, &[]).await.unwrap();
    let key = world.api_key.as_str();
    let token = sso(&app, key, "lambda-live-1").await;
    let bearer = format!("Bearer {token}");
    let intake = call(
        &app,
        Method::POST,
        "/v2/intakes",
        &[("authorization", &bearer)],
        Some(json!({"reasonForVisit": "Cough", "type": "WALKIN", "roomCode": "clinic"})),
    )
    .await;
    let visit = call(
        &app,
        Method::POST,
        "/v2/visits/walkin",
        &[("authorization", &bearer)],
        Some(json!({"intakeId": intake["intakeId"]})),
    )
    .await;
    let id = visit["visitId"].as_str().unwrap().to_owned();
    let doctor = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        json!({"userId": "dr-nguyen"}).to_string(),
    );
    call(
        &app,
        Method::POST,
        &format!("/v2/visits/{id}/start"),
        &[("api-key", key), ("x-integration-user", &doctor)],
        None,
    )
    .await;

    let mut f = Function::start_with(
        &bins[0],
        &table,
        &[("EMBEDCARE_VISIT_LIVE_ENDPOINT", endpoint.as_str())],
    )
    .await;
    let q = json!({"visitId": id});
    let browser = json!({"Sec-WebSocket-Protocol": format!("embedcare.live.v1, bearer.{token}")});
    let r = f
        .invoke_raw(ws_event("$connect", "conn-p", browser, q.clone(), None))
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert_eq!(r["headers"]["Sec-WebSocket-Protocol"], "embedcare.live.v1");
    let provider = json!({"Api-Key": key, "x-integration-user": doctor});
    let r = f
        .invoke_raw(ws_event("$connect", "conn-d", provider, q.clone(), None))
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    // Another patient, no credentials: refused with their status.
    let other = sso(&app, key, "lambda-live-2").await;
    let r = f
        .invoke_raw(ws_event(
            "$connect",
            "conn-x",
            json!({"Authorization": format!("Bearer {other}")}),
            q.clone(),
            None,
        ))
        .await;
    assert_eq!(r["statusCode"], 404, "{r}");
    let r = f
        .invoke_raw(ws_event("$connect", "conn-y", json!({}), q.clone(), None))
        .await;
    assert_eq!(r["statusCode"], 401, "{r}");
    let tenant = TenantKey::parse("demo").unwrap();
    let visit_id = VisitId::parse(&id).unwrap();
    assert_eq!(
        fanout::connections(&app, &tenant, &visit_id)
            .await
            .unwrap()
            .len(),
        2
    );

    let posted = |conn: &str| -> Vec<Value> {
        frames
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == Method::POST && s.path == format!("/@connections/{conn}"))
            .map(|s| serde_json::from_slice(&s.body).unwrap())
            .collect()
    };
    // $default: sync and ping answer the sender; a chat reaches both.
    let r = f
        .invoke_raw(ws_event(
            "$default",
            "conn-p",
            json!({}),
            json!(null),
            Some(r#"{"type":"sync"}"#),
        ))
        .await;
    assert_eq!(r["statusCode"], 200);
    let r = f
        .invoke_raw(ws_event(
            "$default",
            "conn-p",
            json!({}),
            json!(null),
            Some(r#"{"type":"chat","text":"Hello doctor"}"#),
        ))
        .await;
    assert_eq!(r["statusCode"], 200);
    let r = f
        .invoke_raw(ws_event(
            "$default",
            "conn-p",
            json!({}),
            json!(null),
            Some(r#"{"type":"ping"}"#),
        ))
        .await;
    assert_eq!(r["statusCode"], 200);
    let to_p = posted("conn-p");
    // The provider's arrival, posted to the patient at their $connect.
    assert_eq!(to_p[0]["type"], "presence", "{to_p:?}");
    assert_eq!(to_p[0]["participant"]["participantType"], "PRACTITIONER");
    assert_eq!(to_p[0]["participant"]["status"], "JOINED");
    let doctor_id = to_p[0]["participant"]["participantId"].clone();
    assert_eq!(to_p[1]["type"], "ready");
    assert_eq!(to_p[1]["visit"]["status"], "IN_PROGRESS");
    let present = to_p[1]["participants"].as_array().unwrap();
    assert_eq!(present.len(), 2, "{present:?}");
    assert!(present.iter().all(|p| p["status"] == "JOINED"));
    let me = to_p[1]["you"].clone();
    assert!(me.is_string() && me != doctor_id, "{me}");
    assert_eq!(to_p[2]["type"], "chat");
    assert_eq!(to_p[3]["type"], "pong");
    let to_d = posted("conn-d");
    assert_eq!(to_d.len(), 1, "{to_d:?}");
    assert_eq!(to_d[0]["message"]["text"], "Hello doctor");
    assert_eq!(to_d[0]["message"]["author"], "PATIENT");
    // A frame of a connection that holds no visit.
    f.invoke_raw(ws_event(
        "$default",
        "conn-y",
        json!({}),
        json!(null),
        Some(r#"{"type":"ping"}"#),
    ))
    .await;
    assert_eq!(posted("conn-y")[0]["code"], 404);

    // A guest invited and in, then dismissed by the provider through the
    // API (a REST function's work, here in process with the same adapter):
    // their connection is told and deleted through the Management API, the
    // others told.
    let base = format!("/v2/visits/{id}/participants");
    let as_provider = [("api-key", key), ("x-integration-user", doctor.as_str())];
    let g = call(
        &app,
        Method::POST,
        &base,
        &as_provider,
        Some(json!({"participantType": "GUEST", "firstName": "Sam", "lastName": "Lee"})),
    )
    .await;
    let gid = g["participantId"].as_str().unwrap().to_owned();
    let inv = call(
        &app,
        Method::POST,
        &format!("{base}/{gid}/tokens"),
        &as_provider,
        None,
    )
    .await;
    let (session, _) = shared::services::clinic::participants::redeem(
        &app,
        inv["token"].as_str().unwrap(),
        &visit_id,
    )
    .await
    .unwrap();
    let guest = json!({"Authorization": format!("Bearer {}", session.token)});
    let r = f
        .invoke_raw(ws_event("$connect", "conn-g", guest, q.clone(), None))
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let joined = posted("conn-d");
    let last = joined.last().unwrap();
    assert_eq!(
        (
            last["type"].as_str(),
            last["participant"]["participantId"].as_str(),
            last["participant"]["status"].as_str()
        ),
        (Some("presence"), Some(gid.as_str()), Some("JOINED"))
    );
    call(
        &app,
        Method::POST,
        &format!("{base}/{gid}/dismiss"),
        &as_provider,
        None,
    )
    .await;
    assert_eq!(posted("conn-g").last().unwrap()["code"], 403);
    let deleted = frames
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.method == Method::DELETE && s.path == "/@connections/conn-g")
        .count();
    assert_eq!(deleted, 1, "the dismissed guest's connection deleted");
    for conn in ["conn-d", "conn-p"] {
        let seen = posted(conn);
        let last = seen.last().unwrap();
        assert_eq!(
            (
                last["participant"]["participantId"].as_str(),
                last["participant"]["status"].as_str()
            ),
            (Some(gid.as_str()), Some("DISMISSED")),
            "{conn}"
        );
    }
    assert_eq!(
        fanout::connections(&app, &tenant, &visit_id)
            .await
            .unwrap()
            .len(),
        2,
        "the guest's connection forgotten"
    );
    let before_d = posted("conn-d").len();
    let before_p = posted("conn-p").len();

    // $disconnect: the patient's items go; a move reaches the provider.
    let r = f
        .invoke_raw(ws_event(
            "$disconnect",
            "conn-p",
            json!({}),
            json!(null),
            None,
        ))
        .await;
    assert_eq!(r["statusCode"], 200);
    assert_eq!(
        fanout::connections(&app, &tenant, &visit_id)
            .await
            .unwrap()
            .len(),
        1
    );
    call(
        &app,
        Method::POST,
        &format!("/v2/visits/{id}/complete"),
        &[("api-key", key), ("x-integration-user", &doctor)],
        None,
    )
    .await;
    let to_d = posted("conn-d");
    assert_eq!(to_d.len(), before_d + 2, "{to_d:?}");
    // The patient's page closed: DISCONNECTED at once, posted to the provider.
    let gone = &to_d[before_d];
    assert_eq!(gone["type"], "presence");
    assert_eq!(gone["participant"]["participantId"], me);
    assert_eq!(gone["participant"]["status"], "DISCONNECTED");
    assert_eq!(
        (
            to_d[before_d + 1]["type"].as_str(),
            to_d[before_d + 1]["status"].as_str()
        ),
        (Some("visit"), Some("COMPLETED"))
    );
    assert_eq!(
        posted("conn-p").len(),
        before_p,
        "nothing more to the closed connection"
    );
}
