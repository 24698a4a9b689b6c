//! The wire formats of the vendor API, read into domain values: the
//! `x-integration-user` header (base64 of a JSON object) and the body's
//! `user`, the body's `patient`, the vendor's `metadata`, and the
//! field-by-field reading of a JSON object ([`Fields`]) so that a bad field
//! gets a 400 whose message names it (serde's own messages name Rust types
//! instead).

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use time::Date;

use crate::domain::ids::{ID_RULE, Id};
use crate::domain::patient::MAX_KEYS;
use crate::domain::types::{is_hidden_control, nfc};
use crate::domain::{
    BirthDate, Email, IntegrationUser, Language, Metadata, PatientInput, PatientKey, Phone, Sex,
    UserId,
};
use crate::error::{Error, Result};

pub const USER_HEADER: &str = "x-integration-user";
pub const HEADER_FORMAT_MESSAGE: &str = "Invalid x-integration-user header format";

/// Names and other short free text.
pub const MAX_NAME: usize = 100;
const MAX_LICENSE: usize = 64;
const MAX_KEY_LEN: usize = 128;

/// Reads fields of one JSON object; `label` prefixes every message
/// (e.g. `x-integration-user`, `patient`).
pub struct Fields<'a> {
    pub label: &'a str,
    pub map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub fn new(label: &'a str, map: &'a Map<String, Value>) -> Self {
        Self { label, map }
    }

    pub fn error(&self, field: &str, problem: &str) -> Error {
        Error::invalid(format!("Invalid {}: {field} {problem}", self.label))
    }

    /// An optional string: absent, `null` and blank all read as `None`;
    /// anything but a string is an error. Trimmed and Unicode-normalised
    /// (NFC); at most `max` characters as sent (the document's
    /// `maxLength`: surrounding spaces count) and as kept, none of them a control character
    /// (line breaks too, unless `multiline`); one-line text (names, keys,
    /// ids) holds no invisible bidirectional or zero-width character either.
    fn text(&self, field: &str, max: usize, multiline: bool) -> Result<Option<String>> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(raw)) => {
                let s = nfc(raw.trim());
                let bad =
                    |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
                let long = raw.chars().count() > max;
                if s.is_empty() && !long {
                    Ok(None)
                } else if !multiline && s.chars().any(is_hidden_control) {
                    Err(self.error(
                        field,
                        "must not hold invisible characters (bidirectional or zero-width controls)",
                    ))
                } else if long || s.chars().count() > max || s.chars().any(bad) {
                    let what = if multiline {
                        format!("must be text of at most {max} characters")
                    } else {
                        format!("must be at most {max} printable characters")
                    };
                    Err(self.error(field, &what))
                } else {
                    Ok(Some(s))
                }
            }
            Some(_) => Err(self.error(field, "must be a string")),
        }
    }

    /// An optional one-line string (see [`Fields::text`]).
    pub fn opt_str(&self, field: &str, max: usize) -> Result<Option<String>> {
        self.text(field, max, false)
    }

    /// Free text of a form (a summary, notes): line breaks allowed.
    pub fn opt_text(&self, field: &str, max: usize) -> Result<Option<String>> {
        self.text(field, max, true)
    }

    /// An optional string parsed by `parse`; `expected` says what it must be.
    pub fn opt_parsed<T>(
        &self,
        field: &str,
        max: usize,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>> {
        match self.opt_str(field, max)? {
            None => Ok(None),
            Some(s) => parse(&s)
                .map(Some)
                .ok_or_else(|| self.error(field, expected)),
        }
    }

    /// A field that must be given.
    pub fn required<T>(&self, field: &str, value: Option<T>) -> Result<T> {
        value.ok_or_else(|| self.error(field, "is required"))
    }

    /// An optional id of ours.
    pub fn opt_id<T: Id>(&self, field: &str) -> Result<Option<T>> {
        self.opt_parsed(field, 64, T::parse, "is not a valid id")
    }

    /// An optional `true`/`false` (absent or `null`: false).
    pub fn opt_bool(&self, field: &str) -> Result<bool> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.error(field, "must be true or false")),
        }
    }

    /// An optional `preferredLanguage`-style field: exactly `FR` or `EN`.
    pub fn opt_language(&self, field: &str) -> Result<Option<Language>> {
        self.opt_parsed(
            field,
            2,
            |s| match s {
                "FR" => Some(Language::Fr),
                "EN" => Some(Language::En),
                _ => None,
            },
            "must be FR or EN",
        )
    }
}

