//! The demo world the local server seeds on a fresh store: one account with
//! two franchises and two keys (one per franchise, one for both), and a
//! second account for isolation checks. Its keys are random, printed once at
//! start-up and written to `demo.json`. Local only (feature `local`): the
//! benchmarks and the tests seed it too.

use serde::{Deserialize, Serialize};

use super::admin::{self, NewApiKey, NewFranchise, Owner};
use crate::app::App;
use crate::domain::Language;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoWorld {
    pub base_url: String,
    pub api_key: String,
    pub tenant_key: String,
    pub multi_franchise_api_key: String,
    pub tenant_keys: Vec<String>,
    pub other_account_api_key: String,
    pub other_tenant_key: String,
    pub account_id: String,
    pub other_account_id: String,
}

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_TENANT_2: &str = "demo-2";
pub const OTHER_TENANT: &str = "other";

pub async fn seed(app: &App, allowed_origins: &[String]) -> Result<DemoWorld> {
    let account = admin::create_account(app, "Demo Pharmacy Group").await?;
    let acc = account.account_id.as_str();
    admin::create_franchise(
        app,
        NewFranchise {
            account_id: acc,
            tenant_key: DEMO_TENANT,
            name: "Pharmacie Démo — Centre-ville",
            language: Language::Fr,
            allowed_origins,
        },
    )
    .await?;
    admin::create_franchise(
        app,
        NewFranchise {
            account_id: acc,
            tenant_key: DEMO_TENANT_2,
            name: "Demo Pharmacy — West End",
            language: Language::En,
            allowed_origins,
        },
    )
    .await?;
    let (_, api_key) = admin::create_api_key(
        app,
        NewApiKey {
            account_id: acc,
            tenant_keys: &[DEMO_TENANT.to_owned()],
            owner: Owner::New {
                user_id: "demo-owner".into(),
                first_name: "Claire".into(),
                last_name: "Tremblay".into(),
                email: "claire.tremblay@demo-pharmacy.example".into(),
                license_number: Some("PH-204518".into()),
                language: Language::Fr,
            },
            label: "demo",
            expires_at: None,
        },
    )
    .await?;
    let (_, multi) = admin::create_api_key(
        app,
        NewApiKey {
            account_id: acc,
            tenant_keys: &[DEMO_TENANT.to_owned(), DEMO_TENANT_2.to_owned()],
            owner: Owner::Existing("demo-owner".into()),
            label: "demo, both franchises",
            expires_at: None,
        },
    )
    .await?;

    let other = admin::create_account(app, "Other Clinic Group").await?;
    admin::create_franchise(
        app,
        NewFranchise {
            account_id: other.account_id.as_str(),
            tenant_key: OTHER_TENANT,
            name: "Other Clinic",
            language: Language::En,
            allowed_origins,
        },
    )
    .await?;
    let (_, other_key) = admin::create_api_key(
        app,
        NewApiKey {
            account_id: other.account_id.as_str(),
            tenant_keys: &[OTHER_TENANT.to_owned()],
            owner: Owner::New {
                user_id: "other-owner".into(),
                first_name: "Sam".into(),
                last_name: "Other".into(),
                email: "sam.other@other-clinic.example".into(),
                license_number: None,
                language: Language::En,
            },
            label: "other account",
            expires_at: None,
        },
    )
    .await?;

    Ok(DemoWorld {
        base_url: app.config.app_base_url.clone(),
        api_key,
        tenant_key: DEMO_TENANT.into(),
        multi_franchise_api_key: multi,
        tenant_keys: vec![DEMO_TENANT.into(), DEMO_TENANT_2.into()],
        other_account_api_key: other_key,
        other_tenant_key: OTHER_TENANT.into(),
        account_id: account.account_id.to_string(),
        other_account_id: other.account_id.to_string(),
    })
}
