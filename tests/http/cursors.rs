//! Every list's cursor opens only where it came from: on the v2 lists of
//! consultations and follow-ups, and on the dashboards of the embedded
//! pages, a forged, truncated or foreign cursor (another list's, another
//! franchise's) is a `400` — in the error body on the API, in the page's
//! 400 state on a dashboard — never a `500`, never another page, never a
//! silently ignored cursor. The suite runs on both stores.

use serde_json::{Value, json};
use shared::services::lists::BAD_CURSOR;

use crate::helpers::*;
use crate::pages::{link, open};

fn patient(key: &str) -> Value {
    json!({"keys": [{"subSystem": "pms", "key": key}], "firstName": "Ann", "lastName": "Lee"})
}

/// `n` consultations and `n` follow-ups of `key`'s patient, made with `api_key`.
async fn fill(t: &TestApp, api_key: &str, key: &str, n: usize) {
    for _ in 0..n {
        t.clock.advance_ms(1000);
        let c = json!({"patient": patient(key), "reason": "uti"});
        let r = t.post_json_as(api_key, "/v2/consultations", &[], &c).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let f = json!({"patient": patient(key), "dueDate": "2026-03-01"});
        let r = t.post_json_as(api_key, "/v2/followups", &[], &f).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
}

/// The `nextCursor` of a first page.
async fn next_cursor(t: &TestApp, api_key: &str, uri: &str) -> String {
    let r = t.get_as(api_key, uri, &[]).await;
    assert_eq!(r.status, 200, "{uri}: {}", r.text());
    r.json()["nextCursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{uri} has a next page"))
        .to_owned()
}

/// The same cursor with one character changed, and cut short.
fn forged_and_truncated(cursor: &str) -> [String; 2] {
    let mut bytes = cursor.as_bytes().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(bytes).expect("ASCII");
    [forged, cursor[..cursor.len() - 5].to_owned()]
}

#[tokio::test]
async fn a_forged_truncated_or_foreign_cursor_is_400_on_every_list() {
    let t = spawn_app().await;
    let other_key = t.world.other_account_api_key.clone();
    let key = t.world.api_key.clone();
    fill(&t, &key, "p-1", 11).await;
    fill(&t, &other_key, "p-1", 2).await;

    for list in ["/v2/consultations", "/v2/followups"] {
        let mine = next_cursor(&t, &key, &format!("{list}?patientKey=p-1&limit=1")).await;
        let page = format!("{list}?patientKey=p-1&limit=1&cursor={mine}");
        assert_eq!(t.get(&page, &[]).await.status, 200, "{page}");
        let all = next_cursor(&t, &key, &format!("{list}?limit=1")).await;
        let foreign = next_cursor(&t, &other_key, &format!("{list}?limit=1")).await;
        let [forged, truncated] = forged_and_truncated(&mine);
        for (what, uri) in [
            ("forged", format!("{list}?patientKey=p-1&cursor={forged}")),
            (
                "truncated",
                format!("{list}?patientKey=p-1&cursor={truncated}"),
            ),
            (
                "another list's",
                format!("{list}?patientKey=p-1&cursor={all}"),
            ),
            (
                "another franchise's",
                format!("{list}?limit=1&cursor={foreign}"),
            ),
            ("not a cursor", format!("{list}?cursor=%7B%7D")),
        ] {
            let r = t.get(&uri, &[]).await;
            assert_eq!(r.status, 400, "{what} cursor on {list}: {}", r.text());
            assert_error(&r, 400, BAD_CURSOR, list);
        }
    }
    // The patient's consultations and follow-ups share an index partition:
    // still, one list's cursor does not continue the other.
    let c = next_cursor(&t, &key, "/v2/consultations?patientKey=p-1&limit=1").await;
    let r = t
        .get(&format!("/v2/followups?patientKey=p-1&cursor={c}"), &[])
        .await;
    assert_error(&r, 400, BAD_CURSOR, "/v2/followups");

    for (dashboard, other) in [
        ("consultation/dashboard", "followup/dashboard"),
        ("followup/dashboard", "consultation/dashboard"),
    ] {
        let url = t
            .get(
                &format!("/embeddable/{dashboard}?locale=en&scope=franchise"),
                &[],
            )
            .await
            .text();
        let s = open(&t, &url).await;
        let next = link(&s.html, "Next page").expect("a next page");
        let cursor = next.split("cursor=").nth(1).expect("a cursor").to_owned();
        assert_eq!(s.page(&t, &next).await.status, 200);
        let theirs = s.page(&t, &format!("{}/{other}", s.base)).await.text();
        let theirs = link(&theirs, "Next page").expect("a next page");
        let theirs = theirs.split("cursor=").nth(1).expect("a cursor").to_owned();
        let foreign = next_cursor(&t, &other_key, "/v2/consultations?limit=1").await;
        let [forged, truncated] = forged_and_truncated(&cursor);
        for (what, bad) in [
            ("forged", forged),
            ("truncated", truncated),
            ("another list's", theirs),
            ("another franchise's", foreign),
            ("not a cursor", "%7B%7D".to_owned()),
        ] {
            let r = s
                .page(&t, &format!("{}/{dashboard}?cursor={bad}", s.base))
                .await;
            assert_eq!(r.status, 400, "{what} cursor on {dashboard}: {}", r.text());
            let html = r.text();
            assert!(
                html.contains("This page of the list is not valid"),
                "{html}"
            );
            assert!(link(&html, "First page").is_some(), "{what}: a way back");
            assert!(!html.contains("details?"), "{what}: no rows");
        }
    }
}