/// An id in a body that must be there and be one of ours: `{name} is
/// required`, `{name} must be …`.
pub fn body_id<T: Id>(f: &Fields, name: &str) -> Result<T> {
    match f.opt_str(name, 64)? {
        None => Err(Error::invalid(format!("{name} is required"))),
        Some(v) => T::parse(&v).ok_or_else(|| Error::invalid(format!("{name} must be {ID_RULE}"))),
    }
}

/// The user from the `x-integration-user` header or from the body's
/// `user`, never both.
pub fn integration_user(
    headers: &HeaderMap,
    body: Option<&Map<String, Value>>,
) -> Result<Option<IntegrationUser>> {
    let from_header = match headers.get(USER_HEADER) {
        None => None,
        Some(v) => {
            let raw = v
                .to_str()
                .map_err(|_| Error::invalid(HEADER_FORMAT_MESSAGE))?;
            Some(user_from_header(raw)?)
        }
    };
    let from_body = match body.and_then(|b| b.get("user")) {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(user_from_map("user", map)?),
        Some(_) => return Err(Error::invalid("Invalid user: must be a JSON object")),
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "Send the user in the x-integration-user header or in the body's user field, not both",
        )),
        (h, b) => Ok(h.or(b)),
    }
}

/// Decodes the `x-integration-user` header: base64 (standard or URL-safe,
/// padded or not) of a JSON object.
pub fn user_from_header(raw: &str) -> Result<IntegrationUser> {
    user_from_map("x-integration-user header", &header_object(raw)?)
}

/// The JSON object of the `x-integration-user` header.
pub fn header_object(raw: &str) -> Result<Map<String, Value>> {
    let raw = raw.trim();
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(raw).ok())
        .ok_or_else(|| Error::invalid(HEADER_FORMAT_MESSAGE))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|_| Error::invalid(HEADER_FORMAT_MESSAGE))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Error::invalid(HEADER_FORMAT_MESSAGE)),
    }
}

fn user_from_map(label: &str, map: &Map<String, Value>) -> Result<IntegrationUser> {
    let f = Fields::new(label, map);
    let user_id = match map.get("userId") {
        Some(Value::String(s)) => UserId::parse(s)
            .ok_or_else(|| f.error("userId", "must be 1 to 128 printable characters, not blank"))?,
        Some(Value::Null) | None => return Err(f.error("userId", "is required")),
        Some(_) => return Err(f.error("userId", "must be a string")),
    };
    Ok(IntegrationUser {
        user_id,
        first_name: f.opt_str("firstName", MAX_NAME)?,
        last_name: f.opt_str("lastName", MAX_NAME)?,
        email: f.opt_parsed("email", 254, Email::parse, "is not a valid e-mail address")?,
        license_number: f.opt_str("licenseNumber", MAX_LICENSE)?,
        preferred_language: f.opt_language("preferredLanguage")?,
        provider: f.opt_bool("provider")?,
    })
}

/// The `patient` of a request body (required): its keys and fields;
/// `today` bounds the date of birth.
pub fn patient_of(body: &Map<String, Value>, today: Date) -> Result<PatientInput> {
    let patient = body
        .get("patient")
        .ok_or_else(|| Error::invalid("Invalid request: patient is required"))?;
    patient_input(patient, today)
}

