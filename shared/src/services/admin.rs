//! Operator operations: accounts, franchises, API keys; and a franchise's
//! onboarding and offboarding (from its administration pages). Used by the
//! `embedcare` command-line tool (against the embedded store or DynamoDB),
//! by the demo seeding of the local server, and by the pages. The operator
//! names things by strings: an id that cannot exist is simply not found.

use serde::de::DeserializeOwned;

use super::retry::conflict;
use crate::app::App;
use crate::crypto::{PresentedKey, hash_secret};
use crate::domain::account::REVOKED_KEPT_MS;
use crate::domain::clinic::TimeZoneName;
use crate::domain::{
    Account, AccountId, ApiKeyRecord, Email, Franchise, FranchiseStatus, KeyId, Language, Origin,
    TenantKey, User, UserId,
};
use crate::error::{Error, Result};
use crate::events::{Event, outbox};
use crate::store::clinic_items::cors_origin_writes;
use crate::store::{Cond, Index, Query, Write, items, keys};

pub async fn create_account(app: &App, name: &str) -> Result<Account> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(Error::invalid("an account name is 1 to 200 characters"));
    }
    let account = Account {
        account_id: AccountId::generate(),
        name: name.to_owned(),
        created_at: app.now_ms(),
        version: 1,
    };
    let key = keys::account_key(&account.account_id);
    app.store
        .write(items::put_new(items::item_of(key, &account, "account")?))
        .await?;
    Ok(account)
}

pub async fn account(app: &App, account_id: &str) -> Result<Account> {
    let missing = format!("no account {account_id}");
    let id = AccountId::parse(account_id).ok_or_else(|| Error::not_found(&missing))?;
    super::get(app, &keys::account_key(&id), &missing).await
}

pub struct NewFranchise<'a> {
    pub account_id: &'a str,
    pub tenant_key: &'a str,
    pub name: &'a str,
    pub language: Language,
    pub allowed_origins: &'a [String],
}

