//! Every view of the vendor API, in text and in JSON, and the round-trip
//! budget of a vendor call (at most two store round trips) on a warm instance.

use serde_json::json;

use crate::helpers::*;

/// (path, extra query, view path in the URL)
const GET_VIEWS: &[(&str, &str, &str)] = &[
    (
        "/embeddable/consultation/view",
        "patientKey=p-1",
        "consultation/start",
    ),
    (
        "/embeddable/consultation/dashboard",
        "",
        "consultation/dashboard",
    ),
    (
        "/embeddable/consultation/specific",
        "patientKey=p-1",
        "consultation/details",
    ),
    (
        "/embeddable/consultation/answer",
        "patientKey=p-1",
        "consultation/answer",
    ),
    (
        "/embeddable/followup/view",
        "patientKey=p-1",
        "followup/start",
    ),
    (
        "/embeddable/followup/dashboard",
        "patientKey=p-1",
        "followup/dashboard",
    ),
    (
        "/embeddable/followup/specific",
        "patientKey=p-1",
        "followup/details",
    ),
    (
        "/embeddable/followup/plan",
        "patientKey=p-1&reason=bp-check&dueDate=2026-02-01&frequency=weekly&notes=Bring%20log",
        "followup/plan",
    ),
    (
        "/embeddable/administration/franchise-management",
        "",
        "administration/franchise-management",
    ),
    (
        "/embeddable/administration/franchise-onboarding",
        "",
        "administration/franchise-onboarding",
    ),
    (
        "/embeddable/administration/franchise-offboarding",
        "",
        "administration/franchise-offboarding",
    ),
    ("/embeddable/statistics", "", "statistics/dashboard"),
    ("/embeddable/visits/statistics", "", "visits/statistics"),
];

async fn with_patient() -> (TestApp, String) {
    let t = spawn_app().await;
    let r = t
        .create(
            json!({"keys":[{"subSystem":"pms","key":"p-1"}],"firstName":"Ann","lastName":"Lee"}),
            &[],
        )
        .await;
    let id = r.json()["patientId"].as_str().unwrap().to_owned();
    (t, id)
}

#[tokio::test]
async fn every_get_view_answers_text_by_default_and_json_on_request() {
    let (t, patient_id) = with_patient().await;
    for (path, query, view) in GET_VIEWS {
        let uri = format!("{path}?locale=en&{query}");
        let text = t.get(&uri, &[]).await;
        assert_eq!(text.status, 200, "{uri}: {}", text.text());
        assert!(
            text.header("content-type").starts_with("text/plain"),
            "{uri}"
        );
        let url = text.text();
        assert!(
            url.starts_with(&format!(
                "{BASE_URL}/en/embed/franchise/demo/{view}?session="
            )),
            "{uri}: {url}"
        );

        let json = t.get(&uri, &[("accept", "application/json")]).await;
        assert_eq!(json.status, 200);
        let body = json.json();
        assert_eq!(body["userId"], "demo-owner");
        assert!(
            body["iframeUrl"]
                .as_str()
                .unwrap()
                .contains(&format!("/{view}?session="))
        );
        assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(body.as_object().unwrap().len(), 3, "{body}");

        // Each URL opens its view, scoped to the patient where relevant.
        let page = t.redeem(&url).await;
        assert_eq!(page.status, 200, "{uri}");
        let html = page.text();
        if query.contains("patientKey") {
            assert!(html.contains(&patient_id), "{uri}: patient not in scope");
        }
    }
}

