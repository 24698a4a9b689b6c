//! Patients, and their upsert by key: the patient in a request is matched
//! on its keys (`{subSystem, key}`), the first match wins, otherwise a
//! patient is created; only fields that differ are updated.
//!
//! Decided where the vendor contract is silent: creating a patient needs
//! `firstName` and `lastName`; a request key that already identifies
//! *another* patient is a `409` (we never move a key between patients
//! silently); new keys of a matched patient are added to it; `null`/blank
//! fields mean "not given" (they never erase stored data); at most ten keys
//! per patient. Reading a request's `patient` object is the HTTP layer's
//! (`http::wire`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::differs;
use super::ids::PatientId;
use super::types::{BirthDate, Email, Language, Phone, TenantKey};
use crate::error::{Error, Result};

pub const MAX_KEYS: usize = 10;

/// One of a patient's identifiers in a vendor's sub-system.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientKey {
    pub sub_system: String,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

impl Sex {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "female" | "f" => Some(Sex::Female),
            "male" | "m" => Some(Sex::Male),
            "other" | "x" => Some(Sex::Other),
            "unknown" | "u" => Some(Sex::Unknown),
            _ => None,
        }
    }
}

/// A patient of a franchise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub tenant_key: TenantKey,
    pub patient_id: PatientId,
    pub keys: Vec<PatientKey>,
    pub first_name: String,
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<BirthDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<Language>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl Patient {
    /// `First Last`.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// A patient as a vendor sends it: 1 to [`MAX_KEYS`] distinct keys, and the
/// fields it gives.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatientInput {
    pub keys: Vec<PatientKey>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<BirthDate>,
    pub sex: Option<Sex>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub preferred_language: Option<Language>,
}

/// A field of a patient that an update may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientField {
    FirstName,
    LastName,
    DateOfBirth,
    Sex,
    Email,
    Phone,
    PreferredLanguage,
    Keys,
}

/// What to do about the request's patient. (One short-lived plan per
/// request: boxing the larger variant would buy nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PatientPlan {
    /// Matched, and nothing differs: no write.
    Unchanged(Patient),
    /// No key matched: create this patient.
    Create(Patient),
    /// Matched and changed: `after` replaces `before` (conditionally on its
    /// version); `changed` lists the fields that differ; `added_keys` are
    /// keys to index for it.
    Update {
        before: Patient,
        after: Patient,
        changed: Vec<PatientField>,
        added_keys: Vec<PatientKey>,
    },
}

impl PatientPlan {
    pub fn patient(&self) -> &Patient {
        match self {
            PatientPlan::Unchanged(p)
            | PatientPlan::Create(p)
            | PatientPlan::Update { after: p, .. } => p,
        }
    }
}

/// Decides the patient write. `matched` is the patient of the first request
/// key that identifies one; `owners` tells, for every request key that
/// identifies a patient, which one.
pub fn plan_patient(
    input: &PatientInput,
    matched: Option<&Patient>,
    owners: &HashMap<PatientKey, PatientId>,
    tenant: &TenantKey,
    new_id: PatientId,
    now: i64,
) -> Result<PatientPlan> {
    let Some(current) = matched else {
        return create(input, tenant, new_id, now).map(PatientPlan::Create);
    };
    let mut after = current.clone();
    let mut changed = Vec::new();
    let mut note = |did: bool, field| {
        if did {
            changed.push(field);
        }
    };
    use PatientField as F;
    note(
        differs(&mut after.first_name, input.first_name.clone()),
        F::FirstName,
    );
    note(
        differs(&mut after.last_name, input.last_name.clone()),
        F::LastName,
    );
    note(
        differs(&mut after.date_of_birth, input.date_of_birth.map(Some)),
        F::DateOfBirth,
    );
    note(differs(&mut after.sex, input.sex.map(Some)), F::Sex);
    note(
        differs(&mut after.email, input.email.clone().map(Some)),
        F::Email,
    );
    note(
        differs(&mut after.phone, input.phone.clone().map(Some)),
        F::Phone,
    );
    note(
        differs(
            &mut after.preferred_language,
            input.preferred_language.map(Some),
        ),
        F::PreferredLanguage,
    );

    let mut added_keys = Vec::new();
    for key in &input.keys {
        if current.keys.contains(key) {
            continue;
        }
        if owners
            .get(key)
            .is_some_and(|owner| *owner != current.patient_id)
        {
            return Err(Error::conflict(format!(
                "Patient key of sub-system {:?} already identifies another patient",
                key.sub_system
            )));
        }
        added_keys.push(key.clone());
    }
    if !added_keys.is_empty() {
        after.keys.extend(added_keys.iter().cloned());
        if after.keys.len() > MAX_KEYS {
            // The request is valid; the patient's stored keys forbid it (a
            // `409`, like a key that names another patient above).
            return Err(Error::conflict(format!(
                "The patient's keys would exceed {MAX_KEYS}"
            )));
        }
        changed.push(F::Keys);
    }

    if changed.is_empty() {
        return Ok(PatientPlan::Unchanged(current.clone()));
    }
    after.version = current.version + 1;
    after.updated_at = now;
    Ok(PatientPlan::Update {
        before: current.clone(),
        after,
        changed,
        added_keys,
    })
}

