//! Patient-side tokens: an SSO token issued to the vendor's server for one
//! patient (256 random bits, stored as its hash, 1 hour by default, 5
//! minutes to 24 hours), the patient app's browser session it is
//! exchanged for at `/auth`, and a guest's session from a join code. All
//! are `{tenantKey}.{tokenId}.{secret}`: the franchise decides, the id is
//! the lookup key, the secret is compared in constant time.

use super::Actor;
use crate::app::App;
use crate::crypto::{ct_eq, hash_secret, random_hex, random_token};
use crate::domain::clinic::{ClinicToken, JoinCode, PresentedToken, TokenKind, Visit};
use crate::domain::{Franchise, FranchiseStatus, PatientId, PatientInput, TenantKey, VisitId};
use crate::error::{Error, Result};
use crate::services::auth::{self, Caller};
use crate::services::people::{self, ReadSet};
use crate::store::clinic_items::{join_code_visit, token_item};
use crate::store::{Cond, Write, items, keys};

pub const SSO_TTL_DEFAULT_S: i64 = 3600;
pub const SSO_TTL_MIN_S: i64 = 300;
pub const SSO_TTL_MAX_S: i64 = 24 * 3600;

/// A token just made: what the holder gets, once.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub record: ClinicToken,
}

pub(crate) fn new_token(
    tenant: &TenantKey,
    kind: TokenKind,
    patient: Option<PatientId>,
    visit: Option<VisitId>,
    guest_name: Option<String>,
    now: i64,
    ttl_ms: i64,
) -> Result<Issued> {
    let presented = PresentedToken {
        tenant: tenant.clone(),
        id: random_hex(16)?,
        secret: random_token()?,
    };
    let record = ClinicToken {
        tenant_key: tenant.clone(),
        token_id: presented.id.clone(),
        kind,
        patient_id: patient,
        visit_id: visit,
        guest_name,
        participant_id: None,
        secret_hash: hash_secret(&presented.secret),
        created_at: now,
        expires_at: now + ttl_ms,
    };
    Ok(Issued {
        token: presented.expose(),
        record,
    })
}

/// `POST /v2/patients/sso`: upserts the patient by key (as every vendor
/// call does: one batch read, one write) and issues its SSO token.
pub async fn issue_sso(
    app: &App,
    caller: &Caller,
    patient: &PatientInput,
    ttl_s: Option<i64>,
) -> Result<(PatientId, Issued)> {
    let ttl_s = ttl_s.unwrap_or(SSO_TTL_DEFAULT_S);
    if !(SSO_TTL_MIN_S..=SSO_TTL_MAX_S).contains(&ttl_s) {
        return Err(Error::invalid(format!(
            "expiresInSeconds must be from {SSO_TTL_MIN_S} to {SSO_TTL_MAX_S}"
        )));
    }
    let tenant = caller.tenant();
    crate::services::retry::retry_lost_races(
        "The patient changed meanwhile; try again",
        crate::services::retry::always,
        || async {
            let read = ReadSet::new(caller, None)
                .patient_keys(
                    tenant,
                    &app.patient_keys,
                    patient.keys.iter().map(|k| k.key.as_str()),
                )
                .read(app)
                .await?;
            let now = app.now_ms();
            let mut writes = Vec::new();
            let pid = people::patient_writes(
                tenant,
                &app.patient_keys,
                patient,
                &read,
                now,
                &mut writes,
            )?;
            let issued = new_token(
                tenant,
                TokenKind::Sso,
                Some(pid.clone()),
                None,
                None,
                now,
                ttl_s * 1000,
            )?;
            writes.push(items::put_new(token_item(&issued.record)?));
            write_all(app, writes).await?;
            Ok((pid, issued))
        },
    )
    .await
}

/// One write alone, or a transaction.
pub(crate) async fn write_all(app: &App, mut writes: Vec<Write>) -> Result<()> {
    if writes.len() == 1 {
        if let Some(w) = writes.pop() {
            app.store.write(w).await?;
        }
        return Ok(());
    }
    app.store.transact(writes).await?;
    Ok(())
}

/// The franchise of a token, if it is open for business.
async fn franchise_of(app: &App, tenant: &TenantKey) -> Result<Franchise> {
    let f = auth::franchise(app, tenant)
        .await?
        .ok_or(Error::Unauthorized)?;
    if f.status == FranchiseStatus::Offboarded {
        return Err(Error::Unauthorized);
    }
    Ok(f)
}

/// The live token `raw` stands for, of one of `kinds` (else `401`).
pub async fn verify(app: &App, raw: &str, kinds: &[TokenKind]) -> Result<(ClinicToken, Franchise)> {
    let presented = PresentedToken::parse(raw).ok_or(Error::Unauthorized)?;
    let key = keys::clinic_token_key(&presented.tenant, &presented.id);
    let record: ClinicToken = crate::services::find(app, &key)
        .await?
        .ok_or(Error::Unauthorized)?;
    let ok = ct_eq(&hash_secret(&presented.secret), &record.secret_hash);
    if !ok || !kinds.contains(&record.kind) || record.expires_at <= app.now_ms() {
        return Err(Error::Unauthorized);
    }
    let franchise = franchise_of(app, &presented.tenant).await?;
    Ok((record, franchise))
}

/// The actor of a bearer token (an SSO token, a patient-app or a guest
/// session).
pub async fn actor_of(app: &App, raw: &str) -> Result<Actor> {
    let kinds = [TokenKind::Sso, TokenKind::Session, TokenKind::Guest];
    let (t, franchise) = verify(app, raw, &kinds).await?;
    actor_from(t, franchise)
}

