//! Who may open what: a patient's session, another franchise, actions
//! without a live session; and the CSP of every page.

use serde_json::json;

use super::*;
use crate::helpers::*;

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
        "visits/statistics",
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
        let r = t.redeem(&url).await;
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
    // The entry shell: framed by anyone (it holds nothing), our code only.
    let r = t.load(&format!("{}/consultation/start", s.base), &[]).await;
    assert!(
        r.header("content-security-policy")
            .contains("frame-ancestors *")
    );
    assert_clean_markup(&r);
    let r = s.page(&t, &format!("{}/consultation/start", s.base)).await;
    assert_clean_page(&r);
    assert_eq!(assert_forms_wait_for_the_script(&r.text()), 1);
    let details = format!("{}/consultation/details?consultationId={cid}", s.base);
    let r = s.page(&t, &details).await;
    assert_eq!(assert_forms_wait_for_the_script(&r.text()), 1, "cancel");
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