#[tokio::test]
async fn views_that_need_a_patient_say_so() {
    let (t, _) = with_patient().await;
    for (path, message) in [
        (
            "/embeddable/consultation/view",
            "patientKey is required for this view",
        ),
        (
            "/embeddable/followup/plan",
            "patientKey is required for this view",
        ),
        (
            "/embeddable/consultation/specific",
            "consultationId or patientKey is required for this view",
        ),
        (
            "/embeddable/followup/specific",
            "followupId or patientKey is required for this view",
        ),
    ] {
        assert_error(&t.get(path, &[]).await, 400, message, path);
    }
    let r = t
        .get(
            "/embeddable/followup/plan?patientKey=p-1&dueDate=tomorrow",
            &[],
        )
        .await;
    assert_eq!(r.status, 400);
    let r = t
        .get("/embeddable/consultation/specific?consultationId=../x", &[])
        .await;
    assert_eq!(r.status, 400);
    let r = t
        .get("/embeddable/statistics?locale=en&locale=fr", &[])
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn post_view_opens_the_details_of_a_patient_or_a_consultation() {
    let (t, patient_id) = with_patient().await;
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[],
            &json!({"patientKey": "p-1", "locale": "en"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body.as_object().unwrap().len(), 3);
    let url = body["iframeUrl"].as_str().unwrap();
    assert!(url.contains("/en/embed/franchise/demo/consultation/details?session="));
    assert!(t.redeem(url).await.text().contains(&patient_id));
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[],
            &json!({"patientKey": {"subSystem": "pms", "key": "p-1"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = t
        .post_json("/embeddable/consultation/view", &[], &json!({}))
        .await;
    assert_error(
        &r,
        400,
        "consultationId or patientKey is required for this view",
        "/embeddable/consultation/view",
    );
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[],
            &json!({"consultationId": "3f1c2d4e-0000-4000-8000-000000000000"}),
        )
        .await;
    assert_error(
        &r,
        404,
        "Consultation not found",
        "/embeddable/consultation/view",
    );
}

#[tokio::test]
async fn unknown_endpoints_and_methods_get_the_error_shape() {
    let t = spawn_app().await;
    assert_error(
        &t.get("/embeddable/nope", &[]).await,
        404,
        "No such endpoint",
        "/embeddable/nope",
    );
    let r = t.post_json("/embeddable/statistics", &[], &json!({})).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["path"], "/embeddable/statistics");
}

/// The budget: at most two store round trips per vendor call once caches are
/// warm, whatever the call.
#[tokio::test]
async fn every_warm_vendor_call_costs_at_most_two_round_trips() {
    let (t, _) = with_patient().await;
    let full = b64(r#"{"userId":"u-1","firstName":"Jo","lastName":"Ng","email":"jo@clinic.com"}"#);
    for round in 0..2 {
        for (path, query, _) in GET_VIEWS {
            let uri = format!("{path}?{query}");
            t.store.reset();
            assert_eq!(
                t.get(&uri, &[("x-integration-user", &full)]).await.status,
                200
            );
            if round == 1 {
                let c = t.store.snapshot();
                assert!(c.round_trips() <= 2, "{uri}: {c:?}");
            }
        }
        t.store.reset();
        let r = t
            .create(
                json!({"keys":[{"subSystem":"pms","key":format!("new-{round}")},{"subSystem":"ramq","key":"R1"}],"firstName":"N","lastName":"P"}),
                &[("x-integration-user", &full)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        if round == 1 {
            let c = t.store.snapshot();
            assert!(c.round_trips() <= 2, "create: {c:?}");
            assert_eq!(c.reads(), 1);
        }
        t.store.reset();
        let r = t
            .post_json(
                "/embeddable/consultation/view",
                &[],
                &json!({"patientKey":"p-1"}),
            )
            .await;
        assert_eq!(r.status, 200);
        if round == 1 {
            assert!(t.store.snapshot().round_trips() <= 2);
        }
    }
}

/// A cold instance (its caches of keys and franchises expired): the key's
/// own read, then one batch (the franchise with the call's own reads), then
/// the call's write, at most three round trips; and the franchise is still
/// checked (an offboarded one is refused, nothing written).
#[tokio::test]
async fn every_cold_vendor_call_costs_at_most_three_round_trips() {
    let (t, _) = with_patient().await;
    let full = b64(r#"{"userId":"u-1","firstName":"Jo","lastName":"Ng","email":"jo@clinic.com"}"#);
    // Past every cache's time to live (at most 60 s): the next call is cold.
    let cold = || t.clock.advance_ms(61_000);
    let counted = |what: &str, status: u16, want: u16| {
        assert_eq!(status, want, "{what}");
        let c = t.store.snapshot();
        assert!(c.round_trips() <= 3, "{what}: {c:?}");
        c
    };
    for (path, query, _) in GET_VIEWS.iter().filter(|(p, _, _)| !p.contains("/visits/")) {
        let uri = format!("{path}?{query}");
        cold();
        t.store.reset();
        let status = t.get(&uri, &[("x-integration-user", &full)]).await.status;
        counted(&uri, status.as_u16(), 200);
    }
    cold();
    t.store.reset();
    let r = t
        .create(
            json!({"keys":[{"subSystem":"pms","key":"cold-1"}],"firstName":"N","lastName":"P"}),
            &[("x-integration-user", &full)],
        )
        .await;
    let c = counted("create", r.status.as_u16(), 200);
    assert_eq!(c.reads(), 2, "the key, then one batch: {c:?}");
    cold();
    t.store.reset();
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[],
            &json!({"patientKey":"p-1"}),
        )
        .await;
    counted("view", r.status.as_u16(), 200);
    cold();
    t.store.reset();
    let r = t
        .post_json(
            "/v2/consultations",
            &[],
            &json!({"patient": {"keys":[{"subSystem":"pms","key":"p-1"}]}, "reason": "uti"}),
        )
        .await;
    counted("POST /v2/consultations", r.status.as_u16(), 201);
    cold();
    t.store.reset();
    let r = t.get("/v2/consultations?patientKey=p-1", &[]).await;
    counted("GET /v2/consultations?patientKey", r.status.as_u16(), 200);

    // Folded, the franchise is still checked: offboarded, the cold call is
    // refused after its batch, and writes nothing.
    let tenant = shared::domain::TenantKey::parse("demo").unwrap();
    let key = shared::store::keys::franchise_key(&tenant);
    let mut item = t.app.store.get(&key).await.unwrap().unwrap();
    item.attrs.insert("status".into(), json!("OFFBOARDED"));
    t.app
        .store
        .write(shared::store::Write::Put { item, cond: None })
        .await
        .unwrap();
    cold();
    t.store.reset();
    let r = t
        .create(
            json!({"keys":[{"subSystem":"pms","key":"cold-2"}],"firstName":"N","lastName":"P"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(t.store.snapshot().write_calls(), 0);
}

#[tokio::test]
async fn views_ignore_parameters_they_do_not_use() {
    let (t, _) = with_patient().await;
    // A vendor's client may send a patientKey to every view.
    for uri in [
        "/embeddable/statistics?patientKey=nobody",
        "/embeddable/administration/franchise-management?patientKey=nobody&consultationId=nope",
        "/embeddable/consultation/view?patientKey=p-1&followupId=unknown",
    ] {
        let r = t.get(uri, &[]).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text());
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let t = spawn_app().await;
    let big = json!({"patient": {"keys": [{"subSystem": "pms", "key": "1"}], "firstName": "x".repeat(3 * 1024 * 1024)}});
    let r = t
        .post_json("/embeddable/consultation/create", &[], &big)
        .await;
    assert_error(
        &r,
        413,
        "Request body too large (at most 2 MB)",
        "/embeddable/consultation/create",
    );
}

/// `scope: "franchise"` widens a launch to every employee view of the
/// franchise, only when asked; without it a launch reaches what its view
/// is for. The patient's and the administration's views keep their own.
#[tokio::test]
async fn the_franchise_scope_is_asked_for_explicitly() {
    let (t, _) = with_patient().await;
    let r = t
        .get(
            "/embeddable/consultation/view?patientKey=p-1&scope=all",
            &[],
        )
        .await;
    assert_error(
        &r,
        400,
        "scope must be franchise (or absent)",
        "/embeddable/consultation/view",
    );
    let stats = |s: &str| format!("{s}/statistics/dashboard");
    let base = "/en/embed/franchise/demo";
    let opens_statistics = |url: String| {
        let t = &t;
        async move {
            let r = t.redeem(&url).await;
            assert_eq!(r.status, 200, "{url}: {}", r.text());
            let token = crate::pages::context(&r.text())["sessionToken"]
                .as_str()
                .unwrap()
                .to_owned();
            let auth = format!("Bearer {token}");
            t.load(&stats(base), &[("authorization", &auth)])
                .await
                .status
                .as_u16()
        }
    };
    let patient =
        json!({"keys":[{"subSystem":"pms","key":"p-1"}],"firstName":"Ann","lastName":"Lee"});
    for (scope, expected) in [(None, 403), (Some("franchise"), 200)] {
        let mut body = json!({"patient": patient, "locale": "en"});
        if let Some(s) = scope {
            body["scope"] = s.into();
        }
        let url = t
            .post_json("/embeddable/consultation/create", &[], &body)
            .await
            .json()["iframeUrl"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(opens_statistics(url).await, expected, "create, {scope:?}");
        let q = scope.map_or(String::new(), |s| format!("&scope={s}"));
        let url = t
            .get(
                &format!("/embeddable/followup/view?patientKey=p-1&locale=en{q}"),
                &[],
            )
            .await
            .text();
        assert_eq!(opens_statistics(url).await, expected, "GET, {scope:?}");
        let mut body = json!({"patientKey": "p-1", "locale": "en"});
        if let Some(s) = scope {
            body["scope"] = s.into();
        }
        let url = t
            .post_json("/embeddable/consultation/view", &[], &body)
            .await
            .json()["iframeUrl"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(opens_statistics(url).await, expected, "view, {scope:?}");
        let c = t
            .post_json("/v2/consultations", &[], &json!({"patient": patient}))
            .await
            .json();
        let mut body = json!({"consultationId": c["consultation"]["consultationId"]});
        if let Some(s) = scope {
            body["scope"] = s.into();
        }
        let url = t
            .post_json("/v2/embed/consultation/details", &[], &body)
            .await
            .json()["iframeUrl"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(opens_statistics(url).await, expected, "v2, {scope:?}");
    }
    // Ignored where it does not apply.
    for uri in [
        "/embeddable/consultation/answer?patientKey=p-1&locale=en&scope=franchise",
        "/embeddable/administration/franchise-onboarding?locale=en&scope=franchise",
    ] {
        let url = t.get(uri, &[]).await.text();
        assert_eq!(opens_statistics(url).await, 403, "{uri}");
    }
}
