//! Patient upsert by key (seeds 000/001): the patient in a request is matched
//! on its keys (`{subSystem, key}`), the first match wins, otherwise a patient
//! is created; only fields that differ are updated.
//!
//! Decided where the seeds are silent: creating a patient needs `firstName`
//! and `lastName`; a request key that already identifies *another* patient is
//! a `409` (we never move a key between patients silently); new keys of a
//! matched patient are added to it; `null`/blank fields mean "not given"
//! (they never erase stored data); at most ten keys per patient.

use std::collections::HashMap;

use serde_json::{Map, Value};
use time::macros::format_description;

use super::entities::{Patient, PatientKey, Sex};
use super::fields::{Fields, MAX_NAME};
use super::types::{Email, Language, TenantKey};
use crate::error::{Error, Result};

pub const MAX_KEYS: usize = 10;
const MAX_KEY_LEN: usize = 128;

/// A patient as a vendor sends it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatientInput {
    pub keys: Vec<PatientKey>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub sex: Option<Sex>,
    pub email: Option<Email>,
    pub phone: Option<String>,
    pub preferred_language: Option<Language>,
}

impl PatientInput {
    /// Reads and validates the `patient` object of a request body; `today`
    /// (`YYYY-MM-DD`) bounds the date of birth.
    pub fn from_json(value: &Value, today: &str) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(Error::bad_request("Invalid patient: must be a JSON object"));
        };
        let f = Fields::new("patient", map);
        Ok(Self {
            keys: read_keys(&f)?,
            first_name: f.opt_str("firstName", MAX_NAME)?,
            last_name: f.opt_str("lastName", MAX_NAME)?,
            date_of_birth: f.opt_parsed(
                "dateOfBirth",
                10,
                |s| valid_birth_date(s, today).then(|| s.to_owned()),
                "must be a past date written YYYY-MM-DD",
            )?,
            sex: f.opt_parsed(
                "sex",
                10,
                Sex::parse,
                "must be female, male, other or unknown",
            )?,
            email: f.opt_parsed("email", 254, Email::parse, "is not a valid e-mail address")?,
            phone: f.opt_parsed(
                "phone",
                32,
                |s| valid_phone(s).then(|| s.to_owned()),
                "must hold 7 to 15 digits (spaces, dashes, dots, brackets and a leading + allowed)",
            )?,
            preferred_language: f.opt_language("preferredLanguage")?,
        })
    }
}

fn read_keys(f: &Fields) -> Result<Vec<PatientKey>> {
    let Some(Value::Array(raw)) = f.map.get("keys") else {
        return Err(f.error("keys", "is required: a list of {subSystem, key}"));
    };
    if raw.is_empty() || raw.len() > MAX_KEYS {
        return Err(f.error("keys", &format!("must hold 1 to {MAX_KEYS} keys")));
    }
    let mut keys: Vec<PatientKey> = Vec::with_capacity(raw.len());
    for (i, entry) in raw.iter().enumerate() {
        let Value::Object(m) = entry else {
            return Err(f.error(&format!("keys[{i}]"), "must be an object {subSystem, key}"));
        };
        let label = format!("patient keys[{i}]");
        let kf = Fields::new(&label, m);
        let sub_system = kf
            .opt_str("subSystem", MAX_KEY_LEN)?
            .ok_or_else(|| kf.error("subSystem", "is required"))?;
        let key = match m.get("key") {
            // Numeric identifiers are common in pharmacy systems: accept them.
            Some(Value::Number(n)) => n.to_string(),
            _ => kf
                .opt_str("key", MAX_KEY_LEN)?
                .ok_or_else(|| kf.error("key", "is required"))?,
        };
        let k = PatientKey { sub_system, key };
        if keys.contains(&k) {
            return Err(f.error(&format!("keys[{i}]"), "repeats an earlier key"));
        }
        keys.push(k);
    }
    Ok(keys)
}

fn valid_birth_date(s: &str, today: &str) -> bool {
    let fmt = format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).is_ok_and(|d| d.year() >= 1900) && s <= today
}

