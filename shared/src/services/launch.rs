//! Launches: a vendor asks for a view; we upsert the user and the patient,
//! and issue a single-use presigned URL. Loading the URL redeems it into a
//! browser session.
//!
//! The budget of DESIGN.md is kept by construction: one `BatchGetItem` reads
//! everything the call needs (the user, the owner to clone from, the
//! patient-key index items, the consultation), and one write — a single put
//! or one `TransactWriteItems` — stores the launch with whatever user and
//! patient changes it depends on. Two round trips, whatever the request; an
//! unchanged user adds no write. Uniqueness (one patient per key, one user
//! per id) is enforced by the conditions of that write; when a concurrent
//! call wins the race, the whole call is planned again from a fresh read.

use std::collections::BTreeSet;

use serde_json::Value;

use super::auth::Caller;
use crate::app::App;
use crate::crypto::{hash_secret, random_token};
use crate::domain::patient::{PatientInput, PatientPlan, plan_patient};
use crate::domain::user::{IntegrationUser, UserPlan, plan_user};
use crate::domain::{
    BrowserSession, LaunchToken, Locale, Needs, Scope, TenantKey, User, UserId, View,
};
use crate::error::{Error, Result};
use crate::repo::{self, PatientKeyIndex};
use crate::store::{Cond, Item, Key, Write};

/// How a launch request names its patient.
#[derive(Debug, Clone, PartialEq)]
pub enum PatientRef {
    None,
    /// A full patient to match by key and create or update.
    Upsert(PatientInput),
    /// A key value of an existing patient, in any sub-system unless one is given.
    ByKey {
        key: String,
        sub_system: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchRequest {
    pub view: View,
    pub locale: Option<Locale>,
    pub user: Option<IntegrationUser>,
    pub patient: PatientRef,
    pub consultation_id: Option<String>,
    pub followup_id: Option<String>,
    pub prefill: Option<Value>,
}

impl LaunchRequest {
    pub fn new(view: View) -> Self {
        Self {
            view,
            locale: None,
            user: None,
            patient: PatientRef::None,
            consultation_id: None,
            followup_id: None,
            prefill: None,
        }
    }
}

/// An issued launch, as the vendor API returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    pub user_id: UserId,
    pub patient_id: Option<String>,
    pub iframe_url: String,
    pub expires_at: i64,
}

/// Attempts of a call whose conditional write lost a race (a concurrent
/// creation of the same patient or user, or an update of the same version).
const ATTEMPTS: u32 = 5;

pub async fn issue(app: &App, caller: &Caller, req: &LaunchRequest) -> Result<Launch> {
    let req = &scoped(req);
    check_needs(req)?;
    for attempt in 1..ATTEMPTS {
        match try_issue(app, caller, req).await {
            Err(Error::Store(e)) if e.is_condition_failure() => backoff(attempt).await,
            other => return other,
        }
    }
    match try_issue(app, caller, req).await {
        Err(Error::Store(e)) if e.is_condition_failure() => Err(Error::conflict(
            "The request conflicted with concurrent changes to the same user or patient; retry it",
        )),
        other => other,
    }
}

/// A short, jittered pause, so that racing calls do not collide again.
async fn backoff(attempt: u32) {
    let mut b = [0u8; 1];
    let jitter = getrandom::fill(&mut b).map_or(0, |()| u64::from(b[0] % 8));
    tokio::time::sleep(std::time::Duration::from_millis(
        u64::from(attempt) * 2 + jitter,
    ))
    .await;
}

/// The request without what its view does not use: vendors often send the
/// same parameters to every view (seed 002's client always passes a
/// `patientKey`), and a statistics page must not fail on an unknown patient.
fn scoped(req: &LaunchRequest) -> LaunchRequest {
    let mut req = req.clone();
    let needs = req.view.needs();
    if needs == Needs::Nothing {
        req.patient = PatientRef::None;
    }
    if needs != Needs::ConsultationOrPatient {
        req.consultation_id = None;
    }
    if needs != Needs::FollowupOrPatient {
        req.followup_id = None;
    }
    req
}

fn check_needs(req: &LaunchRequest) -> Result<()> {
    let has_patient = req.patient != PatientRef::None;
    let missing = match req.view.needs() {
        Needs::Patient => (!has_patient).then_some("patientKey is required for this view"),
        Needs::ConsultationOrPatient => (req.consultation_id.is_none() && !has_patient)
            .then_some("consultationId or patientKey is required for this view"),
        Needs::FollowupOrPatient => (req.followup_id.is_none() && !has_patient)
            .then_some("followupId or patientKey is required for this view"),
        Needs::OptionalPatient | Needs::Nothing => None,
    };
    missing.map_or(Ok(()), |m| Err(Error::bad_request(m)))
}

fn find<'a>(items: &'a [Item], key: &Key) -> Option<&'a Item> {
    items.iter().find(|i| i.key == *key)
}

