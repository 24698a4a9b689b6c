//! The `x-integration-user` rules of seed 002, as DESIGN.md makes them exact.
//!
//! - no user given: the session belongs to the API key's owner;
//! - the user exists: only fields whose value differs are written, in one
//!   operation; an id-only user writes nothing at all;
//! - the user does not exist:
//!   - id only (optionally with `preferredLanguage`): a clone of the owner's
//!     profile under the new id;
//!   - `firstName`, `lastName` and `email` all given: created from them;
//!   - anything in between (some of the three, or a `licenseNumber` without
//!     them): `400 User creation failed - missing required fields`, because
//!     we never mix one person's identity with the owner's.
//!
//! Decided where the seeds are silent: `null` and blank strings count as "not
//! given" (vendors serialise empty form fields that way); a language may
//! override a clone's because it is a preference, not an identity.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use super::entities::User;
use super::fields::{Fields, MAX_NAME};
use super::types::{Email, Language, UserId};
use crate::error::{Error, Result};

pub const HEADER_FORMAT_MESSAGE: &str = "Invalid x-integration-user header format";
pub const MISSING_FIELDS_MESSAGE: &str = "User creation failed - missing required fields";

const MAX_LICENSE: usize = 64;

/// A user as a vendor describes it (header or `user` body field).
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationUser {
    pub user_id: UserId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Email>,
    pub license_number: Option<String>,
    pub preferred_language: Option<Language>,
}

impl IntegrationUser {
    /// Decodes the `x-integration-user` header: base64 (standard or URL-safe,
    /// padded or not) of a JSON object.
    pub fn from_header(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(raw).ok())
            .ok_or_else(|| Error::bad_request(HEADER_FORMAT_MESSAGE))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| Error::bad_request(HEADER_FORMAT_MESSAGE))?;
        match value {
            Value::Object(map) => Self::from_map("x-integration-user header", &map),
            _ => Err(Error::bad_request(HEADER_FORMAT_MESSAGE)),
        }
    }

    /// Reads the `user` field of a request body (same schema as the header).
    pub fn from_body(value: &Value) -> Result<Self> {
        match value {
            Value::Object(map) => Self::from_map("user", map),
            _ => Err(Error::bad_request("Invalid user: must be a JSON object")),
        }
    }

    fn from_map(label: &str, map: &Map<String, Value>) -> Result<Self> {
        let f = Fields::new(label, map);
        let user_id = match map.get("userId") {
            Some(Value::String(s)) => UserId::parse(s).ok_or_else(|| {
                f.error("userId", "must be 1 to 128 printable characters, not blank")
            })?,
            Some(Value::Null) | None => return Err(f.error("userId", "is required")),
            Some(_) => return Err(f.error("userId", "must be a string")),
        };
        Ok(Self {
            user_id,
            first_name: f.opt_str("firstName", MAX_NAME)?,
            last_name: f.opt_str("lastName", MAX_NAME)?,
            email: f.opt_parsed("email", 254, Email::parse, "is not a valid e-mail address")?,
            license_number: f.opt_str("licenseNumber", MAX_LICENSE)?,
            preferred_language: f.opt_language("preferredLanguage")?,
        })
    }

    /// True when nothing but the id (and possibly the language) is given.
    fn has_no_identity(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.email.is_none()
            && self.license_number.is_none()
    }
}

/// What to do about the session's user.
#[derive(Debug, Clone, PartialEq)]
pub enum UserPlan {
    /// Use the stored user as it is: no write.
    Unchanged(User),
    /// Create this user (conditionally: it must not exist).
    Create(User),
    /// Write only `changed` (top-level attribute names and new values) on
    /// the stored user at `expected_version`; `user` is the result.
    Update {
        user: User,
        changed: Map<String, Value>,
        expected_version: u64,
    },
}

impl UserPlan {
    pub fn user(&self) -> &User {
        match self {
            UserPlan::Unchanged(u) | UserPlan::Create(u) | UserPlan::Update { user: u, .. } => u,
        }
    }
}

