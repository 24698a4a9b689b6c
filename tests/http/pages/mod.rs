//! The embedded views and their actions, through HTTP as the page's script
//! uses them: load a launch URL, keep the session token, send it as a
//! bearer token on every later page and action. By what they check: the
//! walk through a consultation (`walk.rs`), the dashboards and statistics
//! (`dashboards.rs`), the actions and their events (`actions.rs`), who may
//! open what and the CSP (`access.rs`). Here: what they share.

mod access;
mod actions;
mod dashboards;
pub(crate) mod matrix;
mod patient;
mod walk;

use axum::body::Body;
use http::{Method, Request};
use serde_json::{Value, json};
use shared::domain::TenantKey;
use shared::store::Store;

use crate::helpers::*;

pub fn context(html: &str) -> Value {
    let start =
        html.find("id=\"embed-context\">").expect("context") + "id=\"embed-context\">".len();
    let end = start + html[start..].find("</script>").expect("end of context");
    serde_json::from_str(&html[start..end]).expect("context JSON")
}

/// An `href` as the browser reads it (askama escapes `&` and `/`).
pub fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#61;", "=")
}

/// The href of the link whose text is `label`.
pub fn link(html: &str, label: &str) -> Option<String> {
    let end = html.find(&format!(">{label}</a>"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    let href = &html[start..end];
    Some(unescape(&href[..href.find('"')?]))
}

/// A browser session of one iframe.
pub struct Session {
    pub token: String,
    /// `/{locale}/embed/franchise/{tenant}`.
    pub base: String,
    pub html: String,
    pub ctx: Value,
}

/// Opens a launch URL as the entry shell does (its script's `POST`).
pub async fn open(t: &TestApp, url: &str) -> Session {
    let r = t.redeem(url).await;
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    let html = r.text();
    let ctx = context(&html);
    let path = url.strip_prefix(BASE_URL).unwrap_or(url);
    let base = path.split('/').take(5).collect::<Vec<_>>().join("/");
    Session {
        token: ctx["sessionToken"]
            .as_str()
            .expect("session token")
            .to_owned(),
        base,
        html,
        ctx,
    }
}

impl Session {
    pub async fn page(&self, t: &TestApp, path: &str) -> Reply {
        let auth = format!("Bearer {}", self.token);
        t.load(path, &[("authorization", &auth)]).await
    }

    pub async fn view(&self, t: &TestApp, view: &str) -> Reply {
        self.page(t, &format!("{}/{view}", self.base)).await
    }

    pub async fn act(&self, t: &TestApp, action: &str, body: Value) -> Reply {
        act(t, &self.base, action, Some(&self.token), body).await
    }
}

pub async fn act(
    t: &TestApp,
    base: &str,
    action: &str,
    bearer: Option<&str>,
    body: Value,
) -> Reply {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(format!("{base}/actions/{action}"))
        .header("content-type", "application/json");
    if let Some(token) = bearer {
        b = b.header("authorization", format!("Bearer {token}"));
    }
    t.send(b.body(Body::from(body.to_string())).unwrap()).await
}

pub async fn start_url(t: &TestApp, key: &str, locale: &str) -> String {
    let r = t
        .post_json(
            "/embeddable/consultation/create",
            &[],
            &json!({"patient": {"keys": [{"subSystem": "pms", "key": key}],
                                "firstName": "Ann", "lastName": "Lee", "dateOfBirth": "1958-03-14",
                                "preferredLanguage": "EN"},
                    "locale": locale}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["iframeUrl"].as_str().unwrap().to_owned()
}

/// A consultation's status, as the vendor API reads it.
pub async fn status_of(t: &TestApp, consultation_id: &str) -> String {
    let r = t
        .get(&format!("/v2/consultations/{consultation_id}"), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["status"].as_str().unwrap().to_owned()
}

pub fn uti_answers() -> Value {
    json!([
        {"questionId": "symptoms", "value": ["burning", "urgency"]},
        {"questionId": "onset_days", "value": 2},
        {"questionId": "fever", "value": false},
        {"questionId": "back_pain", "value": false},
        {"questionId": "pregnant", "value": false},
        {"questionId": "recent_uti", "value": true},
    ])
}

/// Checks an event body against the `detail` of its JSON Schema: every
/// required field present, no field the schema does not know (also in
/// `data`), and the fixed values.
pub fn check_against_schema(event: &Value, schema_file: &str) {
    let path = format!(
        "{}/../events/schemas/{schema_file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let detail = &schema["properties"]["detail"];
    for (obj, s) in [
        (event, detail),
        (&event["data"], &detail["properties"]["data"]),
    ] {
        for req in s["required"].as_array().unwrap() {
            assert!(
                obj.get(req.as_str().unwrap()).is_some(),
                "{req} missing in {obj}"
            );
        }
        for key in obj.as_object().unwrap().keys() {
            assert!(
                s["properties"].get(key).is_some(),
                "{key} not in the schema"
            );
        }
    }
    for field in ["eventType", "operation", "status"] {
        if let Some(allowed) = detail["properties"][field]["enum"].as_array() {
            assert!(allowed.contains(&event[field]), "{field}: {event}");
        }
    }
    let envelope = json!({"source": "embedcare", "detail-type": schema["title"], "detail": event});
    let validator = jsonschema::validator_for(&schema).expect("schema");
    assert!(
        validator.is_valid(&envelope),
        "{event} against {schema_file}"
    );
    let id = event["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let at = event["createdAt"].as_str().unwrap();
    assert!(at.len() == 24 && at.ends_with('Z'), "{at}");
}

/// The event was written to the outbox, with the same id and body.
pub async fn assert_in_outbox(t: &TestApp, event: &Value) {
    let tenant = TenantKey::parse(event["tenantKey"].as_str().unwrap()).unwrap();
    let key = outbox_key(&tenant, event["id"].as_str().unwrap());
    let item = t.store.get(&key).await.unwrap().expect("outbox item");
    assert_eq!(item.attrs["detail"], *event);
}

/// The CSP of a page with data (framed by the franchise's allowed origins
/// only) and what it implies for the markup.
pub fn assert_clean_page(r: &Reply) {
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains(&format!("frame-ancestors {HOST_ORIGIN}")),
        "{csp}"
    );
    assert!(!csp.contains('*'), "{csp}");
    assert_clean_markup(r);
}

/// Our scripts and styles only: no inline code, no inline style; and
/// forms that never put what they hold in a query string.
pub fn assert_clean_markup(r: &Reply) {
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let html = r.text();
    assert!(!html.contains("style="), "inline style");
    assert!(!html.contains("<style"), "inline style element");
    // No event-handler attribute (` onclick=`, ` onload=`…).
    for (i, _) in html.match_indices(" on") {
        let name: String = html[i + 3..]
            .chars()
            .take_while(char::is_ascii_lowercase)
            .collect();
        assert!(
            name.is_empty() || !html[i + 3 + name.len()..].starts_with('='),
            "inline handler on{name}"
        );
    }
    let mut rest = html.as_str();
    while let Some(i) = rest.find("<script") {
        let tag_end = i + rest[i..].find('>').unwrap();
        let tag = &rest[i..tag_end];
        assert!(
            tag.contains("src=\"/embed/static/app.js\"")
                || tag.contains("type=\"application/json\""),
            "inline script: {tag}"
        );
        rest = &rest[tag_end..];
    }
    assert_forms_wait_for_the_script(&html);
}

/// Every form declares `method="post"` (without the script, what it holds
/// never lands in a query string), and every submit button is disabled
/// until the script is ready. Returns how many forms there are.
pub fn assert_forms_wait_for_the_script(html: &str) -> usize {
    let tags = |name: &str| -> Vec<String> {
        html.match_indices(&format!("<{name}"))
            .map(|(i, _)| html[i..i + html[i..].find('>').unwrap()].to_owned())
            .collect()
    };
    let forms = tags("form");
    for form in &forms {
        assert!(form.contains("method=\"post\""), "{form}");
    }
    for button in tags("button") {
        if button.contains("type=\"submit\"") {
            assert!(button.contains(" disabled"), "{button}");
        }
    }
    forms.len()
}
