//! The single-table design: the key of every item type, and how entities
//! become items and back. Adapter-independent, so the embedded store and
//! DynamoDB hold exactly the same items. `docs/data-model.md` lists every
//! access path.
//!
//! Tenant data always has the franchise in its partition key (`T#{tenant}#…`);
//! account data has the account (`ACCOUNT#{account}#…`). Patient key values
//! are hashed before they become part of a key, so an identifier such as a
//! health-insurance number never appears in a key, a metric or a trace.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::crypto::digest_b64;
use crate::domain::{Patient, PatientKey, TenantKey};
use crate::error::{Error, Result};
use crate::store::{Attrs, Cond, Item, Key, TTL, Write};

pub const TYPE: &str = "type";

pub fn account_key(account_id: &str) -> Key {
    Key::new(format!("ACCOUNT#{account_id}"), "ACCOUNT")
}

pub fn api_key_key(key_id: &str) -> Key {
    Key::new(format!("APIKEY#{key_id}"), "APIKEY")
}

/// Index partition listing an account's keys (operator tooling).
pub fn account_keys_index(account_id: &str) -> String {
    format!("ACCOUNT#{account_id}#KEYS")
}

/// Index partition listing an account's franchises (operator tooling).
pub fn account_franchises_index(account_id: &str) -> String {
    format!("ACCOUNT#{account_id}#FRANCHISES")
}

pub fn franchise_key(tenant: &TenantKey) -> Key {
    Key::new(format!("T#{tenant}"), "FRANCHISE")
}

pub fn user_key(account_id: &str, user_id: &str) -> Key {
    Key::new(format!("ACCOUNT#{account_id}#USER#{user_id}"), "USER")
}

pub fn patient_key(tenant: &TenantKey, patient_id: &str) -> Key {
    Key::new(format!("T#{tenant}#PATIENT#{patient_id}"), "PATIENT")
}

/// The index item of one patient key *value*, whatever its sub-system:
/// attribute `s:{subSystem}` names the patient it identifies there, and
/// `p:{patientId}` holds that patient's current record, so that one batch
/// read finds and compares the patient of a request.
pub fn patient_key_index(tenant: &TenantKey, key_value: &str) -> Key {
    Key::new(format!("T#{tenant}#PKEY#{}", digest_b64(key_value)), "PKEY")
}

pub fn sub_attr(sub_system: &str) -> String {
    format!("s:{sub_system}")
}

pub fn snapshot_attr(patient_id: &str) -> String {
    format!("p:{patient_id}")
}

pub fn launch_key(tenant: &TenantKey, token_hash: &str) -> Key {
    Key::new(format!("T#{tenant}#LAUNCH#{token_hash}"), "LAUNCH")
}

pub fn session_key(tenant: &TenantKey, token_hash: &str) -> Key {
    Key::new(format!("T#{tenant}#SESSION#{token_hash}"), "SESSION")
}

pub fn consultation_key(tenant: &TenantKey, consultation_id: &str) -> Key {
    Key::new(
        format!("T#{tenant}#CONSULTATION#{consultation_id}"),
        "CONSULTATION",
    )
}

pub fn followup_key(tenant: &TenantKey, followup_id: &str) -> Key {
    Key::new(format!("T#{tenant}#FOLLOWUP#{followup_id}"), "FOLLOWUP")
}

/// An entity's attributes plus its `type` tag.
pub fn attrs_of<T: Serialize>(entity: &T, type_name: &str) -> Result<Attrs> {
    match serde_json::to_value(entity) {
        Ok(Value::Object(mut map)) => {
            map.insert(TYPE.into(), Value::from(type_name));
            Ok(map)
        }
        Ok(_) => Err(Error::internal("entity did not serialize to an object")),
        Err(e) => Err(Error::internal(format!("entity did not serialize: {e}"))),
    }
}

pub fn item_of<T: Serialize>(key: Key, entity: &T, type_name: &str) -> Result<Item> {
    Ok(Item::new(key, attrs_of(entity, type_name)?))
}

/// Reads an entity back from an item (unknown attributes are ignored).
pub fn entity_of<T: DeserializeOwned>(item: &Item) -> Result<T> {
    // The serde message may quote a stored value (personal data): log only
    // the item type and the kind of mismatch.
    serde_json::from_value(Value::Object(item.attrs.clone())).map_err(|e| {
        Error::internal(format!(
            "stored {} item does not match its entity ({:?})",
            item.key.sk,
            e.classify()
        ))
    })
}

/// Epoch seconds for the `ttl` attribute, rounded up so an item is never
/// removed before it expires.
pub fn ttl_of(expires_at_ms: i64) -> Value {
    Value::from((expires_at_ms + 999).div_euclid(1000))
}

/// Adds the `ttl` attribute.
pub fn with_ttl(mut item: Item, expires_at_ms: i64) -> Item {
    item.attrs.insert(TTL.into(), ttl_of(expires_at_ms));
    item
}

/// What the patient-key index items of one batch read say.
#[derive(Debug, Default)]
pub struct PatientKeyIndex {
    /// For each (sub-system, value) found: the patient it identifies.
    pub owners: std::collections::HashMap<PatientKey, String>,
    /// Current records of the patients found.
    pub patients: std::collections::HashMap<String, Patient>,
}