/// Origins as the operator gives them: each one an origin, `https://`
/// unless it is this machine's (`Origin::is_secure`).
fn parse_origins(raw: &[String]) -> Result<Vec<Origin>> {
    let mut origins = Vec::new();
    for o in raw {
        let origin = Origin::parse(o).ok_or_else(|| {
            Error::invalid(format!("{o:?} is not an origin (scheme://host[:port])"))
        })?;
        if !origin.is_secure() {
            return Err(Error::invalid(format!(
                "{o:?}: an origin is https:// (http:// only for localhost and 127.0.0.1)"
            )));
        }
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

pub async fn create_franchise(app: &App, new: NewFranchise<'_>) -> Result<Franchise> {
    let account = account(app, new.account_id).await?;
    let tenant_key = TenantKey::parse(new.tenant_key).ok_or_else(|| {
        Error::invalid("a tenant key is 1 to 63 lower-case letters, digits or '-'")
    })?;
    let now = app.now_ms();
    let franchise = Franchise {
        tenant_key: tenant_key.clone(),
        account_id: account.account_id,
        name: new.name.trim().to_owned(),
        language: new.language,
        allowed_origins: parse_origins(new.allowed_origins)?,
        time_zone: TimeZoneName::default_zone(),
        status: FranchiseStatus::Active,
        terms_accepted_by: None,
        terms_accepted_at: None,
        contact_email: None,
        sessions_valid_after: None,
        revoked_keys: vec![],
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut writes = vec![items::put_new(items::franchise_item(&franchise)?)];
    let origins: Vec<&str> = franchise
        .allowed_origins
        .iter()
        .map(|o| o.as_str())
        .collect();
    writes.extend(cors_origin_writes(&tenant_key, &origins, &[]));
    conflict(
        app.store.transact(writes).await.map_err(Into::into),
        format!("a franchise {tenant_key} already exists"),
    )?;
    Ok(franchise)
}

pub async fn franchise(app: &App, tenant: &str) -> Result<Franchise> {
    let t = TenantKey::parse(tenant).ok_or_else(|| Error::invalid("invalid tenant key"))?;
    super::get(
        app,
        &keys::franchise_key(&t),
        &format!("no franchise {tenant}"),
    )
    .await
}

/// Every entity of an index partition, page after page (operator tooling:
/// small partitions).
async fn all_of<T: DeserializeOwned>(app: &App, partition: String) -> Result<Vec<T>> {
    let mut q = Query::partition(Index::Gsi1, partition);
    let mut out = Vec::new();
    loop {
        let page = app.store.query(&q).await?;
        for item in &page.items {
            out.push(items::entity_of(item)?);
        }
        match page.next {
            Some(next) => q.start_after = Some(next),
            None => return Ok(out),
        }
    }
}

pub async fn list_franchises(app: &App, account_id: &str) -> Result<Vec<Franchise>> {
    match AccountId::parse(account_id) {
        Some(id) => all_of(app, keys::account_franchises_index(&id)).await,
        None => Ok(Vec::new()),
    }
}

/// Adds origins allowed to frame a franchise's pages.
pub async fn add_origins(app: &App, tenant: &str, origins: &[String]) -> Result<Franchise> {
    let mut f = franchise(app, tenant).await?;
    let mut added = Vec::new();
    for o in parse_origins(origins)? {
        if !f.allowed_origins.contains(&o) {
            f.allowed_origins.push(o.clone());
            added.push(o);
        }
    }
    if added.is_empty() {
        return Ok(f);
    }
    let expected = f.version;
    f.version += 1;
    f.updated_at = app.now_ms();
    save_franchise(app, &f, &["allowedOrigins"], expected, None).await?;
    let added: Vec<&str> = added.iter().map(|o| o.as_str()).collect();
    sync_cors_index(app, &f.tenant_key, &added, &[]).await?;
    Ok(f)
}

/// The origin index follows a franchise's allowed origins (written after
/// the franchise: it only lets a browser's preflight through, every
/// answer checks the franchise itself).
async fn sync_cors_index(
    app: &App,
    tenant: &TenantKey,
    added: &[&str],
    removed: &[&str],
) -> Result<()> {
    for w in cors_origin_writes(tenant, added, removed) {
        app.store.write(w).await?;
    }
    Ok(())
}

/// Stops allowing origins to frame a franchise's pages (and to receive its
/// browser messages). Origins it does not have are ignored; they need not
/// pass today's rules (an old `http://` one can be removed).
pub async fn remove_origins(app: &App, tenant: &str, origins: &[String]) -> Result<Franchise> {
    let mut f = franchise(app, tenant).await?;
    let mut gone = Vec::new();
    for o in origins {
        gone.push(Origin::parse(o).ok_or_else(|| {
            Error::invalid(format!("{o:?} is not an origin (scheme://host[:port])"))
        })?);
    }
    let before = f.allowed_origins.len();
    f.allowed_origins.retain(|o| !gone.contains(o));
    if f.allowed_origins.len() == before {
        return Ok(f);
    }
    let expected = f.version;
    f.version += 1;
    f.updated_at = app.now_ms();
    save_franchise(app, &f, &["allowedOrigins"], expected, None).await?;
    let removed: Vec<&str> = gone.iter().map(|o| o.as_str()).collect();
    sync_cors_index(app, &f.tenant_key, &[], &removed).await?;
    Ok(f)
}

/// Sets the IANA time zone of a franchise (its rooms' hours and its
/// providers' availability are in its local time).
pub async fn set_time_zone(app: &App, tenant: &str, zone: &str) -> Result<Franchise> {
    let mut f = franchise(app, tenant).await?;
    f.time_zone = TimeZoneName::parse(zone).ok_or_else(|| {
        Error::invalid(format!(
            "{zone:?} is not a time zone (e.g. America/Toronto)"
        ))
    })?;
    let expected = f.version;
    f.version += 1;
    f.updated_at = app.now_ms();
    let key = keys::franchise_key(&f.tenant_key);
    app.store
        .write(items::update_of(key, &f, &["timeZone"], expected)?)
        .await?;
    app.franchises.invalidate(f.tenant_key.as_str());
    Ok(f)
}

/// Sets (or, with `None`, removes) the address the operator tells the
/// franchise about its integration at (a webhook endpoint disabled).
pub async fn set_contact_email(app: &App, tenant: &str, email: Option<&str>) -> Result<Franchise> {
    let mut f = franchise(app, tenant).await?;
    let email = email
        .map(|e| Email::parse(e).ok_or_else(|| Error::invalid("invalid e-mail")))
        .transpose()?;
    if f.contact_email == email {
        return Ok(f);
    }
    let expected = f.version;
    f.contact_email = email;
    f.version += 1;
    f.updated_at = app.now_ms();
    // The whole item: an update cannot remove an attribute by setting it.
    let item = items::franchise_item(&f)?;
    conflict(
        app.store
            .write(Write::Put {
                item,
                cond: Some(items::at_version(expected)),
            })
            .await
            .map_err(Into::into),
        "The franchise changed meanwhile",
    )?;
    app.franchises.invalidate(f.tenant_key.as_str());
    Ok(f)
}

/// The key's owner: an existing user of the account, or a new one.
pub enum Owner {
    Existing(String),
    New {
        user_id: String,
        first_name: String,
        last_name: String,
        email: String,
        license_number: Option<String>,
        language: Language,
    },
}

pub struct NewApiKey<'a> {
    pub account_id: &'a str,
    pub tenant_keys: &'a [String],
    pub owner: Owner,
    pub label: &'a str,
    /// When the key stops working by itself (epoch ms); `None`: never.
    pub expires_at: Option<i64>,
}

fn user_id(id: &str) -> Result<UserId> {
    UserId::parse(id).ok_or_else(|| Error::invalid("invalid user id"))
}

/// Creates a key. The returned secret is shown once and never stored.
pub async fn create_api_key(app: &App, new: NewApiKey<'_>) -> Result<(ApiKeyRecord, String)> {
    let account_id = account(app, new.account_id).await?.account_id;
    if new.tenant_keys.is_empty() {
        return Err(Error::invalid("a key is linked to at least one franchise"));
    }
    let mut tenants = Vec::new();
    for t in new.tenant_keys {
        let f = franchise(app, t).await?;
        if f.account_id != account_id {
            return Err(Error::not_found(format!(
                "no franchise {t} in this account"
            )));
        }
        if !tenants.contains(&f.tenant_key) {
            tenants.push(f.tenant_key);
        }
    }
    let now = app.now_ms();
    if new.expires_at.is_some_and(|e| e <= now) {
        return Err(Error::invalid("a key's expiry must be in the future"));
    }
    let mut writes = Vec::new();
    let owner_user_id = match new.owner {
        Owner::Existing(id) => {
            let uid = user_id(&id)?;
            writes.push(Write::Check {
                key: keys::user_key(&account_id, &uid),
                cond: Cond::Exists,
            });
            uid
        }
        Owner::New {
            user_id: id,
            first_name,
            last_name,
            email,
            license_number,
            language,
        } => {
            let user = User {
                account_id: account_id.clone(),
                user_id: user_id(&id)?,
                first_name,
                last_name,
                email: Email::parse(&email).ok_or_else(|| Error::invalid("invalid e-mail"))?,
                license_number,
                preferred_language: language,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            let key = keys::user_key(&account_id, &user.user_id);
            writes.push(items::put_new(items::item_of(key, &user, "user")?));
            user.user_id
        }
    };
    let presented = PresentedKey::generate()?;
    let record = ApiKeyRecord {
        key_id: presented.key_id.clone(),
        account_id,
        secret_hash: hash_secret(&presented.secret),
        tenant_keys: tenants,
        owner_user_id,
        label: new.label.trim().to_owned(),
        created_at: now,
        revoked_at: None,
        expires_at: new.expires_at,
        version: 1,
    };
    writes.push(items::put_new(items::api_key_item(&record)?));
    conflict(
        app.store.transact(writes).await.map_err(Into::into),
        "the owner user must exist (existing owner) or must not exist yet (new owner)",
    )?;
    app.unknown_keys.invalidate(record.key_id.as_str());
    Ok((record, presented.expose()))
}

pub async fn list_api_keys(app: &App, account_id: &str) -> Result<Vec<ApiKeyRecord>> {
    match AccountId::parse(account_id) {
        Some(id) => all_of(app, keys::account_keys_index(&id)).await,
        None => Ok(Vec::new()),
    }
}

async fn api_key(app: &App, key_id: &str) -> Result<ApiKeyRecord> {
    let missing = format!("no API key {key_id}");
    let id = KeyId::parse(key_id).ok_or_else(|| Error::not_found(&missing))?;
    super::get(app, &keys::api_key_key(&id), &missing).await
}

/// Revokes a key, and the sessions it launched: each of its franchises
/// records it (the pages check the franchise, never the key). Other
/// instances stop accepting both within the cache bound. Idempotent: run
/// again, it finishes what an interrupted run left.
pub async fn revoke_api_key(app: &App, key_id: &str) -> Result<ApiKeyRecord> {
    let mut record = api_key(app, key_id).await?;
    if record.revoked_at.is_none() {
        let expected = record.version;
        record.version += 1;
        record.revoked_at = Some(app.now_ms());
        let key = keys::api_key_key(&record.key_id);
        app.store
            .write(items::update_of(key, &record, &["revokedAt"], expected)?)
            .await?;
        app.keys.invalidate(record.key_id.as_str());
    }
    let at = record.revoked_at.unwrap_or_else(|| app.now_ms());
    if app.now_ms() - at >= REVOKED_KEPT_MS {
        return Ok(record); // no session of it can be alive any more
    }
    for tenant in &record.tenant_keys {
        let mut f = franchise(app, tenant.as_str()).await?;
        if !f.revoke_key(&record.key_id, at) {
            continue;
        }
        let expected = f.version;
        f.version += 1;
        f.updated_at = app.now_ms();
        save_franchise(app, &f, &["revokedKeys"], expected, None).await?;
    }
    Ok(record)
}

/// Rotation: a new key with the same franchises, owner and label (and no
/// expiry). The old key keeps working until it is revoked or expires, so a
/// vendor can switch without downtime.
pub async fn rotate_api_key(app: &App, key_id: &str) -> Result<(ApiKeyRecord, String)> {
    let old = api_key(app, key_id).await?;
    let tenants: Vec<String> = old.tenant_keys.iter().map(|t| t.to_string()).collect();
    create_api_key(
        app,
        NewApiKey {
            account_id: old.account_id.as_str(),
            tenant_keys: &tenants,
            owner: Owner::Existing(old.owner_user_id.to_string()),
            label: &old.label,
            expires_at: None,
        },
    )
    .await
}

/// Onboarding: the franchise's terms accepted by `user` → `ONBOARDED`,
/// with its `Franchise Onboarded` event in the same transaction.
pub async fn onboard_franchise(
    app: &App,
    tenant: &TenantKey,
    user: &UserId,
) -> Result<(Franchise, Event)> {
    change_franchise_status(app, tenant, FranchiseStatus::Onboarded, Some(user)).await
}

/// Offboarding → `OFFBOARDED` (the vendor API then refuses the franchise,
/// and every session of it ends), with its `Franchise Offboarded` event.
pub async fn offboard_franchise(app: &App, tenant: &TenantKey) -> Result<(Franchise, Event)> {
    change_franchise_status(app, tenant, FranchiseStatus::Offboarded, None).await
}

/// The operator's reactivation of an offboarded franchise (`embedcare
/// franchise reactivate`): back to ONBOARDED when its terms were accepted,
/// else ACTIVE, with its `Franchise Reactivated` event. Its sessions of
/// before the offboarding stay ended.
pub async fn reactivate_franchise(app: &App, tenant: &str) -> Result<(Franchise, Event)> {
    let mut f = franchise(app, tenant).await?;
    let expected = f.version;
    let now = app.now_ms();
    let previous = f.reactivate(now)?;
    let event = Event::franchise(&f.tenant_key, f.status, previous, f.version, now);
    save_franchise(app, &f, &["status"], expected, Some(&event)).await?;
    Ok((f, event))
}

/// Ends every browser session of a franchise, and every launch not yet
/// redeemed (`embedcare franchise revoke-sessions`): no scan, the franchise
/// records the instant and every session check compares its own start with
/// it (through the franchise cache: within its bound everywhere).
pub async fn revoke_sessions(app: &App, tenant: &str) -> Result<Franchise> {
    let mut f = franchise(app, tenant).await?;
    let expected = f.version;
    let now = app.now_ms();
    f.sessions_valid_after = Some(now);
    f.version += 1;
    f.updated_at = now;
    save_franchise(app, &f, &["sessionsValidAfter"], expected, None).await?;
    Ok(f)
}

/// Writes the `changed` attributes of `f` at the version it was read at,
/// with its event when it has one, and forgets the cached copy.
async fn save_franchise(
    app: &App,
    f: &Franchise,
    changed: &[&str],
    expected: u64,
    event: Option<&Event>,
) -> Result<()> {
    let change = items::update_of(keys::franchise_key(&f.tenant_key), f, changed, expected)?;
    let written = match event {
        Some(event) => {
            let writes = outbox::with_event(change, event, app.now_ms())?;
            app.store.transact(writes).await
        }
        None => app.store.write(change).await,
    };
    conflict(
        written.map_err(Into::into),
        "The franchise changed meanwhile",
    )?;
    app.franchises.invalidate(f.tenant_key.as_str());
    Ok(())
}

async fn change_franchise_status(
    app: &App,
    tenant: &TenantKey,
    to: FranchiseStatus,
    accepted_by: Option<&UserId>,
) -> Result<(Franchise, Event)> {
    let mut f = franchise(app, tenant.as_str()).await?;
    let expected = f.version;
    let now = app.now_ms();
    let previous = f.move_to(to, accepted_by, now)?;
    let mut changed = vec!["status"];
    if accepted_by.is_some() {
        changed.extend(["termsAcceptedBy", "termsAcceptedAt"]);
    }
    if to == FranchiseStatus::Offboarded {
        changed.push("sessionsValidAfter");
    }
    let event = Event::franchise(tenant, to, previous, f.version, now);
    save_franchise(app, &f, &changed, expected, Some(&event)).await?;
    Ok((f, event))
}
