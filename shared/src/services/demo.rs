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
    /// The demo franchise's waiting room: open around the clock, all
    /// three visit types.
    #[serde(default)]
    pub room_code: String,
    /// Its two providers, available every day 00:00–24:00.
    #[serde(default)]
    pub provider_ids: Vec<String>,
}

pub const DEMO_ROOM: &str = "clinic";
pub const DEMO_PROVIDERS: [(&str, &str, &str); 2] = [
    ("dr-martin", "Dr. Élise Martin", "Family physician"),
    ("dr-nguyen", "Dr. Minh Nguyen", "Nurse practitioner"),
];

/// The demo room and its providers, in `tenant` (the isolation test gives
/// every franchise of its world the same room and providers).
pub async fn seed_clinic(app: &App, tenant: &str) -> Result<()> {
    use crate::domain::clinic::{Localized, RoomCode, WeeklyHours};
    use crate::domain::{TenantKey, UserId};
    use crate::error::Error;
    use crate::services::clinic::rooms::{self, ProviderInput, RoomInput};
    let bad = || Error::internal("the demo world's ids do not parse");
    let tenant = TenantKey::parse(tenant).ok_or_else(bad)?;
    let code = RoomCode::parse(DEMO_ROOM).ok_or_else(bad)?;
    let mut ids = Vec::new();
    for (id, name, title) in DEMO_PROVIDERS {
        let user = UserId::parse(id).ok_or_else(bad)?;
        let input = ProviderInput {
            display_name: Some(name.to_owned()),
            title: Some(title.to_owned()),
            languages: Some(vec![Language::Fr, Language::En]),
        };
        rooms::put_provider(app, &tenant, &user, None, input).await?;
        ids.push(user);
    }
    let input = RoomInput {
        name: Some(Localized {
            fr: "Clinique virtuelle".into(),
            en: "Virtual clinic".into(),
        }),
        provider_ids: Some(ids.clone()),
        visit_types: None,
        durations: None,
        hours: Some(None),
        closed_message: None,
        one_time_links: Some(true),
        related_person_invites: None,
    };
    rooms::create_room(app, &tenant, code.clone(), input).await?;
    for user in &ids {
        rooms::put_availability(app, &tenant, user, &code, WeeklyHours::always(), Vec::new())
            .await?;
    }
    Ok(())
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

    seed_clinic(app, DEMO_TENANT).await?;

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
        room_code: DEMO_ROOM.into(),
        provider_ids: DEMO_PROVIDERS
            .iter()
            .map(|(id, _, _)| (*id).to_owned())
            .collect(),
    })
}
