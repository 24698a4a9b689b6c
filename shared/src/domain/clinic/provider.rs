//! Providers: the users of a franchise who take visits, with what the
//! patient sees of them.

use serde::{Deserialize, Serialize};

use crate::domain::types::{Language, TenantKey, UserId};

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
