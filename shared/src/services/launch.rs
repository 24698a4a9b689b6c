//! Launches: a vendor asks for a view; we upsert the user and the patient,
//! and issue a single-use presigned URL whose scope records what its
//! session may reach (`domain::Reach`). The page's `POST` (never a `GET`:
//! see `http/pages/entry.rs`) redeems it into a browser session.
//!
//! The budget of a vendor call is kept by construction: one `BatchGetItem`
//! reads everything the call needs (`people::ReadSet`: the user, the owner
//! to clone from, the patient-key index items, the consultation or
//! follow-up in scope), and one write — a single put or one
//! `TransactWriteItems` — stores the launch with whatever user and patient
//! changes it depends on. Two round trips, whatever the request; an
//! unchanged user adds no write. Uniqueness (one patient per key, one user
//! per id) is enforced by the conditions of that write; when a concurrent
//! call wins the race, the whole call is planned again from a fresh read
//! (`retry`).

use super::auth::KeyAuth;
use super::people::{self, ReadSet};
use super::retry::{always, retry_lost_races};
use super::revocation;
use crate::app::App;
use crate::crypto::{ct_eq, hash_secret, random_token};
use crate::domain::links;
use crate::domain::{
    BrowserSession, ConsultationId, FollowupId, IntegrationUser, LaunchToken, Locale, Needs,
    PatientId, PatientInput, Prefill, Reach, Scope, TenantKey, UserId, View,
};
use crate::error::{Error, Result};
use crate::metrics::Counter;
use crate::store::{Cond, Write, items, keys};

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
    pub consultation_id: Option<ConsultationId>,
    pub followup_id: Option<FollowupId>,
    pub prefill: Option<Prefill>,
    /// The vendor asked for the whole franchise (`scope: "franchise"`)
    /// rather than what the view is for ([`Reach::of_launch`]).
    pub franchise_scope: bool,
    /// The room a provider's view opens on (`roomCode`).
    pub room_code: Option<crate::domain::clinic::RoomCode>,
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
            franchise_scope: false,
            room_code: None,
        }
    }
}

/// An issued launch, as the vendor API returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    pub user_id: UserId,
    pub patient_id: Option<PatientId>,
    pub iframe_url: String,
    pub expires_at: i64,
}

/// Issues the launch a vendor call asks for (its franchise read in the
/// call's batch when not cached: [`KeyAuth`]).
pub async fn issue(app: &App, auth: &KeyAuth, req: &LaunchRequest) -> Result<Launch> {
    let req = &scoped(req);
    check_needs(req)?;
    let launch = retry_lost_races(
        "The request conflicted with concurrent changes to the same user or patient; retry it",
        always,
        || try_issue(app, auth, req),
    )
    .await?;
    app.metrics().count(Counter::LaunchesIssued, 1);
    Ok(launch)
}

/// The request without what its view does not use: vendors often send the
/// same parameters to every view (a client that always passes a
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
    if !matches!(needs, Needs::FollowupOrPatient | Needs::Followup) {
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
        Needs::Followup => req
            .followup_id
            .is_none()
            .then_some("followupId is required for this view"),
        Needs::OptionalPatient | Needs::Nothing => None,
    };
    missing.map_or(Ok(()), |m| Err(Error::invalid(m)))
}

