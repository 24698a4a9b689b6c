//! The people of a call: the acting user and the patient. Every vendor
//! call that acts for a user reads them in one batch ([`ReadSet`]: the user,
//! the key's owner to clone from, the patient-key index items of the
//! request, and whatever else the call needs), then plans their upserts
//! into writes that go with the call's own, in one write: two round trips,
//! whatever the request; an unchanged user or patient adds no write. A cold
//! call ([`ReadSet::for_key`]) reads its franchise in the same batch, after
//! the key's own read: three.
//!
//! A user the vendor names with `"provider": true` also gets a provider
//! profile in the call's franchise if they have none (read in the same
//! batch, written with the same write): on every vendor call that upserts
//! the user, here and only here.

use std::collections::BTreeSet;

use super::auth::{Caller, KeyAuth};
use crate::app::App;
use crate::crypto::KeyedDigest;
use crate::domain::clinic::Provider;
use crate::domain::patient::{PatientPlan, plan_patient};
use crate::domain::user::{UserPlan, plan_user};
use crate::domain::{
    AccountId, Franchise, IntegrationUser, Patient, PatientId, PatientInput, TenantKey, User,
    UserId,
};
use crate::error::{Error, Result};
use crate::store::clinic_items::provider_item;
use crate::store::items::{self, PatientKeyIndex};
use crate::store::{Item, Key, keys};

/// The keys of a call's one batch read.
#[derive(Debug, Clone)]
pub struct ReadSet {
    keys: BTreeSet<Key>,
    user_key: Key,
    owner_key: Key,
    /// The user's provider profile, when the call names them a provider.
    provider: Option<(TenantKey, Key)>,
    /// The key whose franchise is to be read too, when not cached
    /// ([`ReadSet::for_key`]); and, once [`ReadSet::read`] decided, its item.
    fold_franchise: Option<KeyAuth>,
    franchise: Option<Key>,
}

impl ReadSet {
    /// The acting user (`user`, or the key's owner) and the owner, for a
    /// caller whose franchise is known.
    pub fn new(caller: &Caller, user: Option<&IntegrationUser>) -> Self {
        Self::of(&caller.key_auth(), user, None)
    }

    /// The same for a key whose franchise may not be read yet: the batch
    /// reads it too when the cache does not hold it, and [`Read::caller`]
    /// checks it.
    pub fn for_key(auth: &KeyAuth, user: Option<&IntegrationUser>) -> Self {
        Self::of(auth, user, Some(auth.clone()))
    }

    fn of(auth: &KeyAuth, user: Option<&IntegrationUser>, fold_franchise: Option<KeyAuth>) -> Self {
        let account = &auth.key.account_id;
        let owner = &auth.key.owner_user_id;
        let user_id = user.map_or(owner, |u| &u.user_id);
        let user_key = keys::user_key(account, user_id);
        let owner_key = keys::user_key(account, owner);
        let provider = user.filter(|u| u.provider).map(|u| {
            let tenant = auth.tenant().clone();
            let key = keys::provider_key(&tenant, &u.user_id);
            (tenant, key)
        });
        let mut keys = BTreeSet::from([user_key.clone(), owner_key.clone()]);
        keys.extend(provider.iter().map(|(_, k)| k.clone()));
        Self {
            keys,
            user_key,
            owner_key,
            provider,
            fold_franchise,
            franchise: None,
        }
    }

    /// The patient-key index item of each key value.
    pub fn patient_keys<'a>(
        mut self,
        tenant: &TenantKey,
        digest: &KeyedDigest,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        self.keys.extend(
            values
                .into_iter()
                .map(|v| keys::patient_key_index(tenant, digest, v)),
        );
        self
    }

    /// Anything else the call reads in the same batch.
    pub fn with(mut self, key: Option<Key>) -> Self {
        self.keys.extend(key);
        self
    }

    /// Round trip 1.
    pub async fn read(mut self, app: &App) -> Result<Read> {
        if let Some(auth) = &self.fold_franchise {
            self.franchise = auth.franchise_to_read(app);
        }
        let keys: Vec<Key> = self.keys.iter().chain(&self.franchise).cloned().collect();
        let items = app.store.batch_get(&keys).await?;
        Ok(Read { set: self, items })
    }
}

/// What a [`ReadSet`] found.
#[derive(Debug, Clone)]
pub struct Read {
    set: ReadSet,
    pub items: Vec<Item>,
}

impl Read {
    pub fn find(&self, key: &Key) -> Option<&Item> {
        self.items.iter().find(|i| i.key == *key)
    }

    /// The caller of a [`ReadSet::for_key`] read: its franchise as the
    /// batch found it (when it was folded in), else from the cache (or read
    /// alone, should the cache have dropped it since); checked
    /// ([`KeyAuth::admit`]).
    pub async fn caller(&self, app: &App) -> Result<Caller> {
        let auth = self
            .set
            .fold_franchise
            .as_ref()
            .ok_or_else(|| Error::internal("the caller of a read set of a known caller"))?;
        match &self.set.franchise {
            Some(key) => {
                let found: Option<Franchise> = self.find(key).map(items::entity_of).transpose()?;
                auth.admit(app, found)
            }
            None => auth.caller(app).await,
        }
    }

    /// Whose patient the consultation or follow-up at `key` is, if it was
    /// found.
    pub fn owner_of(&self, key: &Key) -> Result<Option<PatientId>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Owned {
            patient_id: PatientId,
        }
        let owned: Option<Owned> = self.find(key).map(items::entity_of).transpose()?;
        Ok(owned.map(|o| o.patient_id))
    }
}

