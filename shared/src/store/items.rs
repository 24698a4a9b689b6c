//! How entities become items and back: serde (camelCase) attributes plus a
//! `type` tag, the index attributes of listed entities, `ttl`, the updates
//! that write only what changed, and the patient-key index items. Keys come
//! from `keys.rs`.

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::keys::{self, Listed};
use super::table::{GSI1, GSI2, GSI3};
use super::{Attrs, Cond, Item, Key, TTL, Write};
use crate::crypto::KeyedDigest;
use crate::domain::patient::PatientField;
use crate::domain::user::UserField;
use crate::domain::{
    ApiKeyRecord, Consultation, Followup, Franchise, Patient, PatientId, PatientKey, TenantKey,
};
use crate::error::{Error, Result};

/// The attribute naming an item's entity.
pub const TYPE: &str = "type";
/// The `type` of outbox items: what the change feed and the relay pick.
pub const OUTBOX: &str = "outbox";
/// An outbox item's EventBridge `detail-type`, and its event body.
pub const DETAIL_TYPE: &str = "detailType";
pub const DETAIL: &str = "detail";

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

/// A put of an item that must not exist yet (or has expired).
pub fn put_new(item: Item) -> Write {
    Write::Put {
        item,
        cond: Some(Cond::NotExists),
    }
}

/// The condition of every change of a mutable entity: it exists, at the
/// version the change was planned from.
pub fn at_version(expected: u64) -> Cond {
    Cond::And(vec![Cond::Exists, Cond::version_is(expected)])
}

/// An update of an existing entity that writes only the attributes named
/// in `changed` (with their values in `entity`, as the entity serializes),
/// plus its `version` and `updatedAt`, at the version it was read at.
pub fn update_of<T: Serialize>(
    key: Key,
    entity: &T,
    changed: &[&str],
    expected_version: u64,
) -> Result<Write> {
    let all = attrs_of(entity, "")?;
    let mut set = Map::new();
    for name in changed.iter().copied().chain(["version", "updatedAt"]) {
        if let Some(v) = all.get(name) {
            set.insert(name.to_owned(), v.clone());
        }
    }
    Ok(Write::Update {
        key,
        set,
        remove: vec![],
        cond: Some(at_version(expected_version)),
    })
}

/// The attribute of a user field.
pub fn user_attr(field: UserField) -> &'static str {
    match field {
        UserField::FirstName => "firstName",
        UserField::LastName => "lastName",
        UserField::Email => "email",
        UserField::LicenseNumber => "licenseNumber",
        UserField::PreferredLanguage => "preferredLanguage",
    }
}

/// The attribute of a patient field.
pub fn patient_attr(field: PatientField) -> &'static str {
    match field {
        PatientField::FirstName => "firstName",
        PatientField::LastName => "lastName",
        PatientField::DateOfBirth => "dateOfBirth",
        PatientField::Sex => "sex",
        PatientField::Email => "email",
        PatientField::Phone => "phone",
        PatientField::PreferredLanguage => "preferredLanguage",
        PatientField::Keys => "keys",
    }
}

// ---- entities with index attributes ---------------------------------------

/// An item in the three lists of its kind (`keys::list_keys`).
fn listed_item<T: Serialize>(
    key: Key,
    entity: &T,
    type_name: &str,
    keys: keys::ListKeys,
) -> Result<Item> {
    let mut item = item_of(key, entity, type_name)?;
    for (def, (pk, sk)) in [
        (GSI1, keys.all),
        (GSI2, keys.by_status),
        (GSI3, keys.by_patient),
    ] {
        item.attrs.insert(def.pk.into(), pk.into());
        item.attrs.insert(def.sk.into(), sk.into());
    }
    Ok(item)
}

// The two listed entities, alike by design: each says which of its fields
// make its index keys.
pub fn consultation_item(c: &Consultation) -> Result<Item> {
    let t = &c.tenant_key;
    let list = keys::list_keys(
        t,
        Listed::Consultations,
        c.status.as_str(),
        &c.patient_id,
        c.created_at,
        c.consultation_id.as_str(),
    );
    let key = keys::consultation_key(t, &c.consultation_id);
    listed_item(key, c, "consultation", list)
}

pub fn followup_item(f: &Followup) -> Result<Item> {
    let t = &f.tenant_key;
    let list = keys::list_keys(
        t,
        Listed::Followups,
        f.status.as_str(),
        &f.patient_id,
        f.created_at,
        f.followup_id.as_str(),
    );
    let key = keys::followup_key(t, &f.followup_id);
    listed_item(key, f, "followup", list)
}