/// Decides the write for `input` given the stored user (if any) and the key
/// owner's profile (needed only to clone).
pub fn plan_user(
    input: &IntegrationUser,
    existing: Option<&User>,
    owner: Option<&User>,
    account_id: &str,
    default_language: Language,
    now: i64,
) -> Result<UserPlan> {
    if let Some(current) = existing {
        return Ok(plan_update(input, current, now));
    }
    if input.has_no_identity() {
        let owner = owner
            .ok_or_else(|| Error::internal("the API key's owner has no user profile to clone"))?;
        return Ok(UserPlan::Create(User {
            account_id: account_id.to_owned(),
            user_id: input.user_id.clone(),
            first_name: owner.first_name.clone(),
            last_name: owner.last_name.clone(),
            email: owner.email.clone(),
            license_number: owner.license_number.clone(),
            preferred_language: input.preferred_language.unwrap_or(owner.preferred_language),
            created_at: now,
            updated_at: now,
            version: 1,
        }));
    }
    match (&input.first_name, &input.last_name, &input.email) {
        (Some(first), Some(last), Some(email)) => Ok(UserPlan::Create(User {
            account_id: account_id.to_owned(),
            user_id: input.user_id.clone(),
            first_name: first.clone(),
            last_name: last.clone(),
            email: email.clone(),
            license_number: input.license_number.clone(),
            preferred_language: input.preferred_language.unwrap_or(default_language),
            created_at: now,
            updated_at: now,
            version: 1,
        })),
        _ => Err(Error::bad_request(MISSING_FIELDS_MESSAGE)),
    }
}