async fn try_issue(app: &App, caller: &Caller, req: &LaunchRequest) -> Result<Launch> {
    let account = caller.key.account_id.as_str();
    let tenant = &caller.franchise.tenant_key;
    let owner_id = &caller.key.owner_user_id;
    let now = app.now_ms();
    let user_id = req.user.as_ref().map_or(owner_id, |u| &u.user_id);

    // Round trip 1: everything the call reads, in one batch.
    let user_key = repo::user_key(account, user_id.as_str());
    let owner_key = repo::user_key(account, owner_id.as_str());
    let mut keys = BTreeSet::from([user_key.clone(), owner_key.clone()]);
    match &req.patient {
        PatientRef::None => {}
        PatientRef::Upsert(input) => {
            keys.extend(
                input
                    .keys
                    .iter()
                    .map(|k| repo::patient_key_index(tenant, &k.key)),
            );
        }
        PatientRef::ByKey { key, .. } => {
            keys.insert(repo::patient_key_index(tenant, key));
        }
    }
    let consultation_key = req
        .consultation_id
        .as_deref()
        .map(|id| repo::consultation_key(tenant, id));
    let followup_key = req
        .followup_id
        .as_deref()
        .map(|id| repo::followup_key(tenant, id));
    keys.extend(consultation_key.iter().cloned());
    keys.extend(followup_key.iter().cloned());
    let keys: Vec<Key> = keys.into_iter().collect();
    let items = app.store.batch_get(&keys).await?;

    let mut writes = Vec::new();

    // The user.
    let user = user_writes(
        caller,
        req.user.as_ref(),
        &items,
        &user_key,
        &owner_key,
        now,
        &mut writes,
    )?;

    // The patient.
    let mut patient_id = match &req.patient {
        PatientRef::None => None,
        PatientRef::Upsert(input) => Some(patient_writes(tenant, input, &items, now, &mut writes)?),
        PatientRef::ByKey { key, sub_system } => {
            let item = find(&items, &repo::patient_key_index(tenant, key));
            match repo::patients_with_key_value(item, sub_system.as_deref()).as_slice() {
                [] => return Err(Error::not_found("No patient has this patientKey")),
                [one] => Some(one.clone()),
                _ => {
                    return Err(Error::conflict(
                        "Several patients have this patientKey; add subSystem to choose one",
                    ));
                }
            }
        }
    };

    // The consultation or follow-up in scope must exist in this franchise;
    // it also tells whose it is.
    for (key, what) in [
        (&consultation_key, "Consultation"),
        (&followup_key, "Follow-up"),
    ] {
        let Some(key) = key else { continue };
        let item =
            find(&items, key).ok_or_else(|| Error::not_found(format!("{what} not found")))?;
        let owner = item.get_str("patientId").map(str::to_owned);
        match (&patient_id, owner) {
            (Some(p), Some(o)) if *p != o => {
                return Err(Error::not_found(format!(
                    "{what} not found for this patient"
                )));
            }
            (None, Some(o)) => patient_id = Some(o),
            _ => {}
        }
    }

    // The launch.
    let locale = req.locale.unwrap_or_else(|| user.preferred_language.into());
    let token = random_token()?;
    let expires_at = now + app.config.launch_ttl_s * 1000;
    let launch = LaunchToken {
        tenant_key: tenant.clone(),
        scope: Scope {
            account_id: account.to_owned(),
            user_id: user.user_id.clone(),
            role: req.view.role(),
            view: req.view,
            locale,
            patient_id: patient_id.clone(),
            consultation_id: req.consultation_id.clone(),
            followup_id: req.followup_id.clone(),
            prefill: req.prefill.clone(),
        },
        issued_at: now,
        expires_at,
        redeemed_at: None,
    };
    let item = repo::item_of(
        repo::launch_key(tenant, &hash_secret(&token)),
        &launch,
        "launch",
    )?;
    writes.insert(
        0,
        Write::Put {
            item: repo::with_ttl(item, expires_at),
            cond: Some(Cond::NotExists),
        },
    );

    // Round trip 2: the launch and the changes it depends on, together.
    if writes.len() == 1 {
        app.store.write(writes.remove(0)).await?;
    } else {
        app.store.transact(writes).await?;
    }

    Ok(Launch {
        user_id: user.user_id.clone(),
        patient_id,
        iframe_url: launch_url(app, tenant, req.view, locale, &token),
        expires_at,
    })
}

