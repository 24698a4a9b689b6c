//! Users (employees of an account) and the rules of the
//! `x-integration-user` upsert:
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
//! Decided where the vendor contract is silent: `null` and blank strings
//! count as "not given" (vendors serialise empty form fields that way); a
//! language may override a clone's because it is a preference, not an
//! identity. Reading the header or a body into an [`IntegrationUser`] is
//! the HTTP layer's (`http::wire`).

use serde::{Deserialize, Serialize};

use super::differs;
use super::ids::AccountId;
use super::types::{Email, Language, UserId};
use crate::error::{Error, Result};

pub const MISSING_FIELDS_MESSAGE: &str = "User creation failed - missing required fields";

/// An employee (pharmacist, nurse, physician) of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: AccountId,
    pub user_id: UserId,
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_number: Option<String>,
    pub preferred_language: Language,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

/// A user as a vendor describes it (header or `user` body field).
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationUser {
    pub user_id: UserId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Email>,
    pub license_number: Option<String>,
    pub preferred_language: Option<Language>,
    /// `"provider": true`: the user takes visits (they get a provider
    /// profile in the franchise if they have none).
    pub provider: bool,
}

impl IntegrationUser {
    /// Only the id: who the session is, nothing about them.
    pub fn id_only(user_id: UserId) -> Self {
        Self {
            user_id,
            first_name: None,
            last_name: None,
            email: None,
            license_number: None,
            preferred_language: None,
            provider: false,
        }
    }

    /// True when nothing but the id (and possibly the language) is given.
    pub fn has_no_identity(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.email.is_none()
            && self.license_number.is_none()
    }
}

/// A field of a user that an update may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    FirstName,
    LastName,
    Email,
    LicenseNumber,
    PreferredLanguage,
}

/// What to do about the session's user.
#[derive(Debug, Clone, PartialEq)]
pub enum UserPlan {
    /// Use the stored user as it is: no write.
    Unchanged(User),
    /// Create this user (conditionally: it must not exist).
    Create(User),
    /// Write only the `changed` fields of `user` on the stored user at
    /// `expected_version`; `user` is the result.
    Update {
        user: User,
        changed: Vec<UserField>,
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
    account_id: &AccountId,
    default_language: Language,
    now: i64,
) -> Result<UserPlan> {
    if let Some(current) = existing {
        return Ok(plan_update(input, current, now));
    }
    let new = |first: &String, last: &String, email: &Email, license, language| User {
        account_id: account_id.clone(),
        user_id: input.user_id.clone(),
        first_name: first.clone(),
        last_name: last.clone(),
        email: email.clone(),
        license_number: license,
        preferred_language: language,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    if input.has_no_identity() {
        let owner = owner
            .ok_or_else(|| Error::internal("the API key's owner has no user profile to clone"))?;
        return Ok(UserPlan::Create(new(
            &owner.first_name,
            &owner.last_name,
            &owner.email,
            owner.license_number.clone(),
            input.preferred_language.unwrap_or(owner.preferred_language),
        )));
    }
    match (&input.first_name, &input.last_name, &input.email) {
        (Some(first), Some(last), Some(email)) => Ok(UserPlan::Create(new(
            first,
            last,
            email,
            input.license_number.clone(),
            input.preferred_language.unwrap_or(default_language),
        ))),
        _ => Err(Error::invalid(MISSING_FIELDS_MESSAGE)),
    }
}

/// Field by field, like the patient's update (`patient::plan_patient`):
/// each given value that differs is one changed field.
fn plan_update(input: &IntegrationUser, current: &User, now: i64) -> UserPlan {
    let mut user = current.clone();
    let mut changed = Vec::new();
    let mut note = |did: bool, field| {
        if did {
            changed.push(field);
        }
    };
    note(
        differs(&mut user.first_name, input.first_name.clone()),
        UserField::FirstName,
    );
    note(
        differs(&mut user.last_name, input.last_name.clone()),
        UserField::LastName,
    );
    note(
        differs(&mut user.email, input.email.clone()),
        UserField::Email,
    );
    note(
        differs(
            &mut user.license_number,
            input.license_number.clone().map(Some),
        ),
        UserField::LicenseNumber,
    );
    note(
        differs(&mut user.preferred_language, input.preferred_language),
        UserField::PreferredLanguage,
    );
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
            account_id: AccountId::parse("acc").unwrap(),
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

    fn acc() -> AccountId {
        AccountId::parse("acc").unwrap()
    }

    /// A user as the header would give it: `(userId, first, last, email, licence)`.
    fn given(
        id: &str,
        first: Option<&str>,
        last: Option<&str>,
        email: Option<&str>,
        license: Option<&str>,
    ) -> IntegrationUser {
        IntegrationUser {
            first_name: first.map(str::to_owned),
            last_name: last.map(str::to_owned),
            email: email.map(|e| Email::parse(e).unwrap()),
            license_number: license.map(str::to_owned),
            ..IntegrationUser::id_only(UserId::parse(id).unwrap())
        }
    }

    #[test]
    fn id_only_existing_user_is_unchanged() {
        let input = given("owner", None, None, None, None);
        let plan = plan_user(&input, Some(&owner()), None, &acc(), Language::En, 9).unwrap();
        assert_eq!(plan, UserPlan::Unchanged(owner()));
    }

    #[test]
    fn update_writes_only_changed_fields() {
        let input = given("owner", Some("Olivia"), None, Some("new@x.example"), None);
        match plan_user(&input, Some(&owner()), None, &acc(), Language::En, 9).unwrap() {
            UserPlan::Update {
                user,
                changed,
                expected_version,
            } => {
                assert_eq!(changed, [UserField::Email]);
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
        let input = given("emp456", None, None, None, None);
        let plan = plan_user(&input, None, Some(&owner()), &acc(), Language::En, 9).unwrap();
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
        let input = given("n", Some("A"), Some("B"), Some("a@b.co"), None);
        let UserPlan::Create(u) =
            plan_user(&input, None, Some(&owner()), &acc(), Language::En, 9).unwrap()
        else {
            panic!()
        };
        assert_eq!(u.preferred_language, Language::En);
        assert_eq!(u.license_number, None);
    }

    #[test]
    fn new_partial_user_is_rejected() {
        for input in [
            given("n", Some("A"), None, None, None),
            given("n", Some("A"), Some("B"), None, None),
            given("n", None, None, Some("a@b.co"), None),
            given("n", None, None, None, Some("L")),
        ] {
            let e = plan_user(&input, None, Some(&owner()), &acc(), Language::En, 9).unwrap_err();
            assert_eq!(e.to_string(), MISSING_FIELDS_MESSAGE, "{input:?}");
        }
    }
}
