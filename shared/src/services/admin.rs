//! Operator operations: accounts, franchises, API keys. Used by the
//! `embedcare` command-line tool (against the embedded store or DynamoDB)
//! and by the demo seeding of the local server.

use serde_json::Value;

use crate::app::App;
use crate::crypto::{PresentedKey, hash_secret};
use crate::domain::{
    Account, ApiKeyRecord, Email, Franchise, FranchiseStatus, Language, Origin, TenantKey, User,
    UserId,
};
use crate::error::{Error, Result};
use crate::repo;
use crate::store::table::GSI1;
use crate::store::{Cond, Index, Query, SortCond, Write};

pub async fn create_account(app: &App, name: &str) -> Result<Account> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(Error::bad_request("an account name is 1 to 200 characters"));
    }
    let account = Account {
        account_id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        created_at: app.now_ms(),
        version: 1,
    };
    app.store
        .write(Write::Put {
            item: repo::item_of(repo::account_key(&account.account_id), &account, "account")?,
            cond: Some(Cond::NotExists),
        })
        .await?;
    Ok(account)
}

pub async fn account(app: &App, account_id: &str) -> Result<Account> {
    let item = app
        .store
        .get(&repo::account_key(account_id))
        .await?
        .ok_or_else(|| Error::not_found(format!("no account {account_id}")))?;
    repo::entity_of(&item)
}

pub struct NewFranchise<'a> {
    pub account_id: &'a str,
    pub tenant_key: &'a str,
    pub name: &'a str,
    pub language: Language,
    pub allowed_origins: &'a [String],
}

