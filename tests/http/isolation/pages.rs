//! The embedded app: every view (`View::ALL`) and every action
//! (`Act::ALL`, both of the product's code) through sessions of each
//! attacker's launches, with B's ids; and the same pages and actions under
//! B's franchise path with the attacker's session.

use http::Method;
use serde_json::{Value, json};
use shared::domain::View;
use shared::http::pages::Act;

use super::world::{Attacker, B_KEY, Victim, attackers, b_state, victim};
use super::{Payload, leaked, send, shape_error, spawn, unexpected_writes, writes_into};
use crate::helpers::TestApp;
use crate::pages::matrix::{self, Ids};
use crate::pages::{Session, act, open};

/// The query of a view that names an id, and the name of B's id it takes.
fn view_param(v: View) -> Option<(&'static str, &'static str)> {
    match v {
        View::ConsultationStart
        | View::ConsultationDashboard
        | View::FollowupStart
        | View::FollowupPlan
        | View::FollowupDashboard => Some(("patientId", "patientId")),
        View::ConsultationDetails | View::ConsultationAnswer => {
            Some(("consultationId", "consultationId"))
        }
        View::FollowupDetails | View::FollowupAnswer => Some(("followupId", "followupId")),
        View::VisitsWaitingRoom | View::VisitsRoom => Some(("visitId", "visitId")),
        View::FranchiseManagement
        | View::FranchiseOnboarding
        | View::FranchiseOffboarding
        | View::Statistics
        | View::VisitsSchedule
        // Its `roomCode` is a filter of the caller's own statistics (the
        // API's rows of `api.rs` filter by B's room: nothing of B).
        | View::VisitsStatistics => None,
    }
}

/// The body of an action about B's objects; `None` for the actions of the
/// caller's own franchise (no id of B to name).
fn act_body(a: Act, b: &Victim) -> Option<Value> {
    let ids = Ids {
        patient: b.id("patientId").to_owned(),
        consultation: b.id("consultationId").to_owned(),
        followup: b.id("followupId").to_owned(),
    };
    let visit = b.id("visitId");
    match a {
        Act::FranchiseOnboard | Act::FranchiseOffboard => None,
        Act::VisitStart | Act::VisitAccept | Act::VisitComplete | Act::VisitNoShow => {
            Some(json!({"visitId": visit}))
        }
        Act::VisitMessage => Some(json!({"visitId": visit, "text": "taken"})),
        Act::AvailabilitySet => Some(json!({"roomCode": b.id("code"),
            "weekly": "{\"mon\":[{\"start\":\"09:00\",\"end\":\"12:00\"}]}"})),
        // The consultation's and follow-up's: the access matrix's bodies.
        other => matrix::actions(&ids)
            .into_iter()
            .find(|(name, _)| *name == other.name())
            .map(|(_, body)| body)
            .or_else(|| {
                panic!(
                    "no body for the action {} in the isolation table",
                    other.name()
                )
            }),
    }
}

