//! The operator commands of the patient side: waiting rooms (`room create
//! | update | list | show`), providers (`provider set | list`), and the
//! franchise's time zone (`franchise set-time-zone`, in `operator.rs`).
//! Their flags become the same JSON the API reads, so a room or a
//! provider is checked by the same rules wherever it is made.

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use shared::App;
use shared::domain::clinic::{Room, RoomCode};
use shared::http::clinic::wire::{provider_input, room_input};
use shared::services::clinic::rooms;
use shared::services::{admin, people};

use crate::BoxError;

#[derive(Subcommand)]
pub enum RoomCmd {
    /// Create a waiting room (open around the clock unless --hours says).
    Create {
        #[arg(long)]
        tenant_key: String,
        /// URL-safe, unique in the franchise (lowercase letters, digits, `-`).
        #[arg(long)]
        code: String,
        #[command(flatten)]
        room: RoomArgs,
        #[arg(long)]
        json: bool,
    },
    /// Change a room: only what the flags give.
    Update {
        #[arg(long)]
        tenant_key: String,
        #[arg(long)]
        code: String,
        #[command(flatten)]
        room: RoomArgs,
        #[arg(long)]
        json: bool,
    },
    /// List a franchise's rooms.
    List {
        #[arg(long)]
        tenant_key: String,
        #[arg(long)]
        json: bool,
    },
    /// One room, in full.
    Show {
        #[arg(long)]
        tenant_key: String,
        #[arg(long)]
        code: String,
    },
}

#[derive(Args)]
pub struct RoomArgs {
    #[arg(long)]
    name_fr: Option<String>,
    #[arg(long)]
    name_en: Option<String>,
    /// A provider assigned to the room (repeatable; replaces the list).
    #[arg(long = "provider")]
    providers: Vec<String>,
    /// Remove every provider from the room.
    #[arg(long, conflicts_with = "providers")]
    no_providers: bool,
    /// WALKIN, SCHEDULED or ECONSULT (repeatable; replaces the list).
    #[arg(long = "visit-type")]
    visit_types: Vec<String>,
    /// Minutes of a walk-in, a scheduled visit, an eConsult (multiples of 15).
    #[arg(long)]
    walkin_minutes: Option<u64>,
    #[arg(long)]
    scheduled_minutes: Option<u64>,
    #[arg(long)]
    econsult_minutes: Option<u64>,
    /// Opening hours in the franchise's time zone, as JSON:
    /// `{"mon": [{"start": "09:00", "end": "17:00"}], …}` (a day not named
    /// is closed).
    #[arg(long, conflicts_with = "always_open")]
    hours: Option<String>,
    /// Open around the clock (no hours).
    #[arg(long)]
    always_open: bool,
    /// The message shown while it is closed (both languages).
    #[arg(long, requires = "closed_message_en")]
    closed_message_fr: Option<String>,
    #[arg(long, requires = "closed_message_fr")]
    closed_message_en: Option<String>,
    /// Whether scheduled visits get a one-time appointment link (default true).
    #[arg(long)]
    one_time_links: Option<bool>,
}

impl RoomArgs {
    /// The flags as the room body of the API.
    fn body(self, code: Option<&str>) -> Result<Map<String, Value>, BoxError> {
        let mut b = Map::new();
        if let Some(code) = code {
            b.insert("code".into(), json!(code));
        }
        match (self.name_fr, self.name_en) {
            (Some(fr), Some(en)) => {
                b.insert("name".into(), json!({"fr": fr, "en": en}));
            }
            (None, None) => {}
            _ => return Err("give the name in both languages: --name-fr and --name-en".into()),
        }
        if self.no_providers {
            b.insert("providerIds".into(), json!([]));
        } else if !self.providers.is_empty() {
            b.insert("providerIds".into(), json!(self.providers));
        }
        if !self.visit_types.is_empty() {
            let upper: Vec<String> = self
                .visit_types
                .iter()
                .map(|t| t.to_ascii_uppercase())
                .collect();
            b.insert("visitTypes".into(), json!(upper));
        }
        let mut durations = Map::new();
        for (name, v) in [
            ("walkin", self.walkin_minutes),
            ("scheduled", self.scheduled_minutes),
            ("econsult", self.econsult_minutes),
        ] {
            if let Some(v) = v {
                durations.insert(name.into(), json!(v));
            }
        }
        if !durations.is_empty() {
            b.insert("durations".into(), Value::Object(durations));
        }
        if let Some(h) = self.hours {
            let hours: Value =
                serde_json::from_str(&h).map_err(|e| format!("--hours is not JSON: {e}"))?;
            b.insert("hours".into(), hours);
        } else if self.always_open {
            b.insert("hours".into(), Value::Null);
        }
        if let (Some(fr), Some(en)) = (self.closed_message_fr, self.closed_message_en) {
            b.insert("closedMessage".into(), json!({"fr": fr, "en": en}));
        }
        if let Some(v) = self.one_time_links {
            b.insert("oneTimeLinks".into(), json!(v));
        }
        Ok(b)
    }
}