/// Reads and validates a `patient` object.
pub fn patient_input(value: &Value, today: Date) -> Result<PatientInput> {
    let Value::Object(map) = value else {
        return Err(Error::invalid("Invalid patient: must be a JSON object"));
    };
    let f = Fields::new("patient", map);
    Ok(PatientInput {
        keys: read_keys(&f)?,
        first_name: f.opt_str("firstName", MAX_NAME)?,
        last_name: f.opt_str("lastName", MAX_NAME)?,
        date_of_birth: f.opt_parsed(
            "dateOfBirth",
            10,
            |s| BirthDate::parse(s, today),
            BirthDate::RULE,
        )?,
        sex: f.opt_parsed(
            "sex",
            10,
            Sex::parse,
            "must be female, male, other or unknown",
        )?,
        email: f.opt_parsed("email", 254, Email::parse, "is not a valid e-mail address")?,
        phone: f.opt_parsed("phone", 32, Phone::parse, Phone::RULE)?,
        preferred_language: f.opt_language("preferredLanguage")?,
    })
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
        let sub_system = kf.required("subSystem", kf.opt_str("subSystem", MAX_KEY_LEN)?)?;
        let key = match m.get("key") {
            Some(Value::Number(n)) => numeric_key(&kf, n)?,
            _ => kf.required("key", kf.opt_str("key", MAX_KEY_LEN)?)?,
        };
        let k = PatientKey { sub_system, key };
        if keys.contains(&k) {
            return Err(f.error(&format!("keys[{i}]"), "repeats an earlier key"));
        }
        keys.push(k);
    }
    Ok(keys)
}

/// A patient key given as a JSON number: numeric identifiers are common
/// in pharmacy systems, so a whole number is accepted, as its decimal
/// digits (`30.0` is `30`: JSON Schema's integer), within the integers
/// every JSON reader holds exactly (±(2^53 − 1), the document's bounds); a
/// fraction or anything larger (`2.5e-42`, `1e300`) names no record and is
/// a `400`.
pub fn numeric_key(f: &Fields, n: &serde_json::Number) -> Result<String> {
    const SAFE: i64 = (1 << 53) - 1;
    let whole = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Some(i),
        (None, Some(x)) if x.fract() == 0.0 && x.abs() <= SAFE as f64 => Some(x as i64),
        _ => None,
    };
    match whole {
        Some(i) if (-SAFE..=SAFE).contains(&i) => Ok(i.to_string()),
        _ => Err(f.error("key", "must be a string or a whole number")),
    }
}

