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

pub async fn authenticate(
    app: &App,
    api_key: Option<&str>,
    tenant: Option<&str>,
) -> Result<Caller> {
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
    let franchise = franchise(app, &tenant)
        .await?
        .ok_or_else(|| Error::forbidden("The franchise of this API key is not available"))?;
    // A key names franchises of its own account only; one that names
    // another's (a bad write, a tampered item) acts for none of them.
    if franchise.account_id != key.account_id {
        return Err(Error::forbidden(
            "The franchise of this API key is not available",
        ));
    }
    if franchise.status == FranchiseStatus::Offboarded {
        return Err(Error::forbidden("This franchise is offboarded"));
    }
    Ok(Caller { key, franchise })
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