fn parse_origins(raw: &[String]) -> Result<Vec<Origin>> {
    let mut origins = Vec::new();
    for o in raw {
        let origin = Origin::parse(o).ok_or_else(|| {
            Error::bad_request(format!("{o:?} is not an origin (scheme://host[:port])"))
        })?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

pub async fn create_franchise(app: &App, new: NewFranchise<'_>) -> Result<Franchise> {
    account(app, new.account_id).await?;
    let tenant_key = TenantKey::parse(new.tenant_key).ok_or_else(|| {
        Error::bad_request("a tenant key is 1 to 63 lower-case letters, digits or '-'")
    })?;
    let now = app.now_ms();
    let franchise = Franchise {
        tenant_key: tenant_key.clone(),
        account_id: new.account_id.to_owned(),
        name: new.name.trim().to_owned(),
        language: new.language,
        allowed_origins: parse_origins(new.allowed_origins)?,
        status: FranchiseStatus::Active,
        terms_accepted_by: None,
        terms_accepted_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut item = repo::item_of(repo::franchise_key(&tenant_key), &franchise, "franchise")?;
    item.attrs.insert(
        GSI1.pk.into(),
        repo::account_franchises_index(new.account_id).into(),
    );
    item.attrs
        .insert(GSI1.sk.into(), tenant_key.as_str().into());
    app.store
        .write(Write::Put {
            item,
            cond: Some(Cond::NotExists),
        })
        .await
        .map_err(|e| match e {
            e if e.is_condition_failure() => {
                Error::conflict(format!("a franchise {tenant_key} already exists"))
            }
            e => e.into(),
        })?;
    Ok(franchise)
}

pub async fn franchise(app: &App, tenant: &str) -> Result<Franchise> {
    let t = TenantKey::parse(tenant).ok_or_else(|| Error::bad_request("invalid tenant key"))?;
    let item = app
        .store
        .get(&repo::franchise_key(&t))
        .await?
        .ok_or_else(|| Error::not_found(format!("no franchise {tenant}")))?;
    repo::entity_of(&item)
}

pub async fn list_franchises(app: &App, account_id: &str) -> Result<Vec<Franchise>> {
    let mut q = Query::partition(Index::Gsi1, repo::account_franchises_index(account_id));
    let mut out = Vec::new();
    loop {
        let page = app.store.query(&q).await?;
        for item in &page.items {
            out.push(repo::entity_of(item)?);
        }
        match page.next {
            Some(next) => q.start_after = Some(next),
            None => return Ok(out),
        }
    }
}

/// Adds origins allowed to frame a franchise's pages.
pub async fn add_origins(app: &App, tenant: &str, origins: &[String]) -> Result<Franchise> {
    let mut f = franchise(app, tenant).await?;
    let mut changed = false;
    for o in parse_origins(origins)? {
        if !f.allowed_origins.contains(&o) {
            f.allowed_origins.push(o);
            changed = true;
        }
    }
    if !changed {
        return Ok(f);
    }
    let expected = f.version;
    f.version += 1;
    f.updated_at = app.now_ms();
    let mut set = serde_json::Map::new();
    set.insert(
        "allowedOrigins".into(),
        serde_json::to_value(&f.allowed_origins).map_err(|e| Error::internal(e.to_string()))?,
    );
    set.insert("version".into(), Value::from(f.version));
    set.insert("updatedAt".into(), Value::from(f.updated_at));
    app.store
        .write(Write::Update {
            key: repo::franchise_key(&f.tenant_key),
            set,
            remove: vec![],
            cond: Some(Cond::version_is(expected)),
        })
        .await?;
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
}

/// Creates a key. The returned secret is shown once and never stored.
pub async fn create_api_key(app: &App, new: NewApiKey<'_>) -> Result<(ApiKeyRecord, String)> {
    account(app, new.account_id).await?;
    if new.tenant_keys.is_empty() {
        return Err(Error::bad_request(
            "a key is linked to at least one franchise",
        ));
    }
    let mut tenants = Vec::new();
    for t in new.tenant_keys {
        let f = franchise(app, t).await?;
        if f.account_id != new.account_id {
            return Err(Error::not_found(format!(
                "no franchise {t} in this account"
            )));
        }
        if !tenants.contains(&f.tenant_key) {
            tenants.push(f.tenant_key);
        }
    }
    let now = app.now_ms();
    let mut writes = Vec::new();
    let owner_user_id = match new.owner {
        Owner::Existing(id) => {
            let uid = UserId::parse(&id).ok_or_else(|| Error::bad_request("invalid user id"))?;
            writes.push(Write::Check {
                key: repo::user_key(new.account_id, uid.as_str()),
                cond: Cond::Exists,
            });
            uid
        }
        Owner::New {
            user_id,
            first_name,
            last_name,
            email,
            license_number,
            language,
        } => {
            let user = User {
                account_id: new.account_id.to_owned(),
                user_id: UserId::parse(&user_id)
                    .ok_or_else(|| Error::bad_request("invalid user id"))?,
                first_name,
                last_name,
                email: Email::parse(&email).ok_or_else(|| Error::bad_request("invalid e-mail"))?,
                license_number,
                preferred_language: language,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            writes.push(Write::Put {
                item: repo::item_of(repo::user_key(new.account_id, &user_id), &user, "user")?,
                cond: Some(Cond::NotExists),
            });
            user.user_id
        }
    };
    let presented = PresentedKey::generate()?;
    let record = ApiKeyRecord {
        key_id: presented.key_id.clone(),
        account_id: new.account_id.to_owned(),
        secret_hash: hash_secret(&presented.secret),
        tenant_keys: tenants,
        owner_user_id,
        label: new.label.trim().to_owned(),
        created_at: now,
        revoked_at: None,
        version: 1,
    };
    let mut item = repo::item_of(repo::api_key_key(&record.key_id), &record, "apiKey")?;
    item.attrs.insert(
        GSI1.pk.into(),
        repo::account_keys_index(new.account_id).into(),
    );
    item.attrs.insert(
        GSI1.sk.into(),
        format!("{:013}#{}", now, record.key_id).into(),
    );
    writes.push(Write::Put {
        item,
        cond: Some(Cond::NotExists),
    });
    app.store.transact(writes).await.map_err(|e| match e {
        e if e.is_condition_failure() => Error::conflict(
            "the owner user must exist (existing owner) or must not exist yet (new owner)",
        ),
        e => e.into(),
    })?;
    Ok((record, presented.expose()))
}

pub async fn list_api_keys(app: &App, account_id: &str) -> Result<Vec<ApiKeyRecord>> {
    let mut q = Query::partition(Index::Gsi1, repo::account_keys_index(account_id));
    q.sort = SortCond::All;
    let mut out = Vec::new();
    loop {
        let page = app.store.query(&q).await?;
        for item in &page.items {
            out.push(repo::entity_of(item)?);
        }
        match page.next {
            Some(next) => q.start_after = Some(next),
            None => return Ok(out),
        }
    }
}

/// Revokes a key. Other instances stop accepting it within the cache bound.
pub async fn revoke_api_key(app: &App, key_id: &str) -> Result<ApiKeyRecord> {
    let item = app
        .store
        .get(&repo::api_key_key(key_id))
        .await?
        .ok_or_else(|| Error::not_found(format!("no API key {key_id}")))?;
    let mut record: ApiKeyRecord = repo::entity_of(&item)?;
    if record.revoked_at.is_some() {
        return Ok(record);
    }
    let expected = record.version;
    record.version += 1;
    record.revoked_at = Some(app.now_ms());
    let mut set = serde_json::Map::new();
    set.insert("revokedAt".into(), Value::from(record.revoked_at));
    set.insert("version".into(), Value::from(record.version));
    app.store
        .write(Write::Update {
            key: repo::api_key_key(key_id),
            set,
            remove: vec![],
            cond: Some(Cond::version_is(expected)),
        })
        .await?;
    app.keys.invalidate(key_id);
    Ok(record)
}

/// Rotation: a new key with the same franchises, owner and label. The old
/// key keeps working until it is revoked, so a vendor can switch without
/// downtime.
pub async fn rotate_api_key(app: &App, key_id: &str) -> Result<(ApiKeyRecord, String)> {
    let item = app
        .store
        .get(&repo::api_key_key(key_id))
        .await?
        .ok_or_else(|| Error::not_found(format!("no API key {key_id}")))?;
    let old: ApiKeyRecord = repo::entity_of(&item)?;
    let tenants: Vec<String> = old
        .tenant_keys
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    create_api_key(
        app,
        NewApiKey {
            account_id: &old.account_id,
            tenant_keys: &tenants,
            owner: Owner::Existing(old.owner_user_id.as_str().to_owned()),
            label: &old.label,
        },
    )
    .await
}

/// Onboarding: the franchise's terms accepted by `user_id` → `ONBOARDED`,
/// with its `Franchise Onboarded` event in the same transaction.
pub async fn onboard_franchise(
    app: &App,
    tenant: &TenantKey,
    user_id: &str,
) -> Result<(Franchise, crate::events::Event)> {
    change_franchise_status(app, tenant, FranchiseStatus::Onboarded, Some(user_id)).await
}

/// Offboarding → `OFFBOARDED` (the vendor API then refuses the franchise),
/// with its `Franchise Offboarded` event.
pub async fn offboard_franchise(
    app: &App,
    tenant: &TenantKey,
) -> Result<(Franchise, crate::events::Event)> {
    change_franchise_status(app, tenant, FranchiseStatus::Offboarded, None).await
}

async fn change_franchise_status(
    app: &App,
    tenant: &TenantKey,
    to: FranchiseStatus,
    accepted_by: Option<&str>,
) -> Result<(Franchise, crate::events::Event)> {
    let mut f = franchise(app, tenant.as_str()).await?;
    let allowed = matches!(
        (f.status, to),
        (FranchiseStatus::Active, FranchiseStatus::Onboarded)
            | (
                FranchiseStatus::Active | FranchiseStatus::Onboarded,
                FranchiseStatus::Offboarded
            )
    );
    if !allowed {
        return Err(Error::conflict(format!(
            "A {} franchise cannot become {}",
            f.status.as_str(),
            to.as_str()
        )));
    }
    let now = app.now_ms();
    let previous = f.status;
    let expected = f.version;
    f.status = to;
    f.version += 1;
    f.updated_at = now;
    let mut set = serde_json::Map::new();
    set.insert("status".into(), Value::from(to.as_str()));
    set.insert("version".into(), Value::from(f.version));
    set.insert("updatedAt".into(), Value::from(now));
    if let Some(user) = accepted_by {
        f.terms_accepted_by = Some(user.to_owned());
        f.terms_accepted_at = Some(now);
        set.insert("termsAcceptedBy".into(), Value::from(user));
        set.insert("termsAcceptedAt".into(), Value::from(now));
    }
    let event =
        crate::events::Event::franchise(tenant, to.as_str(), previous.as_str(), f.version, now);
    app.store
        .transact(vec![
            Write::Update {
                key: repo::franchise_key(tenant),
                set,
                remove: vec![],
                cond: Some(Cond::version_is(expected)),
            },
            event.outbox_write(now)?,
        ])
        .await
        .map_err(|e| {
            if e.is_condition_failure() {
                Error::conflict("The franchise changed meanwhile")
            } else {
                e.into()
            }
        })?;
    app.franchises.invalidate(tenant.as_str());
    Ok((f, event))
}