/// A franchise, in its account's list of franchises.
pub fn franchise_item(f: &Franchise) -> Result<Item> {
    let mut item = item_of(keys::franchise_key(&f.tenant_key), f, "franchise")?;
    let index = keys::account_franchises_index(&f.account_id);
    item.attrs.insert(GSI1.pk.into(), index.into());
    item.attrs
        .insert(GSI1.sk.into(), f.tenant_key.as_str().into());
    Ok(item)
}

/// An API key, in its account's list of keys.
pub fn api_key_item(k: &ApiKeyRecord) -> Result<Item> {
    let mut item = item_of(keys::api_key_key(&k.key_id), k, "apiKey")?;
    let index = keys::account_keys_index(&k.account_id);
    let sort = keys::account_keys_sort(k.created_at, &k.key_id);
    item.attrs.insert(GSI1.pk.into(), index.into());
    item.attrs.insert(GSI1.sk.into(), sort.into());
    Ok(item)
}

// ---- the patient-key index -------------------------------------------------
//
// One item per patient key *value* (`keys::patient_key_index`): attribute
// `s:{subSystem}` names the patient the value identifies in that
// sub-system, and `p:{patientId}` holds that patient's current record, so
// that one batch read finds and compares the patient of a request.

fn sub_attr(sub_system: &str) -> String {
    format!("s:{sub_system}")
}

fn snapshot_attr(patient: &PatientId) -> String {
    format!("p:{patient}")
}

/// What the patient-key index items of one batch read say.
#[derive(Debug, Default)]
pub struct PatientKeyIndex {
    /// For each (sub-system, value) found: the patient it identifies.
    pub owners: HashMap<PatientKey, PatientId>,
    /// Current records of the patients found.
    pub patients: HashMap<PatientId, Patient>,
}

impl PatientKeyIndex {
    /// Reads the index items among `items` for the key values of `keys`.
    pub fn read(
        tenant: &TenantKey,
        digest: &KeyedDigest,
        keys: &[PatientKey],
        items: &[Item],
    ) -> Result<Self> {
        let mut index = PatientKeyIndex::default();
        for key in keys {
            let wanted = keys::patient_key_index(tenant, digest, &key.key);
            let Some(item) = items.iter().find(|i| i.key == wanted) else {
                continue;
            };
            let Some(pid) = item
                .get_str(&sub_attr(&key.sub_system))
                .and_then(PatientId::parse)
            else {
                continue;
            };
            index.add_snapshot(item, &pid)?;
            index.owners.insert(key.clone(), pid);
        }
        Ok(index)
    }

    fn add_snapshot(&mut self, item: &Item, pid: &PatientId) -> Result<()> {
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
        self.patients.insert(pid.clone(), patient);
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
pub fn patients_with_key_value(item: Option<&Item>, sub_system: Option<&str>) -> Vec<PatientId> {
    let Some(item) = item else { return Vec::new() };
    let mut ids: Vec<PatientId> = match sub_system {
        Some(sub) => item
            .get_str(&sub_attr(sub))
            .and_then(PatientId::parse)
            .into_iter()
            .collect(),
        None => item
            .attrs
            .iter()
            .filter(|(name, _)| name.starts_with("s:"))
            .filter_map(|(_, v)| v.as_str().and_then(PatientId::parse))
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
pub fn create_patient_writes(patient: &Patient, digest: &KeyedDigest) -> Result<Vec<Write>> {
    let key = keys::patient_key(&patient.tenant_key, &patient.patient_id);
    let mut writes = vec![put_new(item_of(key, patient, "patient")?)];
    writes.extend(index_writes(patient, &patient.keys, digest)?);
    Ok(writes)
}

/// The writes that update a patient: only the changed attributes of its
/// item (at the expected version), its record in every index item, and the
/// claims of its new keys.
pub fn update_patient_writes(
    before: &Patient,
    after: &Patient,
    changed: &[PatientField],
    added_keys: &[PatientKey],
    digest: &KeyedDigest,
) -> Result<Vec<Write>> {
    let key = keys::patient_key(&after.tenant_key, &after.patient_id);
    let names: Vec<&str> = changed.iter().map(|f| patient_attr(*f)).collect();
    let mut writes = vec![update_of(key, after, &names, before.version)?];
    writes.extend(index_writes(after, added_keys, digest)?);
    Ok(writes)
}

/// One `Update` per distinct key value of `patient`: refresh its record;
/// claim the sub-systems of `claims` (absent or already ours); check that
/// the other sub-systems still name it.
fn index_writes(
    patient: &Patient,
    claims: &[PatientKey],
    digest: &KeyedDigest,
) -> Result<Vec<Write>> {
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
            key: keys::patient_key_index(&patient.tenant_key, digest, value),
            set,
            remove: vec![],
            cond: Some(Cond::And(conds)),
        });
    }
    Ok(writes)
}
