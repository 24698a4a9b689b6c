//! The v2 resource API through HTTP: consultations and follow-ups
//! with the patient inline, read, list, cancel, embed URLs, and
//! `Idempotency-Key` on the creating `POST`s.

use axum::body::Body;
use futures::future::join_all;
use http::Method;
use serde_json::{Value, json};
use shared::domain::TenantKey;
use shared::store::{Key, Store, Write};
use std::sync::Arc;
use tower::ServiceExt;

use crate::helpers::*;

const CONSULTATIONS: &str = "/v2/consultations";
const FOLLOWUPS: &str = "/v2/followups";

fn patient(key: &str) -> Value {
    json!({"keys": [{"subSystem": "pms", "key": key}], "firstName": "Ann", "lastName": "Lee"})
}

fn tenant() -> TenantKey {
    TenantKey::parse("demo").unwrap()
}

/// Any call, so that the key and franchise caches are warm.
async fn warm(t: &TestApp) {
    let r = t.get("/v2/consultation-reasons", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    t.store.reset();
}

async fn create(t: &TestApp, body: Value) -> Value {
    let r = t.post_json(CONSULTATIONS, &[], &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// The ids of every item of a list, following `nextCursor` (pages of `limit`).
async fn all_pages(t: &TestApp, uri: &str, limit: usize, id: &str) -> (Vec<String>, Vec<usize>) {
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut u = format!("{uri}&limit={limit}");
        if let Some(c) = &cursor {
            u.push_str(&format!("&cursor={c}"));
        }
        let r = t.get(&u, &[]).await;
        assert_eq!(r.status, 200, "{u}: {}", r.text());
        let page = r.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        sizes.push(items.len());
        ids.extend(items.iter().map(|i| i[id].as_str().unwrap().to_owned()));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (ids, sizes),
        }
    }
    panic!("the list does not end");
}

/// The outbox items written since the last reset.
fn outbox_writes(t: &TestApp) -> Vec<shared::store::Item> {
    t.store
        .written()
        .into_iter()
        .filter_map(|w| match w {
            Write::Put { item, .. } if item.key.sk == "OUTBOX" => Some(item),
            _ => None,
        })
        .collect()
}

async fn stored(t: &TestApp, key: &Key) -> Option<shared::store::Item> {
    t.store.get(key).await.expect("store")
}

#[tokio::test]
async fn a_consultation_is_a_draft_without_reason_and_sent_with_one() {
    let t = spawn_app().await;
    warm(&t).await;
    let draft = create(
        &t,
        json!({"patient": patient("p-1"), "metadata": {"encounter": "A-1"}}),
    )
    .await;
    let c = &draft["consultation"];
    assert_eq!(c["status"], "DRAFT");
    assert_eq!(c["reasonCode"], Value::Null);
    assert_eq!(c["sentAt"], Value::Null);
    assert_eq!(c["metadata"], json!({"encounter": "A-1"}));
    assert_eq!(c["version"], 1);
    assert_eq!(c["createdAt"], "2026-01-01T00:00:00.000Z");
    assert_eq!(c["patientId"], draft["patientId"]);
    assert!(c.get("answers").is_none(), "answers only on GET one");
    let c = t.store.snapshot();
    assert!(c.round_trips() <= 2, "{c:?}");

    // The same patient (matched by key), sent at once: two round trips.
    t.store.reset();
    let sent = create(&t, json!({"patient": patient("p-1"), "reason": "uti"})).await;
    let calls = t.store.snapshot();
    assert_eq!((calls.batch_gets, calls.transactions), (1, 1), "{calls:?}");
    assert!(calls.round_trips() <= 2, "{calls:?}");
    assert_eq!(sent["patientId"], draft["patientId"]);
    assert_eq!(sent["consultation"]["status"], "SENT");
    assert_eq!(sent["consultation"]["reasonCode"], "uti");
    assert_eq!(sent["consultation"]["sentAt"], "2026-01-01T00:00:00.000Z");

    // A reason given but not sent; sending without a reason is a 400.
    let kept = create(
        &t,
        json!({"patient": patient("p-1"), "reason": "uti", "send": false}),
    )
    .await;
    assert_eq!(kept["consultation"]["status"], "DRAFT");
    let r = t
        .post_json(
            CONSULTATIONS,
            &[],
            &json!({"patient": patient("p-1"), "send": true}),
        )
        .await;
    assert_error(
        &r,
        400,
        "a consultation needs a reason before it is sent",
        CONSULTATIONS,
    );
    let r = t
        .post_json(
            CONSULTATIONS,
            &[],
            &json!({"patient": patient("p-1"), "reason": "nope"}),
        )
        .await;
    assert_error(
        &r,
        400,
        "reason is not a known consultation reason",
        CONSULTATIONS,
    );
    let r = t
        .post_json(CONSULTATIONS, &[], &json!({"reason": "uti"}))
        .await;
    assert_error(
        &r,
        400,
        "Invalid request: patient is required",
        CONSULTATIONS,
    );

    // GET one: the resource with its answers, in one round trip.
    let id = sent["consultation"]["consultationId"].as_str().unwrap();
    t.store.reset();
    let r = t.get(&format!("{CONSULTATIONS}/{id}"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(t.store.snapshot().round_trips() <= 2);
    let mut expected = sent["consultation"].clone();
    expected["answers"] = json!([]);
    assert_eq!(r.json(), expected);
    assert_eq!(r.header("cache-control"), "no-store");
}

#[tokio::test]
async fn a_creation_writes_its_outbox_event_in_the_same_transaction() {
    let t = spawn_app().await;
    warm(&t).await;
    let created = create(&t, json!({"patient": patient("p-1"), "reason": "uti"})).await;
    let id = created["consultation"]["consultationId"].as_str().unwrap();
    let outbox = outbox_writes(&t);
    assert_eq!(outbox.len(), 1);
    let event_id = outbox[0].key.pk.rsplit('#').next().unwrap();
    let item = stored(&t, &outbox_key(&tenant(), event_id))
        .await
        .expect("the outbox item exists");
    assert_eq!(item.get_str("detailType"), Some("Consultation Created"));
    assert_eq!(item.attrs["detail"]["data"]["consultationId"], id);
    assert_eq!(item.attrs["detail"]["status"], "SENT");
    assert_eq!(t.store.snapshot().transactions, 1);
}

#[tokio::test]
async fn lists_by_patient_and_status_page_with_a_cursor() {
    let t = spawn_app().await;
    let mut mine = Vec::new();
    for i in 0..7 {
        let body = if i % 2 == 0 {
            json!({"patient": patient("p-1"), "reason": "uti"})
        } else {
            json!({"patient": patient("p-1")})
        };
        let c = create(&t, body).await;
        mine.push(
            c["consultation"]["consultationId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        t.clock.advance_ms(1);
    }
    let other = create(&t, json!({"patient": patient("p-2"), "reason": "uti"})).await;
    let patient_id = other["patientId"].as_str().unwrap().to_owned();

    // By key: newest first, pages of 3, 3 and 1.
    let (ids, sizes) = all_pages(
        &t,
        "/v2/consultations?patientKey=p-1&subSystem=pms",
        3,
        "consultationId",
    )
    .await;
    assert_eq!(sizes, [3, 3, 1]);
    let mut newest_first = mine.clone();
    newest_first.reverse();
    assert_eq!(ids, newest_first);
    // A warm page costs at most two round trips (the key's index item, the query).
    t.store.reset();
    assert_eq!(
        t.get("/v2/consultations?patientKey=p-1&limit=3", &[])
            .await
            .status,
        200
    );
    assert!(
        t.store.snapshot().round_trips() <= 2,
        "{:?}",
        t.store.snapshot()
    );

    // By status, across the franchise: 4 SENT of p-1 and 1 of p-2.
    let (ids, sizes) = all_pages(&t, "/v2/consultations?status=SENT", 3, "consultationId").await;
    assert_eq!(ids.len(), 5, "{sizes:?}");
    assert_eq!(ids[0], other["consultation"]["consultationId"]);
    let (ids, _) = all_pages(&t, "/v2/consultations?status=draft", 2, "consultationId").await;
    assert_eq!(ids.len(), 3);
    // By patient id and status.
    let r = t
        .get(
            &format!("/v2/consultations?patientId={patient_id}&status=SENT"),
            &[],
        )
        .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["nextCursor"], Value::Null);

    // Errors.
    for (uri, message) in [
        (
            "/v2/consultations?status=PLANNED",
            "status is not a status of this resource",
        ),
        (
            "/v2/consultations?limit=0",
            "limit must be a whole number from 1 to 100",
        ),
        (
            "/v2/consultations?subSystem=pms",
            "subSystem needs patientKey",
        ),
        (
            "/v2/consultations?patientKey=a&patientId=b",
            "Give patientKey or patientId, not both",
        ),
    ] {
        assert_error(&t.get(uri, &[]).await, 400, message, CONSULTATIONS);
    }
    let r = t.get("/v2/consultations?patientKey=nobody", &[]).await;
    assert_error(&r, 404, "No patient has this patientKey", CONSULTATIONS);
}

#[tokio::test]
async fn a_bad_or_foreign_cursor_is_400() {
    let t = spawn_app().await;
    for _ in 0..3 {
        create(&t, json!({"patient": patient("p-1")})).await;
        create(&t, json!({"patient": patient("p-2")})).await;
    }
    let page = t
        .get("/v2/consultations?patientKey=p-1&limit=1", &[])
        .await
        .json();
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();
    // It works where it belongs...
    let r = t
        .get(
            &format!("/v2/consultations?patientKey=p-1&limit=1&cursor={cursor}"),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // ...and nowhere else.
    let message = "cursor is invalid: pass the nextCursor of the same list unchanged";
    for uri in [
        "/v2/consultations?cursor=not%20base64!".to_owned(),
        "/v2/consultations?cursor=bm90IGpzb24".to_owned(),
        format!("/v2/consultations?patientKey=p-2&cursor={cursor}"),
        format!("/v2/consultations?cursor={cursor}"),
        format!("/v2/followups?patientKey=p-1&cursor={cursor}"),
    ] {
        let r = t.get(&uri, &[]).await;
        let path = uri.split('?').next().unwrap();
        assert_error(&r, 400, message, path);
    }
    // Another account's cursor does not page here.
    let other = t.world.other_account_api_key.clone();
    for _ in 0..2 {
        let r = t
            .post_json_as(
                &other,
                CONSULTATIONS,
                &[],
                &json!({"patient": patient("p-1")}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let foreign = t
        .get_as(&other, "/v2/consultations?limit=1", &[])
        .await
        .json();
    let foreign = foreign["nextCursor"].as_str().unwrap();
    let r = t
        .get(&format!("/v2/consultations?limit=1&cursor={foreign}"), &[])
        .await;
    assert_error(&r, 400, message, CONSULTATIONS);
}

#[tokio::test]
async fn cancel_follows_the_state_machine() {
    let t = spawn_app().await;
    warm(&t).await;
    let c = create(&t, json!({"patient": patient("p-1")})).await;
    let id = c["consultation"]["consultationId"].as_str().unwrap();
    let path = format!("{CONSULTATIONS}/{id}/cancel");
    t.store.reset();
    let r = t.post_json(&path, &[], &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(t.store.snapshot().round_trips() <= 2);
    let cancelled = r.json();
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["version"], 2);
    let events = outbox_writes(&t);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].get_str("detailType"),
        Some("Consultation Updated")
    );
    assert_eq!(events[0].attrs["detail"]["data"]["previousStatus"], "DRAFT");

    // Without a body too; a second cancel is illegal.
    let req = TestApp::request(Method::POST, &path, &t.world.api_key, &[])
        .body(Body::empty())
        .unwrap();
    let r = t.send(req).await;
    assert_error(
        &r,
        409,
        "A CANCELLED consultation cannot become CANCELLED",
        &path,
    );
    let r = t.get(&format!("{CONSULTATIONS}/{id}"), &[]).await;
    assert_eq!(r.json()["status"], "CANCELLED");
    let r = t
        .post_json("/v2/consultations/nope/cancel", &[], &json!({}))
        .await;
    assert_error(
        &r,
        404,
        "Consultation not found",
        "/v2/consultations/nope/cancel",
    );
}

#[tokio::test]
async fn follow_ups_are_created_read_listed_and_cancelled() {
    let t = spawn_app().await;
    warm(&t).await;
    let c = create(
        &t,
        json!({"patient": patient("p-1"), "reason": "blood-pressure"}),
    )
    .await;
    let cid = c["consultation"]["consultationId"].as_str().unwrap();
    t.store.reset();
    let r = t
        .post_json(
            FOLLOWUPS,
            &[],
            &json!({"patient": patient("p-1"), "reason": "blood-pressure", "dueDate": "2026-02-15",
                    "frequency": "weekly", "notes": "Check BP", "consultationId": cid,
                    "metadata": {"plan": 7}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(
        t.store.snapshot().round_trips() <= 2,
        "{:?}",
        t.store.snapshot()
    );
    let created = r.json();
    let f = &created["followup"];
    assert_eq!(f["status"], "PLANNED");
    assert_eq!(f["consultationId"], cid);
    assert_eq!(f["dueDate"], "2026-02-15");
    assert_eq!(f["frequency"], "weekly");
    assert_eq!(f["doneAt"], Value::Null);
    assert_eq!(created["patientId"], c["patientId"]);
    let events = outbox_writes(&t);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].get_str("detailType"), Some("Followup Created"));
    let fid = f["followupId"].as_str().unwrap();

    let r = t.get(&format!("{FOLLOWUPS}/{fid}"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut expected = f.clone();
    expected["answers"] = json!([]);
    assert_eq!(r.json(), expected);

    // Three more (frequency defaults to once), pages of 3.
    for _ in 0..3 {
        t.clock.advance_ms(1);
        let r = t
            .post_json(
                FOLLOWUPS,
                &[],
                &json!({"patient": patient("p-1"), "dueDate": "2026-03-01"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["followup"]["frequency"], "once");
    }
    let (ids, sizes) = all_pages(&t, "/v2/followups?patientKey=p-1", 3, "followupId").await;
    assert_eq!(sizes, [3, 1]);
    assert_eq!(ids[3], fid);

    let path = format!("{FOLLOWUPS}/{fid}/cancel");
    let r = t.post_json(&path, &[], &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "CANCELLED");
    let r = t.post_json(&path, &[], &json!({})).await;
    assert_error(
        &r,
        409,
        "A CANCELLED follow-up cannot become CANCELLED",
        &path,
    );
    let (ids, _) = all_pages(&t, "/v2/followups?status=CANCELLED", 3, "followupId").await;
    assert_eq!(ids, [fid]);

    // Errors: the consultation of another patient, a missing or bad date.
    let r = t
        .post_json(
            FOLLOWUPS,
            &[],
            &json!({"patient": patient("p-2"), "dueDate": "2026-02-15", "consultationId": cid}),
        )
        .await;
    assert_error(
        &r,
        404,
        "Consultation not found for this patient",
        FOLLOWUPS,
    );
    let r = t
        .post_json(FOLLOWUPS, &[], &json!({"patient": patient("p-1")}))
        .await;
    assert_error(&r, 400, "Invalid request: dueDate is required", FOLLOWUPS);
    let r = t
        .post_json(
            FOLLOWUPS,
            &[],
            &json!({"patient": patient("p-1"), "dueDate": "15/02/2026"}),
        )
        .await;
    assert_error(
        &r,
        400,
        "dueDate must be a date written YYYY-MM-DD",
        FOLLOWUPS,
    );
    let r = t.get("/v2/followups/nope", &[]).await;
    assert_error(&r, 404, "Follow-up not found", "/v2/followups/nope");
    let r = t.get("/v2/followups?status=SENT", &[]).await;
    assert_error(
        &r,
        400,
        "status is not a status of this resource",
        FOLLOWUPS,
    );
}

#[tokio::test]
async fn embed_urls_open_once_and_are_scoped() {
    let t = spawn_app().await;
    let c = create(&t, json!({"patient": patient("p-1"), "reason": "uti"})).await;
    let cid = c["consultation"]["consultationId"].as_str().unwrap();
    let pid = c["patientId"].as_str().unwrap();
    let f = t
        .post_json(
            FOLLOWUPS,
            &[],
            &json!({"patient": patient("p-1"), "dueDate": "2026-02-15"}),
        )
        .await
        .json();
    let fid = f["followup"]["followupId"].as_str().unwrap();

    for (path, id_field, id, view) in [
        (
            "/v2/embed/consultation/answer",
            "consultationId",
            cid,
            "consultation/answer",
        ),
        (
            "/v2/embed/consultation/details",
            "consultationId",
            cid,
            "consultation/details",
        ),
        (
            "/v2/embed/followup/answer",
            "followupId",
            fid,
            "followup/answer",
        ),
        (
            "/v2/embed/followup/details",
            "followupId",
            fid,
            "followup/details",
        ),
    ] {
        t.store.reset();
        let r = t
            .post_json(
                path,
                &[],
                &json!({id_field: id, "locale": "en", "user": {"userId": "emp-7"}}),
            )
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(t.store.snapshot().round_trips() <= 2, "{path}");
        let body = r.json();
        assert_eq!(body["userId"], "emp-7");
        let url = body["iframeUrl"].as_str().unwrap();
        assert!(
            url.starts_with(&format!(
                "{BASE_URL}/en/embed/franchise/demo/{view}?session="
            )),
            "{url}"
        );
        assert!(!url.contains(id) && !url.contains(pid), "{url}");
        let page = t.redeem(url).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        let html = page.text();
        assert!(
            html.contains(id),
            "{path}: the page is scoped to {id_field}"
        );
        assert!(html.contains(pid), "{path}: and to its patient");
        assert_eq!(t.redeem(url).await.status, 410, "{path}: single-use");

        // Unknown here (or another account's): 404; missing: 400.
        let r = t.post_json(path, &[], &json!({id_field: "nope"})).await;
        assert_eq!(r.status, 404, "{path}");
        let r = t.post_json(path, &[], &json!({"locale": "en"})).await;
        assert_error(&r, 400, &format!("{id_field} is required"), path);
        let r = t
            .post_json_as(
                &t.world.other_account_api_key,
                path,
                &[],
                &json!({id_field: id}),
            )
            .await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
    }
}

#[tokio::test]
async fn another_accounts_resources_are_404() {
    let t = spawn_app().await;
    let other = t.world.other_account_api_key.clone();
    let r = t
        .post_json_as(
            &other,
            CONSULTATIONS,
            &[],
            &json!({"patient": patient("p-1")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let theirs = r.json();
    let cid = theirs["consultation"]["consultationId"].as_str().unwrap();
    let r = t
        .post_json_as(
            &other,
            FOLLOWUPS,
            &[],
            &json!({"patient": patient("p-1"), "dueDate": "2026-02-15"}),
        )
        .await;
    let fid = r.json()["followup"]["followupId"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = t.get(&format!("{CONSULTATIONS}/{cid}"), &[]).await;
    assert_error(
        &r,
        404,
        "Consultation not found",
        &format!("{CONSULTATIONS}/{cid}"),
    );
    let r = t
        .post_json(&format!("{CONSULTATIONS}/{cid}/cancel"), &[], &json!({}))
        .await;
    assert_eq!(r.status, 404);
    let r = t.get(&format!("{FOLLOWUPS}/{fid}"), &[]).await;
    assert_eq!(r.status, 404);
    let r = t
        .post_json(&format!("{FOLLOWUPS}/{fid}/cancel"), &[], &json!({}))
        .await;
    assert_eq!(r.status, 404);
    // Their patient id lists nothing here; their key value is unknown here.
    let pid = theirs["patientId"].as_str().unwrap();
    let r = t
        .get(&format!("{CONSULTATIONS}?patientId={pid}"), &[])
        .await;
    assert_eq!(r.json(), json!({"items": [], "nextCursor": null}));
    assert_eq!(
        t.get("/v2/consultations?patientKey=p-1", &[]).await.status,
        404
    );
    // A follow-up here may not refer to their consultation.
    let r = t
        .post_json(
            FOLLOWUPS,
            &[],
            &json!({"patient": patient("p-1"), "dueDate": "2026-02-15", "consultationId": cid}),
        )
        .await;
    assert_eq!(r.status, 404);
    // And they still have theirs, untouched.
    let r = t
        .get_as(&other, &format!("{CONSULTATIONS}/{cid}"), &[])
        .await;
    assert_eq!(r.json()["status"], "DRAFT");
}

#[tokio::test]
async fn the_reason_catalogue_is_bilingual() {
    let t = spawn_app().await;
    let r = t.get("/v2/consultation-reasons", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let reasons = r.json()["reasons"].as_array().unwrap().clone();
    let uti = reasons.iter().find(|r| r["code"] == "uti").expect("uti");
    for field in ["title", "description"] {
        assert!(uti[field]["en"].is_string() && uti[field]["fr"].is_string());
    }
    assert!(uti["category"].is_string());
    assert!(!uti["questions"].as_array().unwrap().is_empty());
    let r = t
        .get_as(
            "ek_0123456789abcdef_notTheRightSecretAtAll0123",
            "/v2/consultation-reasons",
            &[],
        )
        .await;
    assert_error(&r, 401, "Authentication failed", "/v2/consultation-reasons");
}

// ---- Idempotency-Key ----------------------------------------------------------

async fn count(t: &TestApp, uri: &str) -> usize {
    let r = t.get(uri, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_response() {
    let t = spawn_app().await;
    let key = [("Idempotency-Key", "order-42")];
    let body = json!({"patient": patient("p-1"), "reason": "uti", "metadata": {"a": 1, "b": 2}});
    let first = t.post_json(CONSULTATIONS, &key, &body).await;
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(outbox_writes(&t).len(), 1);
    assert_eq!(first.header("idempotent-replayed"), "");

    // The same request (its fields in another order): the same answer,
    // in one round trip, writing nothing.
    t.clock.advance_ms(5_000);
    t.store.reset();
    let reordered =
        json!({"metadata": {"b": 2, "a": 1}, "reason": "uti", "patient": patient("p-1")});
    let again = t.post_json(CONSULTATIONS, &key, &reordered).await;
    assert_eq!(again.status, first.status);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.header("content-type"), "application/json");
    let calls = t.store.snapshot();
    assert_eq!(calls.round_trips(), 1, "{calls:?}");
    assert!(t.store.written().is_empty());
    assert_eq!(count(&t, "/v2/consultations?patientKey=p-1").await, 1);

    // The same key with another body, another path or another user: 422.
    for (path, headers, b) in [
        (
            CONSULTATIONS,
            vec![key[0]],
            json!({"patient": patient("p-1"), "reason": "allergic-rhinitis"}),
        ),
        (
            FOLLOWUPS,
            vec![key[0]],
            json!({"patient": patient("p-1"), "dueDate": "2026-02-15"}),
        ),
        (
            CONSULTATIONS,
            vec![
                key[0],
                ("x-integration-user", "eyJ1c2VySWQiOiJlbXA0NTYifQ=="),
            ],
            body.clone(),
        ),
    ] {
        let r = t.post_json(path, &headers, &b).await;
        assert_error(
            &r,
            422,
            "This Idempotency-Key was already used with another request",
            path,
        );
    }
    assert_eq!(count(&t, "/v2/consultations?patientKey=p-1").await, 1);
    assert_eq!(count(&t, "/v2/followups?patientKey=p-1").await, 0);

    // Keys are per franchise: the other account's same key is its own.
    let r = t
        .post_json_as(&t.world.other_account_api_key, CONSULTATIONS, &key, &body)
        .await;
    assert_eq!(r.status, 201);
    assert_ne!(r.body, first.body);

    // A malformed key is a 400, and creates nothing.
    let long = "k".repeat(256);
    for bad in [long.as_str(), " "] {
        let r = t
            .post_json(CONSULTATIONS, &[("Idempotency-Key", bad)], &body)
            .await;
        assert_error(
            &r,
            400,
            "Idempotency-Key must be 1 to 255 printable characters",
            CONSULTATIONS,
        );
    }
    // A failed request records nothing: fixing it under the same key works.
    let k2 = [("Idempotency-Key", "order-43")];
    let r = t
        .post_json(FOLLOWUPS, &k2, &json!({"patient": patient("p-1")}))
        .await;
    assert_eq!(r.status, 400);
    let r = t
        .post_json(
            FOLLOWUPS,
            &k2,
            &json!({"patient": patient("p-1"), "dueDate": "2026-02-15"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let replay = t
        .post_json(
            FOLLOWUPS,
            &k2,
            &json!({"patient": patient("p-1"), "dueDate": "2026-02-15"}),
        )
        .await;
    assert_eq!(replay.body, r.body);
    assert_eq!(count(&t, "/v2/followups?patientKey=p-1").await, 1);
}

#[tokio::test]
async fn concurrent_duplicates_create_exactly_once() {
    let t = if on_dynamodb() {
        let clock = shared::clock::ManualClock::new(START_MS);
        let (moto, _) = crate::dynamo::store(Arc::new(clock.clone())).await;
        spawn_app_on(crate::dynamo::serialized(moto), clock).await
    } else {
        spawn_app().await
    };
    let body = json!({"patient": patient("p-9"), "reason": "uti"}).to_string();
    let tasks = (0..10).map(|_| {
        let router = t.router.clone();
        let key = t.world.api_key.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let req = TestApp::request(
                Method::POST,
                CONSULTATIONS,
                &key,
                &[("Idempotency-Key", "same")],
            )
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
            let res = router.oneshot(req).await.unwrap();
            let status = res.status();
            let bytes = http_body_util::BodyExt::collect(res.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, bytes)
        })
    });
    let replies: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (status, bytes) in &replies {
        assert_eq!(status.as_u16(), 201, "{}", String::from_utf8_lossy(bytes));
        assert_eq!(bytes, &replies[0].1, "every answer is the first one");
    }
    assert_eq!(count(&t, "/v2/consultations?patientKey=p-9").await, 1);
    let created = outbox_writes(&t);
    let landed = {
        let mut n = 0;
        for item in &created {
            n += usize::from(stored(&t, &item.key).await.is_some());
        }
        n
    };
    assert_eq!(landed, 1, "exactly one outbox event");
}

#[tokio::test]
async fn an_expired_record_lets_the_key_create_again() {
    let t = spawn_app().await;
    let key = [("Idempotency-Key", "daily-run")];
    let body = json!({"patient": patient("p-1")});
    let first = t.post_json(CONSULTATIONS, &key, &body).await.json();
    t.clock.advance_ms(24 * 3600 * 1000 - 2_000);
    let replay = t.post_json(CONSULTATIONS, &key, &body).await;
    assert_eq!(replay.json(), first);
    t.clock.advance_ms(3_000);
    let r = t.post_json(CONSULTATIONS, &key, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("idempotent-replayed"), "");
    let second = r.json();
    assert_ne!(
        second["consultation"]["consultationId"],
        first["consultation"]["consultationId"]
    );
    assert_eq!(second["patientId"], first["patientId"]);
    assert_eq!(count(&t, "/v2/consultations?patientKey=p-1").await, 2);
    // And the new record answers the next retry.
    let again = t.post_json(CONSULTATIONS, &key, &body).await;
    assert_eq!(again.json(), second);
}

/// The archiving rule: a follow-up DONE for two days becomes ARCHIVED — with its
/// event — the next time anyone reads it (one, or a list).
#[tokio::test]
async fn a_follow_up_done_for_two_days_is_archived() {
    use shared::domain::{FollowupId, FollowupStatus};
    use shared::services::followups;

    let t = spawn_app().await;
    let r = t
        .post_json(
            FOLLOWUPS,
            &[],
            &json!({"patient": patient("p-arch"), "dueDate": "2026-01-10"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["followup"]["followupId"]
        .as_str()
        .unwrap()
        .to_owned();
    let fid = FollowupId::parse(&id).unwrap();
    followups::move_followup(&t.app, &tenant(), &fid, FollowupStatus::Done, None)
        .await
        .unwrap();

    t.clock.advance_ms(2 * 24 * 3600 * 1000 - 1000);
    let r = t.get(&format!("{FOLLOWUPS}/{id}"), &[]).await;
    assert_eq!(r.json()["status"], "DONE", "{}", r.text());

    t.store.reset();
    t.clock.advance_ms(1000);
    let r = t.get(&format!("{FOLLOWUPS}/{id}"), &[]).await;
    assert_eq!(r.json()["status"], "ARCHIVED", "{}", r.text());
    let events = outbox_writes(&t);
    assert_eq!(events.len(), 1, "one event for the archiving");
    assert_eq!(events[0].attrs["detail"]["status"], "ARCHIVED");
    assert_eq!(events[0].attrs["detail"]["data"]["previousStatus"], "DONE");
    // Read again: already archived, nothing more is written.
    t.store.reset();
    let r = t.get(&format!("{FOLLOWUPS}/{id}"), &[]).await;
    assert_eq!(r.json()["status"], "ARCHIVED");
    assert!(outbox_writes(&t).is_empty());
}