/// Plans the session user's writes (none when unchanged, DESIGN.md's
/// `x-integration-user` rules) from one batch read's `items`; returns the
/// user. Shared by every call that acts for a user (v1 launches, v2).
pub(crate) fn user_writes(
    caller: &Caller,
    input: Option<&IntegrationUser>,
    items: &[Item],
    user_key: &Key,
    owner_key: &Key,
    now: i64,
    writes: &mut Vec<Write>,
) -> Result<User> {
    let existing: Option<User> = find(items, user_key).map(repo::entity_of).transpose()?;
    let plan = match input {
        None => UserPlan::Unchanged(
            existing.ok_or_else(|| Error::internal("the API key's owner has no user profile"))?,
        ),
        Some(input) => {
            let owner: Option<User> = find(items, owner_key).map(repo::entity_of).transpose()?;
            plan_user(
                input,
                existing.as_ref(),
                owner.as_ref(),
                &caller.key.account_id,
                caller.franchise.language,
                now,
            )?
        }
    };
    match &plan {
        UserPlan::Unchanged(_) => {}
        UserPlan::Create(u) => writes.push(Write::Put {
            item: repo::item_of(user_key.clone(), u, "user")?,
            cond: Some(Cond::NotExists),
        }),
        UserPlan::Update {
            user,
            changed,
            expected_version,
        } => {
            let mut set = changed.clone();
            set.insert("version".into(), Value::from(user.version));
            set.insert("updatedAt".into(), Value::from(user.updated_at));
            writes.push(Write::Update {
                key: user_key.clone(),
                set,
                remove: vec![],
                cond: Some(Cond::And(vec![
                    Cond::Exists,
                    Cond::version_is(*expected_version),
                ])),
            });
        }
    }
    Ok(plan.user().clone())
}

/// Plans the upsert of a request's patient from one batch read's `items`
/// (none when unchanged); returns its id.
pub(crate) fn patient_writes(
    tenant: &TenantKey,
    input: &PatientInput,
    items: &[Item],
    now: i64,
    writes: &mut Vec<Write>,
) -> Result<String> {
    let index = PatientKeyIndex::read(tenant, &input.keys, items)?;
    let new_id = uuid::Uuid::new_v4().to_string();
    let plan = plan_patient(
        input,
        index.first_match(&input.keys),
        &index.owners,
        tenant,
        &new_id,
        now,
    )?;
    match &plan {
        PatientPlan::Unchanged(_) => {}
        PatientPlan::Create(p) => writes.extend(repo::create_patient_writes(p)?),
        PatientPlan::Update {
            before,
            after,
            changed,
            added_keys,
        } => writes.extend(repo::update_patient_writes(
            before, after, changed, added_keys,
        )?),
    }
    Ok(plan.patient().patient_id.clone())
}