/// The actor of a token verified before (a live connection's, whose later
/// frames carry only its id): still there, still live, else `401`.
pub async fn actor_of_held(app: &App, tenant: &TenantKey, token_id: &str) -> Result<Actor> {
    let key = keys::clinic_token_key(tenant, token_id);
    let t: ClinicToken = crate::services::find(app, &key)
        .await?
        .ok_or(Error::Unauthorized)?;
    if t.expires_at <= app.now_ms() {
        return Err(Error::Unauthorized);
    }
    let franchise = franchise_of(app, tenant).await?;
    actor_from(t, franchise)
}

fn actor_from(t: ClinicToken, franchise: Franchise) -> Result<Actor> {
    match (t.kind, t.patient_id, t.visit_id) {
        (TokenKind::Guest, _, Some(visit_id)) => Ok(Actor::Guest {
            franchise,
            visit_id,
            name: t.guest_name.unwrap_or_default(),
            token_id: t.token_id,
            participant_id: t.participant_id,
        }),
        (kind, Some(patient_id), _) if kind != TokenKind::Guest => Ok(Actor::Patient {
            franchise,
            patient_id,
            kind,
            token_id: t.token_id,
        }),
        _ => Err(Error::Unauthorized),
    }
}

/// `DELETE /v2/patients/sso/{tokenId}` (or a logout): the token stops
/// working at once. `404` when there is none.
pub async fn revoke(app: &App, tenant: &TenantKey, token_id: &str) -> Result<()> {
    if !crate::domain::ids::is_id(token_id) {
        return Err(Error::not_found("Token not found"));
    }
    let write = Write::Delete {
        key: keys::clinic_token_key(tenant, token_id),
        cond: Some(Cond::Exists),
    };
    match app.store.write(write).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition_failure() => Err(Error::not_found("Token not found")),
        Err(e) => Err(e.into()),
    }
}

/// `/auth`: an SSO token becomes a patient-app session (the session lives
/// as the embedded app's do); `once`: the SSO token dies with this login.
pub async fn login(app: &App, sso: &str, once: bool) -> Result<(Issued, Franchise)> {
    let (t, franchise) = verify(app, sso, &[TokenKind::Sso]).await?;
    let now = app.now_ms();
    let issued = new_token(
        &t.tenant_key,
        TokenKind::Session,
        t.patient_id.clone(),
        None,
        None,
        now,
        app.config.session_ttl_s * 1000,
    )?;
    let put = items::put_new(token_item(&issued.record)?);
    if once {
        let burn = Write::Delete {
            key: keys::clinic_token_key(&t.tenant_key, &t.token_id),
            cond: Some(Cond::Exists),
        };
        // Two logins with one `once` token at once: one wins.
        app.store.transact(vec![put, burn]).await.map_err(|e| {
            if e.is_condition_failure() {
                Error::Unauthorized
            } else {
                e.into()
            }
        })?;
    } else {
        app.store.write(put).await?;
    }
    Ok((issued, franchise))
}

/// A guest enters with a join code and a name: a guest session of that
/// visit only, while the visit is live.
pub async fn join(app: &App, code: &str, name: &str) -> Result<(Issued, Visit)> {
    let code = JoinCode::parse(code).ok_or_else(|| Error::not_found("Unknown join link"))?;
    franchise_of(app, &code.tenant)
        .await
        .map_err(|_| Error::not_found("Unknown join link"))?;
    let key = keys::join_code_key(&code.tenant, &hash_secret(&code.code));
    let item = app.store.get(&key).await?;
    let visit_id = item
        .as_ref()
        .and_then(join_code_visit)
        .ok_or_else(|| Error::not_found("Unknown join link"))?;
    let visit: Visit = crate::services::get(
        app,
        &keys::visit_key(&code.tenant, &visit_id),
        "Unknown join link",
    )
    .await?;
    if !visit.is_live() {
        return Err(Error::conflict("This visit has ended"));
    }
    let now = app.now_ms();
    let issued = new_token(
        &code.tenant,
        TokenKind::Guest,
        None,
        Some(visit_id),
        Some(name.to_owned()),
        now,
        app.config.session_ttl_s * 1000,
    )?;
    app.store
        .write(items::put_new(token_item(&issued.record)?))
        .await?;
    Ok((issued, visit))
}

// ---- CORS of the patient endpoints ----------------------------------------

/// Whether some franchise allows `origin` (a browser's preflight carries
/// no token: it is answered for the origins of the origin index).
pub async fn origin_allowed_somewhere(app: &App, origin: &crate::domain::Origin) -> Result<bool> {
    let item = app
        .store
        .get(&keys::cors_origin_key(origin.as_str()))
        .await?;
    Ok(crate::store::clinic_items::origin_allowed_somewhere(
        item.as_ref(),
    ))
}

/// Whether the franchise of a bearer token (read from the token's own
/// tenant part, not yet verified) allows `origin`: only then does an
/// answer carry CORS headers.
pub async fn origin_allowed_for_token(
    app: &App,
    raw_token: &str,
    origin: &crate::domain::Origin,
) -> Result<bool> {
    let Some(tenant) = raw_token.split('.').next().and_then(TenantKey::parse) else {
        return Ok(false);
    };
    let franchise = auth::franchise(app, &tenant).await?;
    Ok(franchise.is_some_and(|f| f.allowed_origins.contains(origin)))
}

/// A patient-app session for the patient of a visit (its appointment link
/// opened it).
pub async fn patient_session(app: &App, v: &Visit) -> Result<Issued> {
    let issued = new_token(
        &v.tenant_key,
        TokenKind::Session,
        Some(v.patient_id.clone()),
        None,
        None,
        app.now_ms(),
        app.config.session_ttl_s * 1000,
    )?;
    app.store
        .write(items::put_new(token_item(&issued.record)?))
        .await?;
    Ok(issued)
}