impl PatientKeyIndex {
    /// Reads the index items among `items` for the key values of `keys`.
    pub fn read(tenant: &TenantKey, keys: &[PatientKey], items: &[Item]) -> Result<Self> {
        let mut index = PatientKeyIndex::default();
        for key in keys {
            let wanted = patient_key_index(tenant, &key.key);
            let Some(item) = items.iter().find(|i| i.key == wanted) else {
                continue;
            };
            if let Some(pid) = item.get_str(&sub_attr(&key.sub_system)) {
                index.owners.insert(key.clone(), pid.to_owned());
                index.add_snapshot(item, pid)?;
            }
        }
        Ok(index)
    }

    fn add_snapshot(&mut self, item: &Item, pid: &str) -> Result<()> {
        if self.patients.contains_key(pid) {
            return Ok(());
        }
        let snapshot = item
            .attrs
            .get(&snapshot_attr(pid))
            .cloned()
            .ok_or_else(|| Error::internal("patient key index lacks its patient's record"))?;
        let patient: Patient = serde_json::from_value(snapshot).map_err(|e| {
            Error::internal(format!(
                "patient snapshot is malformed ({:?})",
                e.classify()
            ))
        })?;
        self.patients.insert(pid.to_owned(), patient);
        Ok(())
    }

    /// The patient of the first request key that identifies one.
    pub fn first_match(&self, keys: &[PatientKey]) -> Option<&Patient> {
        keys.iter()
            .find_map(|k| self.owners.get(k))
            .and_then(|pid| self.patients.get(pid))
    }
}

/// Patients identified by one key value, optionally in one sub-system only:
/// the distinct patient ids of the index item's `s:*` attributes.
pub fn patients_with_key_value(item: Option<&Item>, sub_system: Option<&str>) -> Vec<String> {
    let Some(item) = item else { return Vec::new() };
    let mut ids: Vec<String> = match sub_system {
        Some(sub) => item
            .get_str(&sub_attr(sub))
            .map(str::to_owned)
            .into_iter()
            .collect(),
        None => item
            .attrs
            .iter()
            .filter(|(name, _)| name.starts_with("s:"))
            .filter_map(|(_, v)| v.as_str().map(str::to_owned))
            .collect(),
    };
    ids.sort();
    ids.dedup();
    ids
}

/// The writes that store a new patient: its item (which must not exist) and
/// one index item per distinct key value, each claiming its sub-systems
/// (which must not be claimed yet — the uniqueness of a patient key is
/// enforced by these conditions, not by the read before them).
pub fn create_patient_writes(patient: &Patient) -> Result<Vec<Write>> {
    let mut writes = vec![Write::Put {
        item: item_of(
            patient_key(&patient.tenant_key, &patient.patient_id),
            patient,
            "patient",
        )?,
        cond: Some(Cond::NotExists),
    }];
    writes.extend(index_writes(patient, &patient.keys)?);
    Ok(writes)
}

/// The writes that update a patient: only the changed attributes of its
/// item (at the expected version), its record in every index item, and the
/// claims of its new keys.
pub fn update_patient_writes(
    before: &Patient,
    after: &Patient,
    changed: &Map<String, Value>,
    added_keys: &[PatientKey],
) -> Result<Vec<Write>> {
    let mut set = changed.clone();
    set.insert("version".into(), Value::from(after.version));
    set.insert("updatedAt".into(), Value::from(after.updated_at));
    let mut writes = vec![Write::Update {
        key: patient_key(&after.tenant_key, &after.patient_id),
        set,
        remove: vec![],
        cond: Some(Cond::And(vec![
            Cond::Exists,
            Cond::version_is(before.version),
        ])),
    }];
    writes.extend(index_writes(after, added_keys)?);
    Ok(writes)
}

/// One `Update` per distinct key value of `patient`: refresh its record;
/// claim the sub-systems of `claims` (absent or already ours); check that
/// the other sub-systems still name it.
fn index_writes(patient: &Patient, claims: &[PatientKey]) -> Result<Vec<Write>> {
    let snapshot = serde_json::to_value(patient)
        .map_err(|e| Error::internal(format!("patient did not serialize: {e}")))?;
    let pid = Value::from(patient.patient_id.as_str());
    let mut values: Vec<&str> = patient.keys.iter().map(|k| k.key.as_str()).collect();
    values.sort_unstable();
    values.dedup();
    let mut writes = Vec::with_capacity(values.len());
    for value in values {
        let mut set = Map::new();
        set.insert(TYPE.into(), Value::from("patientKey"));
        set.insert(snapshot_attr(&patient.patient_id), snapshot.clone());
        let mut conds = Vec::new();
        for key in patient.keys.iter().filter(|k| k.key == value) {
            let attr = sub_attr(&key.sub_system);
            if claims.contains(key) {
                set.insert(attr.clone(), pid.clone());
                conds.push(Cond::Or(vec![
                    Cond::AttrNotExists(attr.clone()),
                    Cond::AttrEq(attr, pid.clone()),
                ]));
            } else {
                conds.push(Cond::AttrEq(attr, pid.clone()));
            }
        }
        writes.push(Write::Update {
            key: patient_key_index(&patient.tenant_key, value),
            set,
            remove: vec![],
            cond: Some(Cond::And(conds)),
        });
    }
    Ok(writes)
}