async fn try_issue(app: &App, auth: &KeyAuth, req: &LaunchRequest) -> Result<Launch> {
    let tenant = auth.tenant();
    let now = app.now_ms();

    // Round trip 1: everything the call reads, in one batch.
    let key_values: Vec<&str> = match &req.patient {
        PatientRef::None => Vec::new(),
        PatientRef::Upsert(input) => input.keys.iter().map(|k| k.key.as_str()).collect(),
        PatientRef::ByKey { key, .. } => vec![key.as_str()],
    };
    let consultation_key = req
        .consultation_id
        .as_ref()
        .map(|id| keys::consultation_key(tenant, id));
    let followup_key = req
        .followup_id
        .as_ref()
        .map(|id| keys::followup_key(tenant, id));
    let read = ReadSet::for_key(auth, req.user.as_ref())
        .patient_keys(tenant, &app.patient_keys, key_values)
        .with(consultation_key.clone())
        .with(followup_key.clone())
        .read(app)
        .await?;
    let caller = &read.caller(app).await?;

    let mut writes = Vec::new();
    let user = people::user_writes(caller, req.user.as_ref(), &read, now, &mut writes)?;
    let mut patient_id = match &req.patient {
        PatientRef::None => None,
        PatientRef::Upsert(input) => Some(people::patient_writes(
            tenant,
            &app.patient_keys,
            input,
            &read,
            now,
            &mut writes,
        )?),
        PatientRef::ByKey { key, sub_system } => {
            let item = read.find(&keys::patient_key_index(tenant, &app.patient_keys, key));
            Some(people::patient_by_key(item, sub_system.as_deref())?)
        }
    };

    // The consultation or follow-up in scope must exist in this franchise;
    // it also tells whose it is.
    for (key, what) in [
        (&consultation_key, "Consultation"),
        (&followup_key, "Follow-up"),
    ] {
        let Some(key) = key else { continue };
        if read.find(key).is_none() {
            return Err(Error::not_found(format!("{what} not found")));
        }
        match (&patient_id, read.owner_of(key)?) {
            (Some(p), Some(o)) if *p != o => {
                return Err(Error::not_found(format!(
                    "{what} not found for this patient"
                )));
            }
            (None, Some(o)) => patient_id = Some(o),
            _ => {}
        }
    }

    // The launch, and round trip 2: it and the changes it depends on.
    let locale = req.locale.unwrap_or_else(|| user.preferred_language.into());
    let reach = Reach::of_launch(
        req.view,
        patient_id.as_ref(),
        req.consultation_id.as_ref(),
        req.followup_id.as_ref(),
        req.franchise_scope,
    )
    .map(|r| match r {
        Reach::Provider { .. } => Reach::Provider {
            room_code: req.room_code.clone(),
        },
        other => other,
    });
    let scope = Scope {
        account_id: caller.key.account_id.clone(),
        user_id: user.user_id.clone(),
        role: req.view.role(),
        view: req.view,
        locale,
        patient_id: patient_id.clone(),
        consultation_id: req.consultation_id.clone(),
        followup_id: req.followup_id.clone(),
        prefill: req.prefill.clone(),
        reach,
        key_id: Some(caller.key.key_id.clone()),
        key_expires_at: caller.key.expires_at,
    };
    let (launch, iframe_url, expires_at) = new_launch(app, tenant, scope, app.config.launch_ttl_s)?;
    writes.insert(0, launch);
    if writes.len() == 1 {
        app.store.write(writes.remove(0)).await?;
    } else {
        app.store.transact(writes).await?;
    }
    Ok(Launch {
        user_id: user.user_id,
        patient_id,
        iframe_url,
        expires_at,
    })
}

/// A new launch of `scope` that lives `ttl_s`: the write that stores it
/// (under the hash of its token), its URL and its expiry. The one way a
/// launch is made.
fn new_launch(
    app: &App,
    tenant: &TenantKey,
    scope: Scope,
    ttl_s: i64,
) -> Result<(Write, String, i64)> {
    let now = app.now_ms();
    let token = random_token()?;
    let expires_at = now + ttl_s * 1000;
    let url = links::launch_url(
        &app.config.app_base_url,
        scope.locale,
        tenant,
        scope.view,
        &token,
    );
    let launch = LaunchToken {
        tenant_key: tenant.clone(),
        scope,
        issued_at: now,
        expires_at,
        redeemed_at: None,
        nonce_hash: None,
    };
    let key = keys::launch_key(tenant, &hash_secret(&token));
    let item = items::with_ttl(items::item_of(key, &launch, "launch")?, expires_at);
    Ok((items::put_new(item), url, expires_at))
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
    let (write, url, expires_at) = new_launch(app, tenant, scope, ttl_s)?;
    app.store.write(write).await?;
    app.metrics().count(Counter::LaunchesIssued, 1);
    Ok((url, expires_at))
}

/// The outcome of redeeming a launch.
#[derive(Debug)]
pub enum Redemption {
    /// A browser session was started; `token` is its bearer token.
    Started {
        token: String,
        session: Box<BrowserSession>,
    },
    /// Already used (by another page, or too long ago), expired, unknown,
    /// or for another view.
    Expired,
}

fn plausible_token(token: &str) -> bool {
    token.len() == 43 && url_safe(token)
}

fn url_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A page's nonce: 16 to 64 base64url characters (the page's script makes
/// 32 random bytes).
pub fn plausible_nonce(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len()) && url_safe(nonce)
}

/// How long the page that redeemed a launch may redeem it again (with the
/// same nonce) and get the same session: its first answer may have been
/// lost (a render failure, a dropped connection).
pub const REDEEM_AGAIN_MS: i64 = 10_000;

/// The session token of a launch redeemed by the page of `nonce`: derived,
/// not stored (`HMAC(session key, launch token ‖ nonce)`), so that the same
/// page redeeming again finds the same session, and no one else can.
fn session_token(app: &App, launch_token: &str, nonce: &str) -> String {
    app.config
        .secret
        .derive("embedcare/session/v1")
        .token(&[launch_token.as_bytes(), nonce.as_bytes()])
}

