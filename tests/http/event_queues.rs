//! `/v2/event-queues`: create, list, read, delete; names and patterns
//! checked; one franchise's queues are invisible to another.

use http::Method;
use serde_json::json;

use crate::delivering::spawn_delivering;
use crate::helpers::assert_error;

#[tokio::test]
async fn event_queues_are_managed_through_the_api() {
    let d = spawn_delivering().await;
    let r =
        d.t.post_json(
            "/v2/event-queues",
            &[],
            &json!({"queueName": "pms", "eventTypes": ["consultation.*"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["queueName"], "pms");
    assert_eq!(r.json()["connected"], false);
    let r =
        d.t.post_json(
            "/v2/event-queues",
            &[],
            &json!({"queueName": "pms", "eventTypes": ["followup.*"]}),
        )
        .await;
    assert_error(
        &r,
        409,
        "An event queue pms already exists",
        "/v2/event-queues",
    );
    for (body, message) in [
        (
            json!({"queueName": "a b", "eventTypes": ["consultation.*"]}),
            "queueName is 1 to 64 letters, digits, '-' or '_'",
        ),
        (
            json!({"eventTypes": ["consultation.*"]}),
            "Invalid request: queueName is required",
        ),
        (
            json!({"queueName": "q2"}),
            "Invalid request: eventTypes is required",
        ),
    ] {
        assert_error(
            &d.t.post_json("/v2/event-queues", &[], &body).await,
            400,
            message,
            "/v2/event-queues",
        );
    }
    let list = d.t.get("/v2/event-queues", &[]).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let one = d.t.get("/v2/event-queues/pms", &[]).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["eventTypes"], json!(["consultation.*"]));
    let other =
        d.t.get_as(
            &d.t.world.other_account_api_key,
            "/v2/event-queues/pms",
            &[],
        )
        .await;
    assert_error(&other, 404, "Event queue not found", "/v2/event-queues/pms");
    assert_eq!(
        d.t.send_json(Method::DELETE, "/v2/event-queues/pms", None)
            .await
            .status,
        204
    );
    let gone = d.t.get("/v2/event-queues/pms", &[]).await;
    assert_error(&gone, 404, "Event queue not found", "/v2/event-queues/pms");
    let again =
        d.t.send_json(Method::DELETE, "/v2/event-queues/pms", None)
            .await;
    assert_error(&again, 404, "Event queue not found", "/v2/event-queues/pms");
}
