//! Vendor authentication: the `Api-key` header, and the franchise the call
//! acts for (`X-Tenant-Key`, required when the key serves several).
//!
//! Keys and franchises are cached in memory for `cache_ttl_s` (≤ 60 s): a
//! warm instance authenticates without a store call, and a revoked key stops
//! working everywhere within that bound.

use serde::de::DeserializeOwned;

use crate::app::App;
use crate::cache::TtlCache;
use crate::crypto::{PresentedKey, ct_eq, hash_secret};
use crate::domain::{ApiKeyRecord, Franchise, FranchiseStatus, KeyId, TenantKey};
use crate::error::{Error, Result};
use crate::store::{Key, keys};

/// An authenticated vendor call: the key, and the franchise it acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKeyRecord,
    pub franchise: Franchise,
}

impl Caller {
    pub fn tenant(&self) -> &TenantKey {
        &self.franchise.tenant_key
    }
}

/// An API key checked (secret, expiry, rate, the franchise it acts for),
/// whose franchise record may not be read yet: a vendor call that reads a
/// batch first folds the franchise into it ([`KeyAuth::franchise_to_read`],
/// then [`KeyAuth::admit`]) instead of reading it alone, so a cold call
/// costs the key's read, its batch and its write. The franchise is checked
/// (it exists, is the key's account's, is not offboarded) before the call
/// acts on anything it read.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    pub key: ApiKeyRecord,
    pub tenant: TenantKey,
}

impl KeyAuth {
    pub fn tenant(&self) -> &TenantKey {
        &self.tenant
    }

    /// The franchise item to read in the call's first batch: `None` when
    /// the cache holds the franchise.
    pub fn franchise_to_read(&self, app: &App) -> Option<Key> {
        let cached = app
            .franchises
            .get(self.tenant.as_str(), app.now_ms())
            .is_some();
        (!cached).then(|| keys::franchise_key(&self.tenant))
    }

    /// The caller, with its franchise from the cache or read alone.
    pub async fn caller(&self, app: &App) -> Result<Caller> {
        let found = franchise(app, &self.tenant).await?;
        self.admit(app, found)
    }

    /// The caller, with `found`: the franchise a batch read (`None`: there
    /// is no such franchise). Checked, then cached.
    pub fn admit(&self, app: &App, found: Option<Franchise>) -> Result<Caller> {
        let franchise = found
            .ok_or_else(|| Error::forbidden("The franchise of this API key is not available"))?;
        // A key names franchises of its own account only; one that names
        // another's (a bad write, a tampered item) acts for none of them.
        if franchise.account_id != self.key.account_id || franchise.tenant_key != self.tenant {
            return Err(Error::forbidden(
                "The franchise of this API key is not available",
            ));
        }
        if franchise.status == FranchiseStatus::Offboarded {
            return Err(Error::forbidden("This franchise is offboarded"));
        }
        app.franchises
            .insert(self.tenant.as_str(), franchise.clone(), app.now_ms());
        Ok(Caller {
            key: self.key.clone(),
            franchise,
        })
    }
}

impl Caller {
    /// The caller's key, as a [`KeyAuth`] (its franchise known).
    pub fn key_auth(&self) -> KeyAuth {
        KeyAuth {
            key: self.key.clone(),
            tenant: self.franchise.tenant_key.clone(),
        }
    }
}

/// [`authenticate_key`], then the franchise (from the cache or read alone).
pub async fn authenticate(
    app: &App,
    api_key: Option<&str>,
    tenant: Option<&str>,
) -> Result<Caller> {
    authenticate_key(app, api_key, tenant)
        .await?
        .caller(app)
        .await
}

/// The API key of a vendor call, checked, and the franchise it acts for
/// (`X-Tenant-Key`, or the key's only one); the franchise's record is not
/// read here ([`KeyAuth`]).
pub async fn authenticate_key(
    app: &App,
    api_key: Option<&str>,
    tenant: Option<&str>,
) -> Result<KeyAuth> {
    let presented = api_key
        .and_then(PresentedKey::parse)
        .ok_or(Error::Unauthorized)?;
    let key = key_record(app, &presented.key_id).await?;
    // Hash and compare before looking at anything else, an unknown key id
    // against a hash no secret has: every failure takes the same path and
    // time (and an unknown id is cached like a known one, `key_record`).
    let expected = key.as_ref().map_or(NO_KEY_HASH, |k| k.secret_hash.as_str());
    let secret_ok = ct_eq(&hash_secret(&presented.secret), expected);
    let now = app.now_ms();
    let key = match key {
        Some(k) if secret_ok && k.is_usable(now) => k,
        _ => return Err(Error::Unauthorized),
    };
    if let Err(retry_after_ms) = app.rate_limits.take(key.key_id.as_str(), now) {
        return Err(Error::RateLimited {
            retry_after_s: retry_after_ms.div_ceil(1000).max(1),
        });
    }
    let tenant = match tenant.map(str::trim).filter(|t| !t.is_empty()) {
        Some(raw) => {
            let t = TenantKey::parse(raw)
                .ok_or_else(|| Error::invalid("Invalid X-Tenant-Key header"))?;
            if !key.tenant_keys.contains(&t) {
                return Err(Error::forbidden(
                    "The API key is not linked to this franchise",
                ));
            }
            t
        }
        None => match key.tenant_keys.as_slice() {
            [only] => only.clone(),
            _ => {
                return Err(Error::invalid(
                    "X-Tenant-Key header is required: this API key is linked to several franchises",
                ));
            }
        },
    };
    Ok(KeyAuth { key, tenant })
}

/// The SHA-256 an unknown key id is compared with: 64 hex digits that no
/// secret hashes to (it is not even a digest's shape: `z`).
const NO_KEY_HASH: &str = "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";

/// An API key by id, through the cache; an unknown id is remembered as
/// unknown for the same time (in a cache of its own, so that a flood of
/// made-up ids cannot push real keys out), so probing ids costs what
/// probing secrets costs.
pub async fn key_record(app: &App, key_id: &KeyId) -> Result<Option<ApiKeyRecord>> {
    let now = app.now_ms();
    if app.unknown_keys.get(key_id.as_str(), now).is_some() {
        return Ok(None);
    }
    let found = cached(app, &app.keys, key_id.as_str(), &keys::api_key_key(key_id)).await?;
    if found.is_none() {
        app.unknown_keys.insert(key_id.as_str(), (), now);
    }
    Ok(found)
}

/// A franchise by tenant key, through the cache.
pub async fn franchise(app: &App, tenant: &TenantKey) -> Result<Option<Franchise>> {
    cached(
        app,
        &app.franchises,
        tenant.as_str(),
        &keys::franchise_key(tenant),
    )
    .await
}

/// The entity at `key`, from `cache` when it holds `id` fresh enough, else
/// from the store (and then cached).
async fn cached<T: Clone + DeserializeOwned>(
    app: &App,
    cache: &TtlCache<T>,
    id: &str,
    key: &Key,
) -> Result<Option<T>> {
    let now = app.now_ms();
    if let Some(hit) = cache.get(id, now) {
        return Ok(Some(hit));
    }
    let found: Option<T> = super::find(app, key).await?;
    if let Some(v) = &found {
        cache.insert(id, v.clone(), now);
    }
    Ok(found)
}
