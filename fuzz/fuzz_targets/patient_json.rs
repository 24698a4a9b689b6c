//! The body's `patient` (`shared::http::wire::patient_of`, `patient_input`)
//! and `metadata` (`wire::metadata`). Properties: a patient read from a
//! body, written back as the API documents it, reads as the same patient
//! (the reading is a normalisation: doing it twice changes nothing); its
//! keys are 1 to `MAX_KEYS` and distinct; a date of birth is not after
//! today; anything refused is a `400` (`Error::Invalid`); metadata that
//! is accepted is at most 4 KB of JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use shared::domain::patient::MAX_KEYS;
use shared::domain::{Metadata, PatientInput};
use shared::http::wire::{metadata, patient_input, patient_of};
use time::macros::date;

fn encoded(p: &PatientInput) -> Value {
    let keys: Vec<Value> = p
        .keys
        .iter()
        .map(|k| json!({"subSystem": k.sub_system, "key": k.key}))
        .collect();
    let mut m = Map::new();
    m.insert("keys".into(), Value::Array(keys));
    let mut opt = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    };
    opt("firstName", p.first_name.clone().map(Value::from));
    opt("lastName", p.last_name.clone().map(Value::from));
    opt("dateOfBirth", p.date_of_birth.map(|d| json!(d.to_string())));
    opt(
        "sex",
        p.sex
            .map(|s| serde_json::to_value(s).expect("a sex serializes")),
    );
    opt("email", p.email.as_ref().map(|e| json!(e.as_str())));
    opt("phone", p.phone.as_ref().map(|e| json!(e.as_str())));
    opt(
        "preferredLanguage",
        p.preferred_language.map(|l| json!(l.as_str())),
    );
    Value::Object(m)
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let today = date!(2026 - 11 - 21);
    match patient_input(&value, today) {
        Ok(p) => {
            assert!((1..=MAX_KEYS).contains(&p.keys.len()));
            for (i, k) in p.keys.iter().enumerate() {
                assert!(!p.keys[..i].contains(k), "a repeated key");
            }
            let again = patient_input(&encoded(&p), today).expect("a written patient reads back");
            assert_eq!(again, p);
            if let Some(d) = p.date_of_birth {
                assert!(d.to_string().as_str() <= "2026-11-21", "{d}");
            }
        }
        Err(e) => assert!(matches!(e, shared::Error::Invalid(_)), "{e:?}"),
    }
    if let Value::Object(body) = &value {
        let _ = patient_of(body, today);
        match metadata(body.get("metadata")) {
            Ok(Some(m)) => assert!(
                m.to_json().to_string().len() <= Metadata::MAX_BYTES,
                "metadata over 4 KB"
            ),
            Ok(None) => {}
            Err(e) => assert!(matches!(e, shared::Error::Invalid(_)), "{e:?}"),
        }
    }
});