fn create(input: &PatientInput, tenant: &TenantKey, id: PatientId, now: i64) -> Result<Patient> {
    let (Some(first), Some(last)) = (&input.first_name, &input.last_name) else {
        let missing: Vec<&str> = [
            ("firstName", &input.first_name),
            ("lastName", &input.last_name),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| n)
        .collect();
        return Err(Error::invalid(format!(
            "Patient creation failed - missing required fields: {}",
            missing.join(", ")
        )));
    };
    Ok(Patient {
        tenant_key: tenant.clone(),
        patient_id: id,
        keys: input.keys.clone(),
        first_name: first.clone(),
        last_name: last.clone(),
        date_of_birth: input.date_of_birth,
        sex: input.sex,
        email: input.email.clone(),
        phone: input.phone.clone(),
        preferred_language: input.preferred_language,
        created_at: now,
        updated_at: now,
        version: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantKey {
        TenantKey::parse("demo").unwrap()
    }

    fn key(sub_system: &str, key: &str) -> PatientKey {
        PatientKey {
            sub_system: sub_system.into(),
            key: key.into(),
        }
    }

    fn input(keys: &[(&str, &str)], first: Option<&str>, last: Option<&str>) -> PatientInput {
        PatientInput {
            keys: keys.iter().map(|(s, k)| key(s, k)).collect(),
            first_name: first.map(str::to_owned),
            last_name: last.map(str::to_owned),
            ..PatientInput::default()
        }
    }

    fn id(s: &str) -> PatientId {
        PatientId::parse(s).unwrap()
    }

    fn stored() -> Patient {
        let mut i = input(&[("ramq", "ABC")], Some("Ann"), Some("Lee"));
        i.phone = Phone::parse("514-555-0100");
        match plan_patient(&i, None, &HashMap::new(), &tenant(), id("p1"), 5).unwrap() {
            PatientPlan::Create(p) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn creation_needs_names() {
        let i = input(&[("a", "1")], Some("A"), None);
        let e = plan_patient(&i, None, &HashMap::new(), &tenant(), id("p"), 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Patient creation failed - missing required fields: lastName"
        );
    }

    #[test]
    fn same_data_is_unchanged_and_differences_are_listed() {
        let p = stored();
        let same = input(&[("ramq", "ABC")], Some("Ann"), None);
        assert!(matches!(
            plan_patient(&same, Some(&p), &HashMap::new(), &tenant(), id("x"), 9).unwrap(),
            PatientPlan::Unchanged(_)
        ));
        let diff = input(&[("ramq", "ABC"), ("pms", "7")], Some("Anne"), Some("Lee"));
        let PatientPlan::Update {
            after,
            changed,
            added_keys,
            ..
        } = plan_patient(&diff, Some(&p), &HashMap::new(), &tenant(), id("x"), 9).unwrap()
        else {
            panic!()
        };
        assert_eq!(changed, [PatientField::FirstName, PatientField::Keys]);
        assert_eq!(added_keys.len(), 1);
        assert_eq!(after.version, 2);
        assert_eq!(
            after.phone.as_ref().map(Phone::as_str),
            Some("514-555-0100")
        );
    }

    #[test]
    fn a_key_of_another_patient_is_a_conflict() {
        let p = stored();
        let owners = HashMap::from([(key("pms", "7"), id("someone-else"))]);
        let i = input(&[("ramq", "ABC"), ("pms", "7")], None, None);
        let e = plan_patient(&i, Some(&p), &owners, &tenant(), id("x"), 9).unwrap_err();
        assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    }
}