/// The vendor's optional `metadata`: a JSON object of at most 4 KB.
pub fn metadata(value: Option<&Value>) -> Result<Option<Metadata>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Metadata::new(m.clone()).map(Some),
        Some(_) => Err(Error::invalid("metadata must be a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::types::parse_date;
    use serde_json::json;

    fn header(json: &str) -> Result<IntegrationUser> {
        user_from_header(&STANDARD.encode(json))
    }

    #[test]
    fn documented_headers_decode_as_documented() {
        let u = user_from_header("eyJ1c2VySWQiOiJleGlzdGluZ191c2VyXzEyMyJ9").unwrap();
        assert_eq!(u.user_id.as_str(), "existing_user_123");
        assert!(u.has_no_identity());
        let u = user_from_header("eyJ1c2VySWQiOiJuZXdfdXNlcl80NTYiLCJmaXJzdE5hbWUiOiJEci4gQWxpY2UiLCJsYXN0TmFtZSI6IkpvaG5zb24iLCJlbWFpbCI6ImFsaWNlLmpvaG5zb25AY2xpbmljLmNvbSIsImxpY2Vuc2VOdW1iZXIiOiJNRDc4OTEyMyIsInByZWZlcnJlZExhbmd1YWdlIjoiRU4ifQ==").unwrap();
        assert_eq!(u.user_id.as_str(), "new_user_456");
        assert_eq!(u.first_name.as_deref(), Some("Dr. Alice"));
        assert_eq!(u.email.unwrap().as_str(), "alice.johnson@clinic.com");
        assert_eq!(u.license_number.as_deref(), Some("MD789123"));
        assert_eq!(u.preferred_language, Some(Language::En));
        let u = user_from_header("eyJ1c2VySWQiOiJlbXA0NTYifQ==").unwrap();
        assert_eq!(u.user_id.as_str(), "emp456");
    }

    #[test]
    fn a_text_is_bounded_as_sent_and_as_kept() {
        let map = |v: &str| Map::from_iter([("t".to_owned(), json!(v))]);
        let spaces = map(&" ".repeat(101));
        let f = Fields::new("x", &spaces);
        assert!(f.opt_str("t", 100).is_err(), "101 characters sent");
        let padded = map(&format!(" {} ", "a".repeat(98)));
        assert_eq!(
            Fields::new("x", &padded)
                .opt_str("t", 100)
                .unwrap()
                .unwrap()
                .len(),
            98
        );
        assert_eq!(
            Fields::new("x", &map("  ")).opt_str("t", 100).unwrap(),
            None
        );
    }

    #[test]
    fn numeric_patient_keys_are_whole_numbers() {
        let today = parse_date("2026-01-01").unwrap();
        let key_of = |k: Value| {
            let body = json!({"keys": [{"subSystem": "pms", "key": k}], "firstName": "A", "lastName": "B"});
            patient_input(&body, today).map(|p| p.keys[0].key.clone())
        };
        assert_eq!(key_of(json!(123)).unwrap(), "123");
        assert_eq!(key_of(json!(30.0)).unwrap(), "30");
        assert_eq!(key_of(json!(-7)).unwrap(), "-7");
        assert_eq!(
            key_of(json!(9_007_199_254_740_991_i64)).unwrap(),
            "9007199254740991"
        );
        for bad in [
            json!(2.5e-42),
            json!(1.5),
            json!(1e300),
            json!(9_007_199_254_740_992_u64),
            json!(u64::MAX),
        ] {
            let e = key_of(bad.clone()).unwrap_err();
            assert!(e.to_string().contains("whole number"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_headers_are_format_errors() {
        for raw in [
            "%%%not-base64",
            &STANDARD.encode("not json"),
            &STANDARD.encode("[1,2]"),
        ] {
            let e = user_from_header(raw).unwrap_err();
            assert_eq!(e.to_string(), HEADER_FORMAT_MESSAGE);
        }
    }

    #[test]
    fn field_errors_name_the_field() {
        let cases = [
            (r#"{}"#, "userId"),
            (r#"{"userId":""}"#, "userId"),
            (r#"{"userId":12}"#, "userId"),
            (
                r#"{"userId":"u","preferredLanguage":"DE"}"#,
                "preferredLanguage",
            ),
            (r#"{"userId":"u","email":"nope"}"#, "email"),
            (r#"{"userId":"u","firstName":5}"#, "firstName"),
        ];
        for (json, field) in cases {
            let e = header(json).unwrap_err();
            assert!(matches!(e, Error::Invalid(_)), "{json}: {e:?}");
            assert!(e.to_string().contains(field), "{json}: {e}");
        }
    }

    #[test]
    fn patient_validation_names_the_field() {
        let today = parse_date("2026-11-21").unwrap();
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
            let e = patient_input(&v, today).unwrap_err();
            assert!(e.to_string().contains(field), "{v}: {e}");
        }
        let ok = patient_input(
            &json!({"keys":[{"subSystem":"a","key":12345}],"dateOfBirth":"1980-05-17","sex":"F"}),
            today,
        )
        .unwrap();
        assert_eq!(ok.keys[0].key, "12345");
        assert_eq!(ok.sex, Some(Sex::Female));
    }

    #[test]
    fn free_text_allows_line_breaks_and_names_stay_on_one_line() {
        let map = json!({"notes": "a\nb", "name": "a\nb"});
        let f = Fields::new("request", map.as_object().unwrap());
        assert_eq!(f.opt_text("notes", 10).unwrap().as_deref(), Some("a\nb"));
        assert!(f.opt_str("name", 10).is_err());
        assert!(f.opt_text("notes", 2).is_err());
    }
}