/// The launches of an attacker: every reach a session can have.
async fn sessions(t: &TestApp, a: &Attacker) -> Vec<(&'static str, Session)> {
    let body = json!({"patient": {"keys": [{"subSystem": "pms", "key": "iso-a-key"}],
                                  "firstName": "Al", "lastName": "Aa"}, "reason": "uti"});
    let r = send(
        t,
        Method::POST,
        "/v2/consultations",
        &a.api(),
        Payload::Json(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let consultation = r.json()["consultation"]["consultationId"]
        .as_str()
        .expect("an id")
        .to_owned();
    let mut all = Vec::new();
    for (what, method, uri, body) in [
        (
            "the franchise",
            Method::GET,
            "/embeddable/consultation/dashboard?scope=franchise".to_owned(),
            None,
        ),
        (
            "a provider",
            Method::GET,
            "/embeddable/visits/waiting-room".to_owned(),
            None,
        ),
        (
            "the administration",
            Method::GET,
            "/embeddable/administration/franchise-management".to_owned(),
            None,
        ),
        (
            "a patient",
            Method::POST,
            "/v2/embed/consultation/answer".to_owned(),
            Some(json!({"consultationId": consultation})),
        ),
    ] {
        let mut h = a.api();
        h.push(("accept".to_owned(), "application/json".to_owned()));
        let payload = body.map_or(Payload::None, Payload::Json);
        let r = send(t, method, &uri, &h, payload).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.text());
        let url = r.json()["iframeUrl"].as_str().expect("a URL").to_owned();
        all.push((what, open(t, &url).await));
    }
    all
}

#[tokio::test]
async fn every_view_and_action_with_another_franchises_ids() {
    let iso = spawn().await;
    let t = &iso.t;
    let log = &iso.log;
    let b = victim(t).await;
    let attackers = attackers(t).await;
    let before = b_state(t, &b).await;
    let secrets = b.secrets();
    let b_base = format!("/en/embed/franchise/{}", b.tenant);
    let (mut calls, mut wrong) = (0, Vec::new());
    for a in &attackers {
        for (reach, s) in sessions(t, a).await {
            for base in [s.base.clone(), b_base.clone()] {
                for view in View::ALL {
                    let (area, name) = view.segments();
                    let mut path = format!("{base}/{area}/{name}");
                    let named = view_param(view);
                    if let Some((param, id)) = named {
                        path = format!("{path}?{param}={}", b.id(id));
                    }
                    log.reset();
                    let r = s.page(t, &path).await;
                    calls += 1;
                    let what = format!("{} ({reach}): GET {path}", a.name);
                    let status = r.status.as_u16();
                    let refused = [401, 403, 404, 410].contains(&status);
                    if (named.is_some() || base == b_base) && !refused || status >= 500 {
                        wrong.push(format!("{what}: {status}"));
                    }
                    check(log, &b, &secrets, &what, &path, &r, &mut wrong);
                }
                for action in Act::ALL {
                    let body = act_body(action, &b);
                    let sent = body
                        .clone()
                        .unwrap_or_else(|| json!({"accept": true, "confirm": false}));
                    log.reset();
                    let r = act(t, &base, action.name(), Some(&s.token), sent.clone()).await;
                    calls += 1;
                    let path = format!("{base}/actions/{}", action.name());
                    let what = format!("{} ({reach}): {path} {sent}", a.name);
                    let status = r.status.as_u16();
                    if body.is_some() || base == b_base {
                        match status {
                            403 | 404 | 401 => {
                                if let Some(p) = shape_error(&r, status, &path) {
                                    wrong.push(format!("{what}: {p}"));
                                }
                                let w = unexpected_writes(log);
                                if !w.is_empty() {
                                    wrong.push(format!("{what}: wrote {w:?}"));
                                }
                            }
                            other => wrong.push(format!("{what}: {other} {}", r.text())),
                        }
                    } else if status >= 500 {
                        wrong.push(format!("{what}: {status}"));
                    }
                    check(
                        log,
                        &b,
                        &secrets,
                        &what,
                        &format!("{path} {sent}"),
                        &r,
                        &mut wrong,
                    );
                }
            }
        }
    }
    super::world::assert_unchanged(&before, &b_state(t, &b).await);
    assert!(
        wrong.is_empty(),
        "{} of {calls} calls wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    println!(
        "isolation: {} views and {} actions, {calls} calls by {} attackers: 0 wrong",
        View::ALL.len(),
        Act::ALL.len(),
        attackers.len()
    );
    let _ = B_KEY;
}

/// What every call must hold: nothing of B in the answer, nothing written
/// in B's partitions.
fn check(
    log: &super::store::Committed,
    b: &Victim,
    secrets: &[String],
    what: &str,
    request: &str,
    r: &crate::helpers::Reply,
    wrong: &mut Vec<String>,
) {
    let leaks = leaked(&r.text(), request, secrets);
    if !leaks.is_empty() {
        wrong.push(format!("{what}: B's {leaks:?} in the answer"));
    }
    let w = writes_into(log, b.tenant);
    if !w.is_empty() {
        wrong.push(format!("{what}: wrote into B: {w:?}"));
    }
}