/// Stores a launch for `scope` that lives `ttl_s`, and returns its URL and
/// expiry. For launches that no vendor call asks for: a patient's answer
/// link sent by e-mail (long-lived, still single-use).
pub async fn issue_link(
    app: &App,
    tenant: &TenantKey,
    scope: Scope,
    ttl_s: i64,
) -> Result<(String, i64)> {
    let now = app.now_ms();
    let token = random_token()?;
    let expires_at = now + ttl_s * 1000;
    let (view, locale) = (scope.view, scope.locale);
    let launch = LaunchToken {
        tenant_key: tenant.clone(),
        scope,
        issued_at: now,
        expires_at,
        redeemed_at: None,
    };
    let item = repo::item_of(
        repo::launch_key(tenant, &hash_secret(&token)),
        &launch,
        "launch",
    )?;
    app.store
        .write(Write::Put {
            item: repo::with_ttl(item, expires_at),
            cond: Some(Cond::NotExists),
        })
        .await?;
    Ok((launch_url(app, tenant, view, locale, &token), expires_at))
}

/// `{base}/{locale}/embed/franchise/{tenantKey}/{area}/{view}?session={token}`:
/// nothing in it identifies a person.
pub fn launch_url(
    app: &App,
    tenant: &TenantKey,
    view: View,
    locale: Locale,
    token: &str,
) -> String {
    let (area, slug) = view.segments();
    format!(
        "{}/{locale}/embed/franchise/{tenant}/{area}/{slug}?session={token}",
        app.config.app_base_url
    )
}

/// The outcome of loading a launch URL.
#[derive(Debug)]
pub enum Redemption {
    /// First load: a browser session was started; `token` is its bearer token.
    Started {
        token: String,
        session: Box<BrowserSession>,
    },
    /// Already used, expired, unknown, or for another view.
    Expired,
}

fn plausible_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Redeems a launch token exactly once: of concurrent loads, the one whose
/// conditional write lands first wins; the others see `Expired`.
pub async fn redeem(app: &App, tenant: &TenantKey, view: View, token: &str) -> Result<Redemption> {
    if !plausible_token(token) {
        return Ok(Redemption::Expired);
    }
    let launch_key = repo::launch_key(tenant, &hash_secret(token));
    let Some(item) = app.store.get(&launch_key).await? else {
        return Ok(Redemption::Expired);
    };
    let launch: LaunchToken = repo::entity_of(&item)?;
    let now = app.now_ms();
    if launch.redeemed_at.is_some() || launch.expires_at <= now || launch.scope.view != view {
        return Ok(Redemption::Expired);
    }
    let session_token = random_token()?;
    let session = BrowserSession {
        tenant_key: tenant.clone(),
        scope: launch.scope,
        created_at: now,
        expires_at: now + app.config.session_ttl_s * 1000,
    };
    let mut redeemed = serde_json::Map::new();
    redeemed.insert("redeemedAt".into(), Value::from(now));
    let session_item = repo::item_of(
        repo::session_key(tenant, &hash_secret(&session_token)),
        &session,
        "session",
    )?;
    let result = app
        .store
        .transact(vec![
            Write::Update {
                key: launch_key,
                set: redeemed,
                remove: vec![],
                cond: Some(Cond::And(vec![
                    Cond::Exists,
                    Cond::AttrNotExists("redeemedAt".into()),
                ])),
            },
            Write::Put {
                item: repo::with_ttl(session_item, session.expires_at),
                cond: Some(Cond::NotExists),
            },
        ])
        .await;
    match result {
        Ok(()) => Ok(Redemption::Started {
            token: session_token,
            session: Box::new(session),
        }),
        Err(e) if e.is_condition_failure() => Ok(Redemption::Expired),
        Err(e) => Err(e.into()),
    }
}

/// The live browser session a bearer token stands for, in this franchise.
pub async fn session(app: &App, tenant: &TenantKey, token: &str) -> Result<Option<BrowserSession>> {
    if !plausible_token(token) {
        return Ok(None);
    }
    let Some(item) = app
        .store
        .get(&repo::session_key(tenant, &hash_secret(token)))
        .await?
    else {
        return Ok(None);
    };
    let session: BrowserSession = repo::entity_of(&item)?;
    Ok((session.expires_at > app.now_ms()).then_some(session))
}
