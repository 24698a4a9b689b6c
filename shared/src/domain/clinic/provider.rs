//! Providers: the users of a franchise who take visits, with what the
//! patient sees of them.

use serde::{Deserialize, Serialize};

use crate::domain::types::{Language, TenantKey, UserId};
use crate::domain::user::User;

/// A user's provider profile in one franchise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub tenant_key: TenantKey,
    pub user_id: UserId,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub languages: Vec<Language>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl Provider {
    /// The profile a user gets when a vendor names them a provider
    /// (`"provider": true`) and they have none: their name, their language.
    pub fn of_user(tenant: &TenantKey, user: &User, now: i64) -> Self {
        Self {
            tenant_key: tenant.clone(),
            user_id: user.user_id.clone(),
            display_name: format!("{} {}", user.first_name, user.last_name),
            title: None,
            languages: vec![user.preferred_language],
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}
