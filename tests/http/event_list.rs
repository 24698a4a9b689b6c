//! `GET /v2/events`: every event of a test, oldest first, page by page,
//! with the ids the services returned (what the bus and the browser carry);
//! types filter; the cursor at the end gives what came since; a forged or
//! foreign cursor is a `400`; another franchise sees none of them.

use serde_json::Value;

use crate::delivering::spawn_delivering;
use crate::helpers::assert_error;

#[tokio::test]
async fn the_event_list_pages_through_every_event_in_order() {
    let d = spawn_delivering().await;
    let (_, first) = d.consultation_life("list-1").await;
    d.t.clock.advance_ms(1000);
    let (_, second) = d.consultation_life("list-2").await;
    let expected: Vec<String> = first
        .iter()
        .chain(&second)
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(expected.len(), 10);

    let mut seen: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let uri = match &after {
            Some(c) => format!("/v2/events?limit=3&after={c}"),
            None => "/v2/events?limit=3".to_owned(),
        };
        let r = d.t.get(&uri, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().cloned());
        after = page["nextCursor"].as_str().map(str::to_owned);
        assert!(after.is_some(), "a cursor, even at the end");
        if page["hasMore"] == false {
            break;
        }
    }
    let ids: Vec<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids, expected,
        "every event, oldest first, the services' ids"
    );
    for (body, event) in seen.iter().zip(first.iter().chain(&second)) {
        assert_eq!(
            body,
            &serde_json::to_value(event).unwrap(),
            "the bus body, unchanged"
        );
    }

    // The end cursor, later: what came since.
    let at_end = after.clone().unwrap();
    let r =
        d.t.get(&format!("/v2/events?after={at_end}"), &[])
            .await
            .json();
    assert_eq!(r["items"], Value::Array(vec![]));
    assert_eq!(
        r["nextCursor"].as_str(),
        Some(at_end.as_str()),
        "kept when nothing came"
    );
    let (_, third) = d.consultation_life("list-3").await;
    let r =
        d.t.get(&format!("/v2/events?after={at_end}"), &[])
            .await
            .json();
    let ids: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let want: Vec<String> = third.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(ids, want);

    // A type filter.
    let r =
        d.t.get("/v2/events?types=consultation.created", &[])
            .await
            .json();
    let created: Vec<&Value> = r["items"].as_array().unwrap().iter().collect();
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|e| e["operation"] == "create"));
    let r =
        d.t.get("/v2/events?types=followup.*,franchise.*", &[])
            .await
            .json();
    assert_eq!(r["items"], Value::Array(vec![]));
    assert_error(
        &d.t.get("/v2/events?types=pharmacy.*", &[]).await,
        400,
        "eventTypes: \"pharmacy.*\" is not a pattern (each eventTypes entry is a known event type (consultation.created…) or prefix.* of a known family (consultation, followup, franchise, visit, webhook))",
        "/v2/events",
    );

    // Cursors of another list or franchise, forged ones: 400.
    let bad = "cursor is invalid: pass the nextCursor of the same list unchanged";
    assert_error(
        &d.t.get("/v2/events?after=bm90IGpzb24", &[]).await,
        400,
        bad,
        "/v2/events",
    );
    let other_key = d.t.world.multi_franchise_api_key.clone();
    let other =
        d.t.get_as(
            &other_key,
            &format!("/v2/events?after={at_end}"),
            &[("x-tenant-key", "demo-2")],
        )
        .await;
    assert_error(&other, 400, bad, "/v2/events");
    let other =
        d.t.get_as(&other_key, "/v2/events", &[("x-tenant-key", "demo-2")])
            .await
            .json();
    assert_eq!(
        other["items"],
        Value::Array(vec![]),
        "another franchise sees none"
    );
    assert_error(
        &d.t.get("/v2/events?limit=0", &[]).await,
        400,
        "limit must be a whole number from 1 to 100",
        "/v2/events",
    );

    // Thirty days later, they are gone.
    d.t.clock.advance_ms(31 * 24 * 3600 * 1000);
    let r = d.t.get("/v2/events", &[]).await.json();
    assert_eq!(r["items"], Value::Array(vec![]));
}
