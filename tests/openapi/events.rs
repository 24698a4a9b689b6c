//! The events routes against the document: successful responses of the
//! webhook endpoints, their deliveries, the event list, redeliveries and
//! event queues validate against their schemas; `204`s have no body. (The
//! subscribe route's `101` and its frames are the stream tests'; here its
//! answer without an upgrade.)

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::responses::checked;
use crate::support::*;

pub async fn successes(w: &World, s: &Schemas) -> BTreeSet<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut call = async |route: (&'static str, &'static str), uri: &str, body: Option<Value>| {
        seen.insert((route.0.to_owned(), route.1.to_owned()));
        checked(w, s, route, uri, &[], body).await
    };
    let created = call(
        ("post", "/v2/webhook-endpoints"),
        "/v2/webhook-endpoints",
        Some(json!({"url": "http://127.0.0.1:9/hooks", "eventTypes": ["consultation.*"], "description": "PMS"})),
    )
    .await;
    let id = created["endpointId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let one = format!("/v2/webhook-endpoints/{id}");
    call(
        ("get", "/v2/webhook-endpoints"),
        "/v2/webhook-endpoints",
        None,
    )
    .await;
    call(("get", "/v2/webhook-endpoints/{endpointId}"), &one, None).await;
    call(
        ("patch", "/v2/webhook-endpoints/{endpointId}"),
        &one,
        Some(json!({"eventTypes": ["consultation.*", "followup.created"], "description": null})),
    )
    .await;
    call(
        ("post", "/v2/webhook-endpoints/{endpointId}/rotate-secret"),
        &format!("{one}/rotate-secret"),
        None,
    )
    .await;
    // An event to list and redeliver: a consultation created.
    let r = send(
        &w.router,
        "post",
        "/v2/consultations",
        &[("api-key", w.demo.api_key.as_str())],
        Some(json!({"patient": {"keys": [{"subSystem": "pms", "key": "events-1"}], "firstName": "Ann", "lastName": "Lee"}})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let list = call(
        ("get", "/v2/events"),
        "/v2/events?limit=2&types=consultation.*",
        None,
    )
    .await;
    let event = list["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let after = list["nextCursor"].as_str().unwrap_or_default().to_owned();
    call(
        ("get", "/v2/events"),
        &format!("/v2/events?after={after}"),
        None,
    )
    .await;
    let redelivered = call(
        ("post", "/v2/events/{eventId}/redeliver"),
        &format!("/v2/events/{event}/redeliver?endpointId={id}"),
        None,
    )
    .await;
    assert_eq!(redelivered["deliveries"][0]["status"], "pending");
    call(
        ("get", "/v2/webhook-endpoints/{endpointId}/deliveries"),
        &format!("{one}/deliveries?limit=5"),
        None,
    )
    .await;
    call(
        ("post", "/v2/event-queues"),
        "/v2/event-queues",
        Some(json!({"queueName": "pms", "eventTypes": ["consultation.*"]})),
    )
    .await;
    call(("get", "/v2/event-queues"), "/v2/event-queues", None).await;
    call(
        ("get", "/v2/event-queues/{queueName}"),
        "/v2/event-queues/pms",
        None,
    )
    .await;

    let key = [("api-key", w.demo.api_key.as_str())];
    for (template, uri) in [
        (
            "/v2/event-queues/{queueName}",
            "/v2/event-queues/pms".to_owned(),
        ),
        ("/v2/webhook-endpoints/{endpointId}", one.clone()),
    ] {
        let r = send(&w.router, "delete", &uri, &key, None).await;
        assert_eq!(r.status.as_u16(), 204, "DELETE {uri}: {}", r.text());
        assert!(r.body.is_empty(), "DELETE {uri}: a 204 has no body");
        assert!(s.documented_statuses("delete", template).contains(&204));
        seen.insert(("delete".to_owned(), template.to_owned()));
    }
    // Without an upgrade, the stream's path answers as the API does.
    let r = send(
        &w.router,
        "get",
        "/v2/events/subscribe?queue=pms",
        &key,
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text());
    assert_valid(
        &s.response_body("get", SUBSCRIBE, 400, "application/json"),
        &r.json(),
        "subscribe 400",
    );
    seen.insert(("get".to_owned(), SUBSCRIBE.to_owned()));
    seen
}
