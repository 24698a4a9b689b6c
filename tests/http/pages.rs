//! The embedded views and their actions, through HTTP as the page's script
//! uses them: load a launch URL, keep the session token, send it as a
//! bearer token on every later page and action.

use axum::body::Body;
use http::{Method, Request};
use serde_json::{Value, json};
use shared::domain::TenantKey;
use shared::store::Store;

use crate::helpers::*;

fn context(html: &str) -> Value {
    let start =
        html.find("id=\"embed-context\">").expect("context") + "id=\"embed-context\">".len();
    let end = start + html[start..].find("</script>").expect("end of context");
    serde_json::from_str(&html[start..end]).expect("context JSON")
}

/// An `href` as the browser reads it (askama escapes `&` and `/`).
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#61;", "=")
}

/// The href of the link whose text is `label`.
fn link(html: &str, label: &str) -> Option<String> {
    let end = html.find(&format!(">{label}</a>"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    let href = &html[start..end];
    Some(unescape(&href[..href.find('"')?]))
}

/// A browser session of one iframe.
struct Session {
    token: String,
    /// `/{locale}/embed/franchise/{tenant}`.
    base: String,
    html: String,
    ctx: Value,
}

async fn open(t: &TestApp, url: &str) -> Session {
    let r = t.load(url, &[]).await;
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
    async fn page(&self, t: &TestApp, path: &str) -> Reply {
        let auth = format!("Bearer {}", self.token);
        t.load(path, &[("authorization", &auth)]).await
    }

    async fn view(&self, t: &TestApp, view: &str) -> Reply {
        self.page(t, &format!("{}/{view}", self.base)).await
    }

    async fn act(&self, t: &TestApp, action: &str, body: Value) -> Reply {
        act(t, &self.base, action, Some(&self.token), body).await
    }
}

async fn act(t: &TestApp, base: &str, action: &str, bearer: Option<&str>, body: Value) -> Reply {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(format!("{base}/actions/{action}"))
        .header("content-type", "application/json");
    if let Some(token) = bearer {
        b = b.header("authorization", format!("Bearer {token}"));
    }
    t.send(b.body(Body::from(body.to_string())).unwrap()).await
}

async fn start_url(t: &TestApp, key: &str, locale: &str) -> String {
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

fn uti_answers() -> Value {
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
fn check_against_schema(event: &Value, schema_file: &str) {
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
async fn assert_in_outbox(t: &TestApp, event: &Value) {
    let tenant = TenantKey::parse(event["tenantKey"].as_str().unwrap()).unwrap();
    let key = outbox_key(&tenant, event["id"].as_str().unwrap());
    let item = t.store.get(&key).await.unwrap().expect("outbox item");
    assert_eq!(item.attrs["detail"], *event);
}

/// The CSP and what it implies for the markup: no inline code, no inline
/// style.
fn assert_clean_page(r: &Reply) {
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("frame-ancestors {HOST_ORIGIN}")),
        "{csp}"
    );
    assert!(!csp.contains('*'), "{csp}");
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
}

#[tokio::test]
async fn seed_000_walk_through_the_pages() {
    let t = spawn_app().await;
    // The vendor asks for the start view; the employee's iframe opens it.
    let employee = open(&t, &start_url(&t, "patient123", "en").await).await;
    assert!(employee.html.contains("Ann Lee") && employee.html.contains("1958-03-14"));
    assert!(employee.html.contains("Urinary tract infection (cystitis)"));
    assert!(employee.html.contains("Send to the patient"));
    let patient_id = employee.ctx["ready"]["patientId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Create and send: SENT, and the event the page posts to the host.
    let r = employee
        .act(
            &t,
            "consultation.create",
            json!({"patientId": patient_id, "reason": "uti", "send": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let created = &body["events"][0];
    assert_eq!(body["events"].as_array().unwrap().len(), 1);
    check_against_schema(created, "consultation-created.json");
    assert_eq!(created["status"], "SENT");
    assert_eq!(created["operation"], "create");
    assert_eq!(created["data"]["patientId"], patient_id.as_str());
    assert_in_outbox(&t, created).await;
    let consultation_id = created["data"]["consultationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let location = body["location"].as_str().unwrap();
    assert_eq!(
        location,
        format!("/en/embed/franchise/demo/consultation/details?consultationId={consultation_id}")
    );
    let details = employee.page(&t, location).await;
    assert_eq!(details.status, 200);
    assert!(details.text().contains("Sent") && details.text().contains("Cancel the consultation"));
    assert_eq!(
        context(&details.text())["ready"]["consultationId"],
        consultation_id.as_str()
    );

    // The patient's answer link: the first display opens it (IN_PROGRESS).
    let url = t
        .get(
            "/embeddable/consultation/answer?patientKey=patient123&locale=en",
            &[],
        )
        .await
        .text();
    let patient = open(&t, &url).await;
    let opened = &patient.ctx["events"][0];
    assert_eq!(opened["status"], "IN_PROGRESS");
    assert_eq!(opened["data"]["previousStatus"], "SENT");
    check_against_schema(opened, "consultation-updated.json");
    assert_in_outbox(&t, opened).await;
    assert!(patient.html.contains("Which symptoms do you have?"));
    assert!(patient.html.contains("type=\"checkbox\""));
    assert!(patient.html.contains("type=\"number\""));
    assert!(!patient.html.contains("Signed in as"), "no employee header");
    // A reload shows the form again and moves nothing.
    let again = patient.view(&t, "consultation/answer").await;
    assert_eq!(context(&again.text())["events"], json!([]));

    // Answers: checked against the questionnaire, then TO_BE_ANALYZED.
    let r = patient
        .act(
            &t,
            "consultation.answer",
            json!({"consultationId": consultation_id, "answers": [{"questionId": "fever", "value": "hot"}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = patient
        .act(
            &t,
            "consultation.answer",
            json!({"consultationId": consultation_id, "answers": uti_answers()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answered = &r.json()["events"][0];
    assert_eq!(answered["status"], "TO_BE_ANALYZED");
    assert_eq!(answered["data"]["previousStatus"], "IN_PROGRESS");
    assert_in_outbox(&t, answered).await;
    let thanks = patient
        .page(&t, r.json()["location"].as_str().unwrap())
        .await;
    assert!(thanks.text().contains("Thank you"), "{}", thanks.text());

    // Seed 000, last step: the vendor opens the details for the patient.
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[],
            &json!({"patientKey": "patient123", "locale": "en"}),
        )
        .await;
    let details = open(&t, r.json()["iframeUrl"].as_str().unwrap()).await;
    for label in [
        "To be analysed",
        "Which symptoms do you have?",
        "Burning when urinating, Sudden urge to urinate",
        "For how many days have you had these symptoms?",
        "Have you had a urinary infection in the last 6 months?",
        "Mark as done",
    ] {
        assert!(details.html.contains(label), "{label}");
    }

    // The employee completes and archives it.
    let r = details
        .act(
            &t,
            "consultation.complete",
            json!({"consultationId": consultation_id, "summary": "Treated.\nFollow up in 3 days."}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["events"][0]["status"], "DONE");
    let done = details
        .page(&t, r.json()["location"].as_str().unwrap())
        .await;
    assert!(done.text().contains("Follow up in 3 days."));
    let r = details
        .act(
            &t,
            "consultation.archive",
            json!({"consultationId": consultation_id}),
        )
        .await;
    assert_eq!(r.json()["events"][0]["status"], "ARCHIVED");
}

#[tokio::test]
async fn a_page_renders_in_french_and_in_english() {
    let t = spawn_app().await;
    let en = open(&t, &start_url(&t, "p-en", "en").await).await;
    let fr = open(&t, &start_url(&t, "p-fr", "fr").await).await;
    assert!(en.html.contains("<html lang=\"en\">"));
    assert!(fr.html.contains("<html lang=\"fr\">"));
    for (s, words) in [
        (
            &en,
            [
                "Start a consultation",
                "Urinary tract infection (cystitis)",
                "Save as draft",
                "Date of birth",
            ],
        ),
        (
            &fr,
            [
                "Démarrer une consultation",
                "Infection urinaire (cystite)",
                "Enregistrer comme brouillon",
                "Date de naissance",
            ],
        ),
    ] {
        for w in words {
            assert!(s.html.contains(w), "{w}");
        }
    }
    assert!(!fr.html.contains("Save as draft"));
    // The same session in the other language: the URL's locale wins.
    let other = en
        .page(&t, "/fr/embed/franchise/demo/statistics/dashboard")
        .await;
    assert_eq!(other.status, 200);
    assert!(other.text().contains("Consultations par statut"));
}

#[tokio::test]
async fn the_dashboard_filters_by_status_and_pages_with_a_cursor() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    for i in 0..12 {
        t.clock.advance_ms(1000);
        let r = s
            .act(
                &t,
                "consultation.create",
                json!({"patientId": patient_id, "reason": "uti", "send": i % 3 != 0}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // Another patient's consultation.
    let other = open(&t, &start_url(&t, "p-2", "en").await).await;
    let other_patient = other.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    let r = other
        .act(
            &t,
            "consultation.create",
            json!({"patientId": other_patient}),
        )
        .await;
    assert_eq!(r.json()["events"][0]["status"], "DRAFT");

    let rows = |html: &str| html.matches("consultation/details?consultationId=").count();
    let url = t
        .get("/embeddable/consultation/dashboard?locale=en", &[])
        .await
        .text();
    let dash = open(&t, &url).await;
    assert_eq!(rows(&dash.html), 10);
    assert!(dash.html.contains("Ann Lee"));
    let next = link(&dash.html, "Next page").expect("a next page");
    assert!(next.contains("cursor="), "{next}");
    let page2 = dash.page(&t, &next).await;
    assert_eq!(page2.status, 200);
    assert_eq!(rows(&page2.text()), 3);
    assert!(link(&page2.text(), "First page").is_some());
    // A cursor is opaque, and a forged one is the page's 400 state (never
    // another page, nor the first one silently), with the way back.
    let forged = next.replace("cursor=", "cursor=AAAA");
    let refused = dash.page(&t, &forged).await;
    assert_eq!(refused.status, 400);
    assert_eq!(rows(&refused.text()), 0);
    assert!(link(&refused.text(), "First page").is_some());

    // By status.
    let drafts = dash
        .page(
            &t,
            "/en/embed/franchise/demo/consultation/dashboard?status=DRAFT",
        )
        .await
        .text();
    assert_eq!(rows(&drafts), 5, "4 of ours, 1 of the other patient");
    assert!(drafts.contains("aria-current=\"page\">Draft</a>"));
    let sent = dash
        .page(
            &t,
            "/en/embed/franchise/demo/consultation/dashboard?status=SENT",
        )
        .await
        .text();
    assert_eq!(rows(&sent), 8);
    assert!(link(&sent, "Next page").is_none());

    // A dashboard launched for a patient lists theirs, and offers all.
    let url = t
        .get(
            "/embeddable/consultation/dashboard?locale=en&patientKey=p-2",
            &[],
        )
        .await
        .text();
    let mine = open(&t, &url).await;
    assert_eq!(rows(&mine.html), 1);
    let all = link(&mine.html, "All patients").expect("all patients");
    assert_eq!(rows(&mine.page(&t, &all).await.text()), 10);
    // A row opens the details.
    let start = mine
        .html
        .find("/en/embed/franchise/demo/consultation/details?")
        .unwrap();
    let end = start + mine.html[start..].find('"').unwrap();
    let details = mine.page(&t, &unescape(&mine.html[start..end])).await;
    assert_eq!(details.status, 200);
    assert!(details.text().contains("Draft"));
}

#[tokio::test]
async fn an_illegal_move_is_409_and_bad_input_names_the_field() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    let r = s
        .act(&t, "consultation.create", json!({"patientId": patient_id}))
        .await;
    let id = r.json()["events"][0]["data"]["consultationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("{}/actions/consultation.archive", s.base);
    let r = s
        .act(&t, "consultation.archive", json!({"consultationId": id}))
        .await;
    assert_error(
        &r,
        409,
        "A DRAFT consultation cannot become ARCHIVED",
        &path,
    );
    let r = s
        .act(&t, "consultation.create", json!({"reason": "uti"}))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("patientId"));
    let r = s
        .act(
            &t,
            "consultation.create",
            json!({"patientId": patient_id, "reason": "nope"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("reason"));
    let r = s
        .act(
            &t,
            "consultation.create",
            json!({"patientId": patient_id, "send": true}),
        )
        .await;
    assert_eq!(r.status, 400, "sending needs a reason");
    let r = s.act(&t, "consultation.nope", json!({})).await;
    assert_eq!(r.status, 404);
    // The draft is sent with a reason picked on its details page.
    let details = s
        .page(
            &t,
            &format!("{}/consultation/details?consultationId={id}", s.base),
        )
        .await
        .text();
    assert!(details.contains("name=\"reason\""));
    let r = s
        .act(
            &t,
            "consultation.send",
            json!({"consultationId": id, "reason": "uti"}),
        )
        .await;
    assert_eq!(r.json()["events"][0]["status"], "SENT");
}

#[tokio::test]
async fn a_patient_session_opens_only_its_own_answer_view() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    s.act(
        &t,
        "consultation.create",
        json!({"patientId": patient_id, "reason": "uti", "send": true}),
    )
    .await;
    // Someone else's consultation.
    let o = open(&t, &start_url(&t, "p-2", "en").await).await;
    let other_patient = o.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    let r = o
        .act(
            &t,
            "consultation.create",
            json!({"patientId": other_patient, "reason": "uti", "send": true}),
        )
        .await;
    let foreign = r.json()["events"][0]["data"]["consultationId"]
        .as_str()
        .unwrap()
        .to_owned();

    let url = t
        .get(
            "/embeddable/consultation/answer?patientKey=p-1&locale=en",
            &[],
        )
        .await
        .text();
    let patient = open(&t, &url).await;
    for view in [
        "consultation/dashboard",
        "consultation/details",
        "statistics/dashboard",
        "administration/franchise-management",
    ] {
        let r = patient.view(&t, view).await;
        assert_eq!(r.status, 403, "{view}");
        assert!(!r.text().contains("Ann Lee"));
    }
    let r = patient
        .page(
            &t,
            &format!(
                "{}/consultation/answer?consultationId={foreign}",
                patient.base
            ),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = patient
        .act(
            &t,
            "consultation.answer",
            json!({"consultationId": foreign, "answers": uti_answers()}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = patient
        .act(&t, "consultation.create", json!({"patientId": patient_id}))
        .await;
    assert_eq!(r.status, 403);
    // And an employee does not answer for the patient.
    let r = s
        .act(
            &t,
            "consultation.answer",
            json!({"consultationId": foreign, "answers": uti_answers()}),
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn another_franchise_is_out_of_reach() {
    let t = spawn_app().await;
    // A consultation of the other account's franchise.
    let other_key = t.world.other_account_api_key.clone();
    let r = t
        .post_json_as(
            &other_key,
            "/embeddable/consultation/create",
            &[],
            &json!({"patient": {"keys": [{"subSystem": "pms", "key": "x-1"}], "firstName": "Zoe", "lastName": "Roy"}, "locale": "en"}),
        )
        .await;
    let o = open(&t, r.json()["iframeUrl"].as_str().unwrap()).await;
    let zoe = o.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    let r = o
        .act(
            &t,
            "consultation.create",
            json!({"patientId": zoe, "reason": "uti"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let foreign = r.json()["events"][0]["data"]["consultationId"]
        .as_str()
        .unwrap()
        .to_owned();

    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let r = s
        .page(
            &t,
            &format!("{}/consultation/details?consultationId={foreign}", s.base),
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("Zoe"));
    assert!(r.text().contains("Page not found"));
    let r = s
        .act(
            &t,
            "consultation.cancel",
            json!({"consultationId": foreign}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = s
        .act(
            &t,
            "consultation.create",
            json!({"patientId": zoe, "reason": "uti"}),
        )
        .await;
    assert_eq!(r.status, 404);
    // Our session is unknown under the other franchise's path.
    let other_base = s.base.replace("/franchise/demo", "/franchise/other");
    let r = act(
        &t,
        &other_base,
        "consultation.cancel",
        Some(&s.token),
        json!({"consultationId": foreign}),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = s
        .page(&t, &format!("{other_base}/consultation/dashboard"))
        .await;
    assert_eq!(r.status, 410);
}

#[tokio::test]
async fn actions_need_a_live_session() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let path = format!("{}/actions/consultation.create", s.base);
    let body = json!({"patientId": s.ctx["ready"]["patientId"]});
    let r = act(&t, &s.base, "consultation.create", None, body.clone()).await;
    assert_error(&r, 401, "Authentication failed", &path);
    let forged = "A".repeat(43);
    for bad in ["nope", forged.as_str()] {
        let r = act(&t, &s.base, "consultation.create", Some(bad), body.clone()).await;
        assert_error(&r, 401, "Authentication failed", &path);
    }
    // The launch token is not a session token.
    let url = start_url(&t, "p-1", "en").await;
    let r = act(
        &t,
        &s.base,
        "consultation.create",
        Some(token_of(&url)),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 401);
    // A live session: fine; an expired one: 401.
    assert_eq!(
        s.act(&t, "consultation.create", body.clone()).await.status,
        200
    );
    t.clock.advance_ms(2 * 3600 * 1000);
    let r = s.act(&t, "consultation.create", body).await;
    assert_error(&r, 401, "Authentication failed", &path);
}

#[tokio::test]
async fn every_page_has_the_csp_and_no_inline_code_or_style() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    let r = s
        .act(
            &t,
            "consultation.create",
            json!({"patientId": patient_id, "reason": "uti", "send": true}),
        )
        .await;
    let cid = r.json()["events"][0]["data"]["consultationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .act(
            &t,
            "followup.create",
            json!({"patientId": patient_id, "dueDate": "2026-02-01", "frequency": "weekly"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for (locale, uri) in [
        ("en", "/embeddable/consultation/view?patientKey=p-1"),
        ("fr", "/embeddable/consultation/dashboard?patientKey=p-1"),
        ("en", "/embeddable/consultation/specific?patientKey=p-1"),
        ("fr", "/embeddable/consultation/answer?patientKey=p-1"),
        ("en", "/embeddable/followup/view?patientKey=p-1"),
        ("fr", "/embeddable/followup/dashboard"),
        ("en", "/embeddable/followup/specific?patientKey=p-1"),
        (
            "fr",
            "/embeddable/followup/plan?patientKey=p-1&reason=blood-pressure&dueDate=2026-03-01&frequency=monthly&notes=Bring%20your%20log",
        ),
        ("en", "/embeddable/administration/franchise-management"),
        ("fr", "/embeddable/administration/franchise-onboarding"),
        ("en", "/embeddable/administration/franchise-offboarding"),
        ("fr", "/embeddable/statistics"),
    ] {
        let sep = if uri.contains('?') { '&' } else { '?' };
        let url = t
            .get(&format!("{uri}{sep}locale={locale}"), &[])
            .await
            .text();
        let r = t.load(&url, &[]).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text());
        assert_clean_page(&r);
        assert!(r.text().contains(&format!("<html lang=\"{locale}\">")));
    }
    // Pages reached inside a session, and the error states.
    for path in [
        format!("{}/consultation/details?consultationId={cid}", s.base),
        format!("{}/consultation/dashboard?status=SENT", s.base),
        format!("{}/consultation/details?consultationId=nope", s.base),
        format!("{}/administration/franchise-offboarding", s.base),
    ] {
        assert_clean_page(&s.page(&t, &path).await);
    }
    let r = t.load(&format!("{}/consultation/start", s.base), &[]).await;
    assert_clean_page(&r);
    let r = s.page(&t, &format!("{}/consultation/start", s.base)).await;
    assert_clean_page(&r);
    // The plan view is prefilled from the launch.
    let url = t
        .get(
            "/embeddable/followup/plan?locale=en&patientKey=p-1&reason=blood-pressure&dueDate=2026-03-01&frequency=monthly&notes=Bring%20your%20log",
            &[],
        )
        .await
        .text();
    let plan = open(&t, &url).await;
    assert!(plan.html.contains("value=\"2026-03-01\""));
    assert!(plan.html.contains("value=\"monthly\" selected"));
    assert!(plan.html.contains("value=\"blood-pressure\" selected"));
    assert!(plan.html.contains("Bring your log</textarea>"));
}

#[tokio::test]
async fn follow_ups_are_planned_and_moved_through_their_states() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    let r = s
        .act(
            &t,
            "followup.create",
            json!({"patientId": patient_id, "dueDate": "soon", "frequency": "weekly"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("dueDate"));
    let r = s
        .act(
            &t,
            "followup.create",
            json!({"patientId": patient_id, "reason": "blood-pressure", "dueDate": "2026-02-01",
                   "frequency": "weekly", "notes": "Morning readings"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let created = &r.json()["events"][0];
    check_against_schema(created, "followup-created.json");
    assert_eq!(created["status"], "PLANNED");
    assert_in_outbox(&t, created).await;
    let id = created["data"]["followupId"].as_str().unwrap().to_owned();
    let details = s
        .page(&t, r.json()["location"].as_str().unwrap())
        .await
        .text();
    assert!(details.contains("Morning readings") && details.contains("Weekly"));
    assert!(details.contains("value=\"IN_PROGRESS\""));
    let r = s
        .act(
            &t,
            "followup.move",
            json!({"followupId": id, "to": "IN_PROGRESS"}),
        )
        .await;
    assert_eq!(r.json()["events"][0]["status"], "IN_PROGRESS");
    check_against_schema(&r.json()["events"][0], "followup-updated.json");
    let r = s
        .act(
            &t,
            "followup.move",
            json!({"followupId": id, "to": "ARCHIVED"}),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = s
        .act(
            &t,
            "followup.move",
            json!({"followupId": id, "to": "LATER"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .act(&t, "followup.move", json!({"followupId": id, "to": "DONE"}))
        .await;
    assert_eq!(r.json()["events"][0]["status"], "DONE");
    // The follow-up dashboard lists it.
    let dash = s.view(&t, "followup/dashboard").await.text();
    assert!(dash.contains(&format!("followup/details?followupId={id}")));
    assert!(dash.contains("2026-02-01"));
}

#[tokio::test]
async fn onboarding_and_offboarding_post_their_events() {
    let t = spawn_app().await;
    let url = t
        .get(
            "/embeddable/administration/franchise-onboarding?locale=en",
            &[],
        )
        .await
        .text();
    let s = open(&t, &url).await;
    assert!(s.html.contains("I accept the terms of use"));
    assert!(s.html.contains("type=\"checkbox\""));
    let r = s
        .act(&t, "franchise.onboard", json!({"accept": false}))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("accept"));
    // A session launched for another view may not administer.
    let stats = open(
        &t,
        &t.get("/embeddable/statistics?locale=en", &[]).await.text(),
    )
    .await;
    let r = stats
        .act(&t, "franchise.onboard", json!({"accept": true}))
        .await;
    assert_eq!(r.status, 403);

    let r = s
        .act(&t, "franchise.onboard", json!({"accept": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event = &r.json()["events"][0];
    assert_eq!(event["eventType"], "franchise");
    assert_eq!(event["status"], "ONBOARDED");
    check_against_schema(event, "franchise-onboarded.json");
    assert_in_outbox(&t, event).await;
    let f = shared::services::admin::franchise(&t.app, "demo")
        .await
        .unwrap();
    assert_eq!(f.status.as_str(), "ONBOARDED");
    assert_eq!(f.terms_accepted_by.unwrap().as_str(), "demo-owner");
    let management = s
        .page(&t, r.json()["location"].as_str().unwrap())
        .await
        .text();
    assert!(management.contains("Onboarded") && management.contains(HOST_ORIGIN));
    let again = s
        .view(&t, "administration/franchise-onboarding")
        .await
        .text();
    assert!(again.contains("Already onboarded"));
    let r = s
        .act(&t, "franchise.onboard", json!({"accept": true}))
        .await;
    assert_eq!(r.status, 409);

    let r = s.act(&t, "franchise.offboard", json!({})).await;
    assert_eq!(r.status, 400);
    let r = s
        .act(&t, "franchise.offboard", json!({"confirm": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event = &r.json()["events"][0];
    assert_eq!(event["status"], "OFFBOARDED");
    check_against_schema(event, "franchise-offboarded.json");
    let gone = s
        .page(&t, r.json()["location"].as_str().unwrap())
        .await
        .text();
    assert!(gone.contains("has left embedcare"));
}

#[tokio::test]
async fn statistics_count_per_status() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    for send in [true, true, false] {
        let r = s
            .act(
                &t,
                "consultation.create",
                json!({"patientId": patient_id, "reason": "uti", "send": send}),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    s.act(
        &t,
        "followup.create",
        json!({"patientId": patient_id, "dueDate": "2026-02-01", "frequency": "once"}),
    )
    .await;
    let html = s.view(&t, "statistics/dashboard").await.text();
    for (status, n) in [("SENT", 2), ("DRAFT", 1), ("PLANNED", 1), ("DONE", 0)] {
        assert!(
            html.contains(&format!("data-status=\"{status}\">{n}</td>")),
            "{status}: {n}"
        );
    }
    assert!(html.contains("<th scope=\"row\">Sent</th>"));
    assert!(html.contains("<meter"));
}