/// Plans the acting user's writes (none when unchanged) from what `read`
/// found; returns the user. `input`: the `x-integration-user` given, if any.
pub fn user_writes(
    caller: &Caller,
    input: Option<&IntegrationUser>,
    read: &Read,
    now: i64,
    writes: &mut Vec<crate::store::Write>,
) -> Result<User> {
    let existing: Option<User> = read
        .find(&read.set.user_key)
        .map(items::entity_of)
        .transpose()?;
    let plan = match input {
        None => UserPlan::Unchanged(
            existing.ok_or_else(|| Error::internal("the API key's owner has no user profile"))?,
        ),
        Some(input) => {
            let owner: Option<User> = read
                .find(&read.set.owner_key)
                .map(items::entity_of)
                .transpose()?;
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
    let key = read.set.user_key.clone();
    match &plan {
        UserPlan::Unchanged(_) => {}
        UserPlan::Create(u) => writes.push(items::put_new(items::item_of(key, u, "user")?)),
        UserPlan::Update {
            user,
            changed,
            expected_version,
        } => {
            let names: Vec<&str> = changed.iter().map(|f| items::user_attr(*f)).collect();
            writes.push(items::update_of(key, user, &names, *expected_version)?);
        }
    }
    if let Some((tenant, provider_key)) = &read.set.provider
        && read.find(provider_key).is_none()
    {
        // Must not exist: a concurrent call that made it first makes this
        // one a lost race, planned again from a fresh read.
        let profile = Provider::of_user(tenant, plan.user(), now);
        writes.push(items::put_new(provider_item(&profile)?));
    }
    Ok(plan.user().clone())
}

/// Plans the upsert of a request's patient from what `read` found (none
/// when unchanged); returns its id.
pub fn patient_writes(
    tenant: &TenantKey,
    digest: &KeyedDigest,
    input: &PatientInput,
    read: &Read,
    now: i64,
    writes: &mut Vec<crate::store::Write>,
) -> Result<PatientId> {
    let index = PatientKeyIndex::read(tenant, digest, &input.keys, &read.items)?;
    let plan = plan_patient(
        input,
        index.first_match(&input.keys),
        &index.owners,
        tenant,
        PatientId::generate(),
        now,
    )?;
    match &plan {
        PatientPlan::Unchanged(_) => {}
        PatientPlan::Create(p) => writes.extend(items::create_patient_writes(p, digest)?),
        PatientPlan::Update {
            before,
            after,
            changed,
            added_keys,
        } => writes.extend(items::update_patient_writes(
            before, after, changed, added_keys, digest,
        )?),
    }
    Ok(plan.patient().patient_id.clone())
}

/// The one patient a key value names (in `sub_system` only, when given),
/// from its index item: `404` when none, `409` when several.
pub fn patient_by_key(index_item: Option<&Item>, sub_system: Option<&str>) -> Result<PatientId> {
    match items::patients_with_key_value(index_item, sub_system).as_slice() {
        [] => Err(Error::not_found("No patient has this patientKey")),
        [one] => Ok(one.clone()),
        _ => Err(Error::conflict(
            "Several patients have this patientKey; add subSystem to choose one",
        )),
    }
}

/// [`find_by_key`] for a key whose franchise may not be read yet: the index
/// item and the franchise (when not cached) in one batch; the franchise is
/// checked before the key is looked at.
pub async fn find_by_key_for(
    app: &App,
    auth: &KeyAuth,
    key: &str,
    sub_system: Option<&str>,
) -> Result<PatientId> {
    let Some(franchise_key) = auth.franchise_to_read(app) else {
        auth.caller(app).await?;
        return find_by_key(app, auth.tenant(), key, sub_system).await;
    };
    let index = keys::patient_key_index(auth.tenant(), &app.patient_keys, key);
    let found = app
        .store
        .batch_get(&[index.clone(), franchise_key.clone()])
        .await?;
    let find = |k: &Key| found.iter().find(|i| i.key == *k);
    let franchise: Option<Franchise> = find(&franchise_key).map(items::entity_of).transpose()?;
    auth.admit(app, franchise)?;
    patient_by_key(find(&index), sub_system)
}

/// [`patient_by_key`], reading the index item (one `GetItem`).
pub async fn find_by_key(
    app: &App,
    tenant: &TenantKey,
    key: &str,
    sub_system: Option<&str>,
) -> Result<PatientId> {
    let index = keys::patient_key_index(tenant, &app.patient_keys, key);
    let item = app.store.get(&index).await?;
    patient_by_key(item.as_ref(), sub_system)
}

/// A patient of this franchise (`404` when unknown here).
pub async fn patient(app: &App, tenant: &TenantKey, id: &PatientId) -> Result<Patient> {
    find_patient(app, tenant, id)
        .await?
        .ok_or_else(|| Error::not_found("Patient not found"))
}

/// A patient of this franchise, if it exists here.
pub async fn find_patient(
    app: &App,
    tenant: &TenantKey,
    id: &PatientId,
) -> Result<Option<Patient>> {
    super::find(app, &keys::patient_key(tenant, id)).await
}

/// The patients of these ids that exist in this franchise (one batch read;
/// an unreadable record is left out).
pub async fn patients(app: &App, tenant: &TenantKey, ids: &[PatientId]) -> Result<Vec<Patient>> {
    let keys: BTreeSet<Key> = ids.iter().map(|p| keys::patient_key(tenant, p)).collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<Key> = keys.into_iter().collect();
    let found = app.store.batch_get(&keys).await?;
    Ok(found
        .iter()
        .filter_map(|i| items::entity_of::<Patient>(i).ok())
        .collect())
}

/// A user of the account, if it exists.
pub async fn user(app: &App, account: &AccountId, id: &UserId) -> Result<Option<User>> {
    super::find(app, &keys::user_key(account, id)).await
}