fn valid_phone(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')'))
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
    /// version); `changed` lists the attributes that differ; `added_keys`
    /// are keys to index for it.
    Update {
        before: Patient,
        after: Patient,
        changed: Map<String, Value>,
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
    owners: &HashMap<PatientKey, String>,
    tenant: &TenantKey,
    new_id: &str,
    now: i64,
) -> Result<PatientPlan> {
    let Some(current) = matched else {
        let (Some(first), Some(last)) = (&input.first_name, &input.last_name) else {
            let missing: Vec<&str> = [
                ("firstName", &input.first_name),
                ("lastName", &input.last_name),
            ]
            .into_iter()
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| n)
            .collect();
            return Err(Error::bad_request(format!(
                "Patient creation failed - missing required fields: {}",
                missing.join(", ")
            )));
        };
        return Ok(PatientPlan::Create(Patient {
            tenant_key: tenant.clone(),
            patient_id: new_id.to_owned(),
            keys: input.keys.clone(),
            first_name: first.clone(),
            last_name: last.clone(),
            date_of_birth: input.date_of_birth.clone(),
            sex: input.sex,
            email: input.email.clone(),
            phone: input.phone.clone(),
            preferred_language: input.preferred_language,
            created_at: now,
            updated_at: now,
            version: 1,
        }));
    };

    let mut after = current.clone();
    let mut changed = Map::new();
    let mut set = |name: &str, v: Value| {
        changed.insert(name.to_owned(), v);
    };
    if let Some(v) = input
        .first_name
        .as_ref()
        .filter(|v| **v != current.first_name)
    {
        after.first_name = v.clone();
        set("firstName", Value::from(v.as_str()));
    }
    if let Some(v) = input
        .last_name
        .as_ref()
        .filter(|v| **v != current.last_name)
    {
        after.last_name = v.clone();
        set("lastName", Value::from(v.as_str()));
    }
    if input.date_of_birth.is_some() && input.date_of_birth != current.date_of_birth {
        after.date_of_birth = input.date_of_birth.clone();
        set("dateOfBirth", Value::from(input.date_of_birth.clone()));
    }
    if input.sex.is_some() && input.sex != current.sex {
        after.sex = input.sex;
        set(
            "sex",
            serde_json::to_value(input.sex).unwrap_or(Value::Null),
        );
    }
    if input.email.is_some() && input.email != current.email {
        after.email = input.email.clone();
        set(
            "email",
            Value::from(input.email.as_ref().map(Email::as_str)),
        );
    }
    if input.phone.is_some() && input.phone != current.phone {
        after.phone = input.phone.clone();
        set("phone", Value::from(input.phone.clone()));
    }
    if input.preferred_language.is_some() && input.preferred_language != current.preferred_language
    {
        after.preferred_language = input.preferred_language;
        set(
            "preferredLanguage",
            Value::from(input.preferred_language.map(Language::as_str)),
        );
    }

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
            return Err(Error::bad_request(format!(
                "Invalid patient: keys would exceed {MAX_KEYS} for this patient"
            )));
        }
        changed.insert(
            "keys".into(),
            serde_json::to_value(&after.keys).unwrap_or(Value::Null),
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TODAY: &str = "2026-11-21";

    fn tenant() -> TenantKey {
        TenantKey::parse("demo").unwrap()
    }

    fn input(v: Value) -> PatientInput {
        PatientInput::from_json(&v, TODAY).unwrap()
    }

    fn stored() -> Patient {
        let i = input(
            json!({"keys":[{"subSystem":"ramq","key":"ABC"}],"firstName":"Ann","lastName":"Lee","phone":"514-555-0100"}),
        );
        match plan_patient(&i, None, &HashMap::new(), &tenant(), "p1", 5).unwrap() {
            PatientPlan::Create(p) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (json!({}), "keys"),
            (json!({"keys":[]}), "keys"),
            (json!({"keys":[{"subSystem":"a"}]}), "key"),
            (json!({"keys":[{"key":"a"}]}), "subSystem"),
            (
                json!({"keys":[{"subSystem":"a","key":"1"},{"subSystem":"a","key":"1"}]}),
                "keys[1]",
            ),
            (
                json!({"keys":[{"subSystem":"a","key":"1"}],"dateOfBirth":"2030-01-01"}),
                "dateOfBirth",
            ),
            (
                json!({"keys":[{"subSystem":"a","key":"1"}],"dateOfBirth":"1990-02-30"}),
                "dateOfBirth",
            ),
            (
                json!({"keys":[{"subSystem":"a","key":"1"}],"sex":"q"}),
                "sex",
            ),
            (
                json!({"keys":[{"subSystem":"a","key":"1"}],"phone":"12"}),
                "phone",
            ),
            (
                json!({"keys":[{"subSystem":"a","key":"1"}],"email":"x"}),
                "email",
            ),
        ];
        for (v, field) in cases {
            let e = PatientInput::from_json(&v, TODAY).unwrap_err();
            assert!(e.to_string().contains(field), "{v}: {e}");
        }
        let ok = input(
            json!({"keys":[{"subSystem":"a","key":12345}],"dateOfBirth":"1980-05-17","sex":"F"}),
        );
        assert_eq!(ok.keys[0].key, "12345");
        assert_eq!(ok.sex, Some(Sex::Female));
    }

    #[test]
    fn creation_needs_names() {
        let i = input(json!({"keys":[{"subSystem":"a","key":"1"}],"firstName":"A"}));
        let e = plan_patient(&i, None, &HashMap::new(), &tenant(), "p", 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Patient creation failed - missing required fields: lastName"
        );
    }

    #[test]
    fn same_data_is_unchanged_and_differences_are_listed() {
        let p = stored();
        let same = input(
            json!({"keys":[{"subSystem":"ramq","key":"ABC"}],"firstName":"Ann","phone":null}),
        );
        assert!(matches!(
            plan_patient(&same, Some(&p), &HashMap::new(), &tenant(), "x", 9).unwrap(),
            PatientPlan::Unchanged(_)
        ));
        let diff = input(
            json!({"keys":[{"subSystem":"ramq","key":"ABC"},{"subSystem":"pms","key":"7"}],"firstName":"Anne","lastName":"Lee"}),
        );
        let PatientPlan::Update {
            after,
            changed,
            added_keys,
            ..
        } = plan_patient(&diff, Some(&p), &HashMap::new(), &tenant(), "x", 9).unwrap()
        else {
            panic!()
        };
        let mut names: Vec<_> = changed.keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["firstName", "keys"]);
        assert_eq!(added_keys.len(), 1);
        assert_eq!(after.version, 2);
        assert_eq!(after.phone.as_deref(), Some("514-555-0100"));
    }

    #[test]
    fn a_key_of_another_patient_is_a_conflict() {
        let p = stored();
        let k = PatientKey {
            sub_system: "pms".into(),
            key: "7".into(),
        };
        let owners = HashMap::from([(k.clone(), "someone-else".to_owned())]);
        let i =
            input(json!({"keys":[{"subSystem":"ramq","key":"ABC"},{"subSystem":"pms","key":"7"}]}));
        let e = plan_patient(&i, Some(&p), &owners, &tenant(), "x", 9).unwrap_err();
        assert_eq!(e.status(), 409);
    }
}
