//! Field-by-field reading of a JSON object, so that a bad field gets a 400
//! whose message names it (serde's own messages name Rust types instead).

use serde_json::{Map, Value};

use crate::error::{Error, Result};

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
        Error::bad_request(format!("Invalid {}: {field} {problem}", self.label))
    }

    /// An optional string: absent, `null` and blank all read as `None`;
    /// anything but a string is an error. Trimmed; at most `max` characters.
    pub fn opt_str(&self, field: &str, max: usize) -> Result<Option<String>> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    Ok(None)
                } else if s.chars().count() > max || s.chars().any(char::is_control) {
                    Err(self.error(
                        field,
                        &format!("must be at most {max} printable characters"),
                    ))
                } else {
                    Ok(Some(s.to_owned()))
                }
            }
            Some(_) => Err(self.error(field, "must be a string")),
        }
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
}

impl Fields<'_> {
    /// An optional `preferredLanguage`-style field: exactly `FR` or `EN`.
    pub fn opt_language(&self, field: &str) -> Result<Option<super::types::Language>> {
        use super::types::Language;
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

/// Names and other short free text.
pub const MAX_NAME: usize = 100;
