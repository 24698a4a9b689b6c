//! The access model as a matrix: a session of every kind of launch tries
//! every view and every action, each with an id inside its reach, an id of
//! the same franchise outside it (another patient's), and an id of another
//! franchise. What each launch may open and do is written here from the
//! rule (a launch reaches what it was for), not read from the table under
//! test.

use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

/// The ids of one patient's world: the patient, a consultation, a follow-up.
#[derive(Clone)]
pub(crate) struct Ids {
    pub patient: String,
    pub consultation: String,
    pub followup: String,
}

/// A patient with a sent consultation and a planned follow-up (both with
/// the `uti` questionnaire), through the vendor API of `key`.
pub(crate) async fn world(t: &TestApp, key: &str, patient_key: &str) -> Ids {
    let patient = json!({"keys": [{"subSystem": "pms", "key": patient_key}],
                         "firstName": "Ann", "lastName": "Lee"});
    let r = t
        .post_json_as(
            key,
            "/v2/consultations",
            &[],
            &json!({"patient": patient, "reason": "uti"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let c = r.json();
    let r = t
        .post_json_as(
            key,
            "/v2/followups",
            &[],
            &json!({"patient": patient, "reason": "uti", "dueDate": "2026-02-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let f = r.json();
    Ids {
        patient: c["patientId"].as_str().unwrap().to_owned(),
        consultation: c["consultation"]["consultationId"]
            .as_str()
            .unwrap()
            .to_owned(),
        followup: f["followup"]["followupId"].as_str().unwrap().to_owned(),
    }
}

/// Every view, and the query that names the id it is about.
const VIEWS: &[(&str, Option<&str>)] = &[
    ("consultation/start", Some("patientId")),
    ("consultation/dashboard", Some("patientId")),
    ("consultation/details", Some("consultationId")),
    ("consultation/answer", Some("consultationId")),
    ("followup/start", Some("patientId")),
    ("followup/plan", Some("patientId")),
    ("followup/dashboard", Some("patientId")),
    ("followup/details", Some("followupId")),
    ("followup/answer", Some("followupId")),
    ("administration/franchise-management", None),
    ("administration/franchise-onboarding", None),
    ("administration/franchise-offboarding", None),
    ("statistics/dashboard", None),
    ("visits/statistics", None),
];

/// Every action, with a body about `ids` (valid, and harmless to the rest
/// of the matrix: moves outside the state machine are a 409).
pub(crate) fn actions(ids: &Ids) -> Vec<(&'static str, Value)> {
    let (p, c, f) = (&ids.patient, &ids.consultation, &ids.followup);
    vec![
        (
            "consultation.create",
            json!({"patientId": p, "reason": "uti"}),
        ),
        ("consultation.send", json!({"consultationId": c})),
        ("consultation.complete", json!({"consultationId": c})),
        ("consultation.archive", json!({"consultationId": c})),
        ("consultation.cancel", json!({"consultationId": c})),
        ("consultation.open", json!({"consultationId": c})),
        (
            "consultation.answer",
            json!({"consultationId": c, "answers": uti_answers()}),
        ),
        (
            "followup.create",
            json!({"patientId": p, "dueDate": "2026-03-01", "frequency": "once"}),
        ),
        ("followup.move", json!({"followupId": f, "to": "ARCHIVED"})),
        (
            "followup.answer",
            json!({"followupId": f, "answers": uti_answers()}),
        ),
        ("franchise.onboard", json!({"accept": true})),
        ("franchise.offboard", json!({"confirm": false})),
    ]
}

const PATIENT_VIEWS: &[&str] = &[
    "consultation/start",
    "consultation/dashboard",
    "consultation/details",
    "followup/start",
    "followup/plan",
    "followup/dashboard",
    "followup/details",
];
const CLINICAL_ACTIONS: &[&str] = &[
    "consultation.create",
    "consultation.send",
    "consultation.complete",
    "consultation.archive",
    "consultation.cancel",
    "followup.create",
    "followup.move",
];
const MOVES: &[&str] = &[
    "consultation.send",
    "consultation.complete",
    "consultation.archive",
    "consultation.cancel",
];

/// A launch, and what its session may do.
struct Expect {
    what: &'static str,
    url: String,
    opens: Vec<&'static str>,
    does: Vec<&'static str>,
    /// It reaches one patient, consultation or follow-up: another
    /// patient's ids are outside it.
    narrow: bool,
}

async fn get_url(t: &TestApp, uri: &str) -> String {
    let r = t.get(uri, &[("accept", "application/json")]).await;
    assert_eq!(r.status, 200, "{uri}: {}", r.text());
    r.json()["iframeUrl"].as_str().unwrap().to_owned()
}

async fn post_url(t: &TestApp, path: &str, body: Value) -> String {
    let r = t.post_json(path, &[], &body).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()["iframeUrl"].as_str().unwrap().to_owned()
}

async fn launches(t: &TestApp, a: &Ids) -> Vec<Expect> {
    let all_views: Vec<&str> = PATIENT_VIEWS
        .iter()
        .copied()
        .chain(["statistics/dashboard", "visits/statistics"])
        .collect();
    let (c, f) = (&a.consultation, &a.followup);
    let e = |what, url, opens: &[&'static str], does: &[&'static str], narrow| Expect {
        what,
        url,
        opens: opens.to_vec(),
        does: does.to_vec(),
        narrow,
    };
    vec![
        e(
            "employee, one patient",
            get_url(t, "/embeddable/consultation/view?patientKey=m-a").await,
            PATIENT_VIEWS,
            CLINICAL_ACTIONS,
            true,
        ),
        e(
            "employee, one consultation",
            post_url(
                t,
                "/embeddable/consultation/view",
                json!({"consultationId": c}),
            )
            .await,
            &["consultation/details"],
            MOVES,
            true,
        ),
        e(
            "employee, one follow-up",
            get_url(t, &format!("/embeddable/followup/specific?followupId={f}")).await,
            &["followup/details"],
            &["followup.move"],
            true,
        ),
        e(
            "employee, the consultation list",
            get_url(t, "/embeddable/consultation/dashboard").await,
            &["consultation/dashboard", "consultation/details"],
            MOVES,
            false,
        ),
        e(
            "employee, the follow-up list",
            get_url(t, "/embeddable/followup/dashboard").await,
            &["followup/dashboard", "followup/details"],
            &["followup.move"],
            false,
        ),
        e(
            "employee, statistics",
            get_url(t, "/embeddable/statistics").await,
            &["statistics/dashboard", "visits/statistics"],
            &[],
            false,
        ),
        e(
            "employee, visit statistics",
            get_url(
                t,
                "/embeddable/visits/statistics?from=2026-01-01&to=2026-01-31",
            )
            .await,
            &["statistics/dashboard", "visits/statistics"],
            &[],
            false,
        ),
        e(
            "employee, the franchise (asked)",
            get_url(t, "/embeddable/consultation/dashboard?scope=franchise").await,
            &all_views,
            CLINICAL_ACTIONS,
            false,
        ),
        e(
            "employee, franchise management",
            get_url(t, "/embeddable/administration/franchise-management").await,
            &["administration/franchise-management"],
            &[],
            false,
        ),
        e(
            "employee, onboarding",
            get_url(t, "/embeddable/administration/franchise-onboarding").await,
            &[
                "administration/franchise-onboarding",
                "administration/franchise-management",
            ],
            &["franchise.onboard"],
            false,
        ),
        e(
            "employee, offboarding",
            get_url(t, "/embeddable/administration/franchise-offboarding").await,
            &[
                "administration/franchise-offboarding",
                "administration/franchise-management",
            ],
            &["franchise.offboard"],
            false,
        ),
        e(
            "patient, by patient key",
            get_url(t, "/embeddable/consultation/answer?patientKey=m-a").await,
            &["consultation/answer"],
            &["consultation.open", "consultation.answer"],
            true,
        ),
        e(
            "patient, one consultation",
            post_url(
                t,
                "/v2/embed/consultation/answer",
                json!({"consultationId": c}),
            )
            .await,
            &["consultation/answer"],
            &["consultation.open", "consultation.answer"],
            true,
        ),
        e(
            "patient, one follow-up",
            post_url(t, "/v2/embed/followup/answer", json!({"followupId": f})).await,
            &["followup/answer"],
            &["followup.answer"],
            true,
        ),
    ]
}

/// Refused: not available in this session (403), or out of its reach and
/// so not found (404).
fn refused(status: u16) -> bool {
    status == 403 || status == 404
}

#[tokio::test]
async fn every_view_and_action_with_ids_inside_and_outside_the_reach() {
    let t = spawn_app().await;
    let a = world(&t, &t.world.api_key, "m-a").await;
    let b = world(&t, &t.world.api_key, "m-b").await;
    let x = world(&t, &t.world.other_account_api_key, "m-x").await;
    let mut wrong = Vec::new();
    for launch in launches(&t, &a).await {
        let s = open(&t, &launch.url).await;
        for &(view, param) in VIEWS {
            let ids: Vec<(&str, &Ids)> = match param {
                Some(_) => vec![
                    ("inside", &a),
                    ("another patient's", &b),
                    ("another franchise's", &x),
                ],
                None => vec![("no id", &a)],
            };
            for (which, ids) in ids {
                let path = match param {
                    None => format!("{}/{view}", s.base),
                    Some(name) => {
                        let id = match name {
                            "patientId" => &ids.patient,
                            "consultationId" => &ids.consultation,
                            _ => &ids.followup,
                        };
                        format!("{}/{view}?{name}={id}", s.base)
                    }
                };
                let expected = if !launch.opens.contains(&view) {
                    403
                } else if which == "another franchise's" || (which != "inside" && launch.narrow) {
                    404
                } else {
                    200
                };
                let r = s.page(&t, &path).await;
                if r.status != expected {
                    wrong.push(format!(
                        "{}: {path} ({which}): {} not {expected}",
                        launch.what, r.status
                    ));
                }
                if expected != 200 {
                    // Nothing of the other patient leaks into a refusal.
                    assert!(!r.text().contains(&b.patient), "{}: {path}", launch.what);
                }
            }
        }
        for (which, ids) in [
            ("inside", &a),
            ("another patient's", &b),
            ("another franchise's", &x),
        ] {
            for (action, body) in actions(ids) {
                let r = s.act(&t, action, body).await;
                let status = r.status.as_u16();
                let allowed = launch.does.contains(&action)
                    && (which == "inside"
                        || (which == "another patient's" && !launch.narrow)
                        || action.starts_with("franchise."));
                let ok = if allowed {
                    !refused(status) && status != 500
                } else {
                    refused(status)
                };
                if !ok {
                    wrong.push(format!(
                        "{}: {action} ({which}): {status} {}",
                        launch.what,
                        r.text()
                    ));
                }
                if launch.does.contains(&action) || !refused(status) {
                    continue;
                }
                assert_eq!(
                    status, 403,
                    "{}: {action} is not this session's",
                    launch.what
                );
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