#[derive(Subcommand)]
pub enum ProviderCmd {
    /// Make a user of the franchise's account a provider, or change their
    /// profile (a new one takes the user's name unless --display-name).
    Set {
        #[arg(long)]
        tenant_key: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        title: Option<String>,
        /// FR or EN (repeatable; replaces the list).
        #[arg(long = "language")]
        languages: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List a franchise's providers.
    List {
        #[arg(long)]
        tenant_key: String,
        #[arg(long)]
        json: bool,
    },
}

/// The franchise a command names (it must exist).
async fn tenant(app: &App, tenant_key: &str) -> Result<shared::domain::Franchise, BoxError> {
    Ok(admin::franchise(app, tenant_key).await?)
}

fn code_of(code: &str) -> Result<RoomCode, BoxError> {
    RoomCode::parse(code).ok_or_else(|| format!("{code:?}: {}", RoomCode::RULE).into())
}

fn room_line(r: &Room) -> String {
    let types: Vec<&str> = r.visit_types.iter().map(|t| t.as_str()).collect();
    let providers: Vec<&str> = r.provider_ids.iter().map(|p| p.as_str()).collect();
    let hours = if r.hours.is_some() {
        "hours"
    } else {
        "always open"
    };
    format!(
        "{}\t{}\t{}\t{hours}\t{}",
        r.code,
        r.name.en,
        types.join(","),
        providers.join(",")
    )
}

fn show<T: serde::Serialize>(as_json: bool, value: &T, text: &str) -> Result<(), BoxError> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{text}");
    }
    Ok(())
}

pub async fn room(app: &App, cmd: RoomCmd) -> Result<(), BoxError> {
    match cmd {
        RoomCmd::Create {
            tenant_key,
            code,
            room,
            json,
        } => {
            let f = tenant(app, &tenant_key).await?;
            let (code, input) = room_input(&room.body(Some(&code))?, true)?;
            let code = code.ok_or("--code is required")?;
            let r = rooms::create_room(app, &f.tenant_key, code, input).await?;
            show(json, &r, &format!("room {} created", r.code))
        }
        RoomCmd::Update {
            tenant_key,
            code,
            room,
            json,
        } => {
            let f = tenant(app, &tenant_key).await?;
            let code = code_of(&code)?;
            let (_, input) = room_input(&room.body(None)?, false)?;
            let r = rooms::update_room(app, &f.tenant_key, &code, input).await?;
            show(
                json,
                &r,
                &format!("room {} updated: {}", r.code, room_line(&r)),
            )
        }
        RoomCmd::List { tenant_key, json } => {
            let f = tenant(app, &tenant_key).await?;
            let list = rooms::list_rooms(app, &f.tenant_key).await?;
            let text = list.iter().map(room_line).collect::<Vec<_>>().join("\n");
            show(json, &list, &text)
        }
        RoomCmd::Show { tenant_key, code } => {
            let f = tenant(app, &tenant_key).await?;
            let r = rooms::room(app, &f.tenant_key, &code_of(&code)?).await?;
            show(true, &r, "")
        }
    }
}

pub async fn provider(app: &App, cmd: ProviderCmd) -> Result<(), BoxError> {
    match cmd {
        ProviderCmd::Set {
            tenant_key,
            user,
            display_name,
            title,
            languages,
            json,
        } => {
            let f = tenant(app, &tenant_key).await?;
            let mut body = Map::new();
            if let Some(n) = display_name {
                body.insert("displayName".into(), json!(n));
            }
            if let Some(t) = title {
                body.insert("title".into(), json!(t));
            }
            if !languages.is_empty() {
                let upper: Vec<String> = languages.iter().map(|l| l.to_ascii_uppercase()).collect();
                body.insert("languages".into(), json!(upper));
            }
            let input = provider_input(&body)?;
            let user_id = shared::domain::UserId::parse(&user)
                .ok_or_else(|| format!("{user:?} is not a user id"))?;
            let found = people::user(app, &f.account_id, &user_id).await?;
            let p =
                rooms::put_provider(app, &f.tenant_key, &user_id, found.as_ref(), input).await?;
            let text = format!(
                "{} is a provider of {}: {}",
                p.user_id, f.tenant_key, p.display_name
            );
            show(json, &p, &text)
        }
        ProviderCmd::List { tenant_key, json } => {
            let f = tenant(app, &tenant_key).await?;
            let list = rooms::list_providers(app, &f.tenant_key).await?;
            let text = list
                .iter()
                .map(|p| format!("{}\t{}", p.user_id, p.display_name))
                .collect::<Vec<_>>()
                .join("\n");
            show(json, &list, &text)
        }
    }
}
