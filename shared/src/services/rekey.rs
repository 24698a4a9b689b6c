//! The migration of patient-key index items from their old key (a bare
//! SHA-256 of the key value) to the keyed one (`crypto::KeyedDigest`):
//! `embedcare patient rekey`, patient by patient. `docs/data-model.md` has
//! the procedure (the API stopped meanwhile, the patient ids from a table
//! export: there is no Scan).
//!
//! An index item is moved whole (every sub-system's claim and every
//! patient's record it holds) in one transaction: put under the new key if
//! nothing is there, delete the old one. Moving is idempotent: a key value
//! already moved (by this patient, or another that shares it) is skipped.

use super::people;
use super::retry::conflict;
use crate::app::App;
use crate::domain::{PatientId, TenantKey};
use crate::error::{Error, Result};
use crate::store::{Cond, Item, Write, keys};

/// What re-keying one patient did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Index items moved to their keyed key.
    pub moved: usize,
    /// Key values with nothing left under the old key.
    pub already: usize,
}

/// Moves the index items of every key value of one patient.
pub async fn rekey_patient(app: &App, tenant: &str, patient_id: &str) -> Result<Rekeyed> {
    let tenant = TenantKey::parse(tenant).ok_or_else(|| Error::invalid("invalid tenant key"))?;
    let id = PatientId::parse(patient_id).ok_or_else(|| Error::not_found("Patient not found"))?;
    let patient = people::patient(app, &tenant, &id).await?;
    let mut values: Vec<&str> = patient.keys.iter().map(|k| k.key.as_str()).collect();
    values.sort_unstable();
    values.dedup();
    let mut done = Rekeyed::default();
    for value in values {
        let old = keys::legacy_patient_key_index(&tenant, value);
        let Some(item) = app.store.get(&old).await? else {
            done.already += 1;
            continue;
        };
        let new = keys::patient_key_index(&tenant, &app.patient_keys, value);
        let writes = vec![
            Write::Put {
                item: Item::new(new, item.attrs),
                cond: Some(Cond::NotExists),
            },
            Write::Delete {
                key: old,
                cond: Some(Cond::Exists),
            },
        ];
        conflict(
            app.store.transact(writes).await.map_err(Into::into),
            "a key of this patient is indexed under both its old and its keyed hash: \
             the API was not stopped during the migration; merge by hand",
        )?;
        done.moved += 1;
    }
    Ok(done)
}