/// Redeems a launch token for the page of `nonce`, once: of concurrent
/// redemptions, the one whose conditional write lands first wins; the
/// others see `Expired` — except the winning page itself, which gets the
/// same session again for [`REDEEM_AGAIN_MS`].
pub async fn redeem(
    app: &App,
    tenant: &TenantKey,
    view: View,
    token: &str,
    nonce: &str,
) -> Result<Redemption> {
    let redemption = try_redeem(app, tenant, view, token, nonce).await?;
    if matches!(redemption, Redemption::Expired) {
        app.metrics().count(Counter::RedemptionsExpired, 1);
    }
    Ok(redemption)
}

/// [`redeem`], uncounted but for the redemption that lands.
async fn try_redeem(
    app: &App,
    tenant: &TenantKey,
    view: View,
    token: &str,
    nonce: &str,
) -> Result<Redemption> {
    if !plausible_token(token) || !plausible_nonce(nonce) {
        return Ok(Redemption::Expired);
    }
    let launch_key = keys::launch_key(tenant, &hash_secret(token));
    let Some(item) = app.store.get(&launch_key).await? else {
        return Ok(Redemption::Expired);
    };
    let launch: LaunchToken = items::entity_of(&item)?;
    let now = app.now_ms();
    if launch.expires_at <= now || launch.scope.view != view {
        return Ok(Redemption::Expired);
    }
    if !revocation::still_valid(app, tenant, &launch.scope, launch.issued_at).await? {
        return Ok(Redemption::Expired);
    }
    let session_token = session_token(app, token, nonce);
    if launch.redeemed_at.is_some() {
        return again(app, tenant, &launch, nonce, &session_token).await;
    }
    let session = BrowserSession {
        tenant_key: tenant.clone(),
        scope: launch.scope,
        created_at: now,
        expires_at: now + app.config.session_ttl_s * 1000,
    };
    let mut redeemed = serde_json::Map::new();
    redeemed.insert("redeemedAt".into(), now.into());
    redeemed.insert("nonceHash".into(), hash_secret(nonce).into());
    let session_key = keys::session_key(tenant, &hash_secret(&session_token));
    let session_item = items::item_of(session_key, &session, "session")?;
    let result = app
        .store
        .transact(vec![
            Write::Update {
                key: launch_key.clone(),
                set: redeemed,
                remove: vec![],
                add: vec![],
                cond: Some(Cond::And(vec![
                    Cond::Exists,
                    Cond::AttrNotExists("redeemedAt".into()),
                ])),
            },
            items::put_new(items::with_ttl(session_item, session.expires_at)),
        ])
        .await;
    match result {
        Ok(()) => {
            app.metrics().count(Counter::LaunchesRedeemed, 1);
            Ok(Redemption::Started {
                token: session_token,
                session: Box::new(session),
            })
        }
        // Another redemption landed first: this page's own (a double
        // submit), or another's.
        Err(e) if e.is_condition_failure() => match app.store.get(&launch_key).await? {
            Some(item) => {
                let launch: LaunchToken = items::entity_of(&item)?;
                again(app, tenant, &launch, nonce, &session_token).await
            }
            None => Ok(Redemption::Expired),
        },
        Err(e) => Err(e.into()),
    }
}

/// A launch already redeemed: its session again if this is the page that
/// redeemed it, a moment ago; else `Expired`.
async fn again(
    app: &App,
    tenant: &TenantKey,
    launch: &LaunchToken,
    nonce: &str,
    session_token: &str,
) -> Result<Redemption> {
    let same_page = launch
        .nonce_hash
        .as_deref()
        .is_some_and(|h| ct_eq(h, &hash_secret(nonce)));
    let recent = launch
        .redeemed_at
        .is_some_and(|at| app.now_ms() - at < REDEEM_AGAIN_MS);
    if !(same_page && recent) {
        return Ok(Redemption::Expired);
    }
    Ok(match session(app, tenant, session_token).await? {
        Some(session) => Redemption::Started {
            token: session_token.to_owned(),
            session: Box::new(session),
        },
        None => Redemption::Expired,
    })
}

/// The live browser session a bearer token stands for, in this franchise:
/// every page render and page action asks here. A session of an offboarded
/// franchise, of before its `sessionsValidAfter`, or of a revoked or
/// expired API key is no session (`revocation`).
pub async fn session(app: &App, tenant: &TenantKey, token: &str) -> Result<Option<BrowserSession>> {
    if !plausible_token(token) {
        return Ok(None);
    }
    let key = keys::session_key(tenant, &hash_secret(token));
    let Some(item) = app.store.get(&key).await? else {
        return Ok(None);
    };
    let session: BrowserSession = items::entity_of(&item)?;
    if session.expires_at <= app.now_ms()
        || !revocation::still_valid(app, tenant, &session.scope, session.created_at).await?
    {
        return Ok(None);
    }
    Ok(Some(session))
}