fn plan_update(input: &IntegrationUser, current: &User, now: i64) -> UserPlan {
    let mut user = current.clone();
    let mut changed = Map::new();
    if let Some(v) = input
        .first_name
        .as_ref()
        .filter(|v| **v != current.first_name)
    {
        user.first_name = v.clone();
        changed.insert("firstName".into(), Value::from(v.as_str()));
    }
    if let Some(v) = input
        .last_name
        .as_ref()
        .filter(|v| **v != current.last_name)
    {
        user.last_name = v.clone();
        changed.insert("lastName".into(), Value::from(v.as_str()));
    }
    if let Some(v) = input.email.as_ref().filter(|v| **v != current.email) {
        user.email = v.clone();
        changed.insert("email".into(), Value::from(v.as_str()));
    }
    if let Some(v) = input
        .license_number
        .as_ref()
        .filter(|v| Some(*v) != current.license_number.as_ref())
    {
        user.license_number = Some(v.clone());
        changed.insert("licenseNumber".into(), Value::from(v.as_str()));
    }
    if let Some(v) = input
        .preferred_language
        .filter(|v| *v != current.preferred_language)
    {
        user.preferred_language = v;
        changed.insert("preferredLanguage".into(), Value::from(v.as_str()));
    }
    if changed.is_empty() {
        return UserPlan::Unchanged(current.clone());
    }
    user.version = current.version + 1;
    user.updated_at = now;
    UserPlan::Update {
        user,
        changed,
        expected_version: current.version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> User {
        User {
            account_id: "acc".into(),
            user_id: UserId::parse("owner").unwrap(),
            first_name: "Olivia".into(),
            last_name: "Owner".into(),
            email: Email::parse("owner@pharmacy.example").unwrap(),
            license_number: Some("PH-1".into()),
            preferred_language: Language::Fr,
            created_at: 1,
            updated_at: 1,
            version: 3,
        }
    }

    fn header(json: &str) -> Result<IntegrationUser> {
        IntegrationUser::from_header(&STANDARD.encode(json))
    }

    #[test]
    fn seed_002_headers_decode_as_the_seed_says() {
        let u = IntegrationUser::from_header("eyJ1c2VySWQiOiJleGlzdGluZ191c2VyXzEyMyJ9").unwrap();
        assert_eq!(u.user_id.as_str(), "existing_user_123");
        assert!(u.has_no_identity());
        let u = IntegrationUser::from_header("eyJ1c2VySWQiOiJuZXdfdXNlcl80NTYiLCJmaXJzdE5hbWUiOiJEci4gQWxpY2UiLCJsYXN0TmFtZSI6IkpvaG5zb24iLCJlbWFpbCI6ImFsaWNlLmpvaG5zb25AY2xpbmljLmNvbSIsImxpY2Vuc2VOdW1iZXIiOiJNRDc4OTEyMyIsInByZWZlcnJlZExhbmd1YWdlIjoiRU4ifQ==").unwrap();
        assert_eq!(u.user_id.as_str(), "new_user_456");
        assert_eq!(u.first_name.as_deref(), Some("Dr. Alice"));
        assert_eq!(u.email.unwrap().as_str(), "alice.johnson@clinic.com");
        assert_eq!(u.license_number.as_deref(), Some("MD789123"));
        assert_eq!(u.preferred_language, Some(Language::En));
        let u = IntegrationUser::from_header("eyJ1c2VySWQiOiJlbXA0NTYifQ==").unwrap();
        assert_eq!(u.user_id.as_str(), "emp456");
    }

    #[test]
    fn bad_headers_are_format_errors() {
        for raw in [
            "%%%not-base64",
            &STANDARD.encode("not json"),
            &STANDARD.encode("[1,2]"),
        ] {
            let e = IntegrationUser::from_header(raw).unwrap_err();
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
            assert_eq!(e.status(), 400);
            assert!(e.to_string().contains(field), "{json}: {e}");
        }
    }

    #[test]
    fn id_only_existing_user_is_unchanged() {
        let input = header(r#"{"userId":"owner"}"#).unwrap();
        let plan = plan_user(&input, Some(&owner()), None, "acc", Language::En, 9).unwrap();
        assert_eq!(plan, UserPlan::Unchanged(owner()));
    }

    #[test]
    fn update_writes_only_changed_fields() {
        let input =
            header(r#"{"userId":"owner","firstName":"Olivia","email":"new@x.example"}"#).unwrap();
        match plan_user(&input, Some(&owner()), None, "acc", Language::En, 9).unwrap() {
            UserPlan::Update {
                user,
                changed,
                expected_version,
            } => {
                assert_eq!(changed.keys().collect::<Vec<_>>(), ["email"]);
                assert_eq!(expected_version, 3);
                assert_eq!(user.version, 4);
                assert_eq!(user.email.as_str(), "new@x.example");
                assert_eq!(user.first_name, "Olivia");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn new_id_only_user_clones_the_owner() {
        let input = header(r#"{"userId":"emp456"}"#).unwrap();
        let plan = plan_user(&input, None, Some(&owner()), "acc", Language::En, 9).unwrap();
        let UserPlan::Create(u) = plan else { panic!() };
        assert_eq!(u.user_id.as_str(), "emp456");
        assert_eq!(
            (u.first_name.as_str(), u.last_name.as_str()),
            ("Olivia", "Owner")
        );
        assert_eq!(u.email, owner().email);
        assert_eq!(u.license_number, owner().license_number);
        assert_eq!(u.preferred_language, Language::Fr);
        assert_eq!(u.version, 1);
    }

    #[test]
    fn new_full_user_is_created_with_franchise_language_by_default() {
        let input =
            header(r#"{"userId":"n","firstName":"A","lastName":"B","email":"a@b.co"}"#).unwrap();
        let UserPlan::Create(u) =
            plan_user(&input, None, Some(&owner()), "acc", Language::En, 9).unwrap()
        else {
            panic!()
        };
        assert_eq!(u.preferred_language, Language::En);
        assert_eq!(u.license_number, None);
    }

    #[test]
    fn new_partial_user_is_rejected() {
        for json in [
            r#"{"userId":"n","firstName":"A"}"#,
            r#"{"userId":"n","firstName":"A","lastName":"B"}"#,
            r#"{"userId":"n","email":"a@b.co"}"#,
            r#"{"userId":"n","licenseNumber":"L"}"#,
        ] {
            let input = header(json).unwrap();
            let e = plan_user(&input, None, Some(&owner()), "acc", Language::En, 9).unwrap_err();
            assert_eq!(e.to_string(), MISSING_FIELDS_MESSAGE, "{json}");
        }
    }
}
