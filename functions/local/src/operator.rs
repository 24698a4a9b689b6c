//! The operator commands: accounts, franchises, API keys, the table, the
//! outbox and the patient-key index, on the store `EMBEDCARE_STORE` names
//! (the embedded one in the data directory by default, or DynamoDB).

use clap::{Args, Subcommand};
use serde_json::json;
use shared::App;
use shared::clock::iso_ms;
use shared::domain::Language;
use shared::events::redrive;
use shared::runtime;
use shared::services::admin::{self, NewApiKey, NewFranchise, Owner};
use shared::services::rekey;
use shared::store::keys::OutboxState;

use crate::BoxError;

#[derive(Subcommand)]
pub enum TableCmd {
    /// Create the table from its single definition (keys, indexes, TTL,
    /// stream) on the DynamoDB that AWS_REGION / AWS_ENDPOINT_URL name.
    Create {
        /// Defaults to EMBEDCARE_TABLE, then `embedcare`.
        #[arg(long)]
        table: Option<String>,
    },
    /// Print the table's definition as JSON (what the infrastructure uses).
    Definition,
}

#[derive(Subcommand)]
pub enum AccountCmd {
    /// Create an account; prints its id.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum FranchiseCmd {
    /// Create a franchise of an account.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        tenant_key: String,
        #[arg(long)]
        name: String,
        /// FR or EN.
        #[arg(long, default_value = "FR", value_parser = parse_language)]
        language: Language,
        /// An origin allowed to frame its pages (repeatable).
        #[arg(long = "allow-origin")]
        allow_origins: Vec<String>,
        /// Where the operator tells the franchise about its integration
        /// (a webhook endpoint disabled after days of failures).
        #[arg(long = "contact-email")]
        contact_email: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Set or clear the franchise's contact e-mail.
    SetContact {
        #[arg(long)]
        tenant_key: String,
        /// The address; without it, the contact e-mail is removed.
        #[arg(long)]
        email: Option<String>,
    },
    /// List an account's franchises.
    List {
        #[arg(long)]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Allow more origins to frame a franchise's pages.
    AllowOrigin {
        #[arg(long)]
        tenant_key: String,
        #[arg(required = true)]
        origins: Vec<String>,
    },
    /// Stop allowing origins to frame a franchise's pages.
    DisallowOrigin {
        #[arg(long)]
        tenant_key: String,
        #[arg(required = true)]
        origins: Vec<String>,
    },
    /// Reactivate an offboarded franchise (with its `Franchise Reactivated`
    /// event): ONBOARDED again if its terms were accepted, else ACTIVE.
    Reactivate {
        #[arg(long)]
        tenant_key: String,
        #[arg(long)]
        json: bool,
    },
    /// End every browser session of a franchise, and every launch not yet
    /// opened (running servers refuse them within the cache bound).
    RevokeSessions {
        #[arg(long)]
        tenant_key: String,
    },
    /// Set the IANA time zone of a franchise (e.g. America/Toronto): its
    /// rooms' hours and its providers' availability are in its local time.
    SetTimeZone {
        #[arg(long)]
        tenant_key: String,
        zone: String,
    },
}

#[derive(Args)]
pub struct OwnerArgs {
    /// The key owner's user id. With the name and e-mail flags, a new user is
    /// created; without them, the user must exist.
    #[arg(long = "owner")]
    owner: String,
    #[arg(long = "owner-first-name")]
    first_name: Option<String>,
    #[arg(long = "owner-last-name")]
    last_name: Option<String>,
    #[arg(long = "owner-email")]
    email: Option<String>,
    #[arg(long = "owner-license")]
    license: Option<String>,
    #[arg(long = "owner-language", default_value = "FR", value_parser = parse_language)]
    language: Language,
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Create an API key; its secret is printed once.
    Create {
        #[arg(long)]
        account: String,
        /// A franchise the key acts for (repeatable).
        #[arg(long = "franchise", required = true)]
        franchises: Vec<String>,
        #[command(flatten)]
        owner: OwnerArgs,
        #[arg(long, default_value = "")]
        label: String,
        /// When the key stops working by itself: `YYYY-MM-DD` (midnight
        /// UTC) or an RFC 3339 instant. Without it, it works until revoked.
        #[arg(long, value_parser = parse_instant)]
        expires_at: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// List an account's keys (never their secrets).
    List {
        #[arg(long)]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key (running servers stop accepting it within the cache bound).
    Revoke { key_id: String },
    /// Create a new key like an existing one; revoke the old one when the
    /// vendor has switched.
    Rotate {
        key_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum OutboxCmd {
    /// List the outbox items not relayed to the bus yet.
    Pending {
        /// Only those written at least this many minutes ago.
        #[arg(long, default_value_t = 0)]
        older_than_minutes: i64,
        #[arg(long)]
        json: bool,
    },
    /// List the dead letters (events the relay gave up on), with why.
    DeadLetters {
        #[arg(long)]
        json: bool,
    },
    /// Put on the bus every outbox item not relayed this many minutes after
    /// it was written, and mark it relayed (what the outbox-redrive function
    /// does on its schedule). The bus: EMBEDCARE_EVENT_BUS (EventBridge);
    /// without it, the local bus, which prints each event.
    Redrive {
        #[arg(long, default_value_t = 10)]
        older_than_minutes: i64,
        /// The dead letters too (once their cause is fixed).
        #[arg(long)]
        dead_letters: bool,
    },
}

#[derive(Subcommand)]
pub enum PatientCmd {
    /// Move the patient-key index items of patients from the old bare
    /// SHA-256 to the keyed hash (the migration of docs/data-model.md).
    /// Patient ids as arguments, or one per line on stdin.
    Rekey {
        #[arg(long)]
        tenant_key: String,
        patient_ids: Vec<String>,
    },
}

fn parse_language(s: &str) -> Result<Language, String> {
    Language::parse(s).ok_or_else(|| "FR or EN".to_owned())
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339, as epoch milliseconds.
fn parse_instant(s: &str) -> Result<i64, String> {
    use time::format_description::well_known::Rfc3339;
    let at = match shared::domain::types::parse_date(s) {
        Some(day) => day.midnight().assume_utc(),
        None => time::OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| "YYYY-MM-DD or an RFC 3339 instant".to_owned())?,
    };
    Ok((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub async fn account(app: &App, cmd: AccountCmd) -> Result<(), BoxError> {
    match cmd {
        AccountCmd::Create { name, json } => {
            let a = admin::create_account(app, &name).await?;
            print(
                json,
                &a,
                &format!("account {} created ({})", a.account_id, a.name),
            );
        }
    }
    Ok(())
}

pub async fn patient(app: &App, cmd: PatientCmd) -> Result<(), BoxError> {
    let PatientCmd::Rekey {
        tenant_key,
        mut patient_ids,
    } = cmd;
    if patient_ids.is_empty() {
        for line in std::io::stdin().lines() {
            let line = line?;
            if !line.trim().is_empty() {
                patient_ids.push(line.trim().to_owned());
            }
        }
    }
    let (mut moved, mut already) = (0, 0);
    for id in &patient_ids {
        let done = rekey::rekey_patient(app, &tenant_key, id)
            .await
            .map_err(|e| format!("patient {id}: {e}"))?;
        moved += done.moved;
        already += done.already;
    }
    println!(
        "{} patients: {moved} index items moved to the keyed hash, {already} already there",
        patient_ids.len()
    );
    Ok(())
}

pub async fn outbox(app: &App, cmd: OutboxCmd) -> Result<(), BoxError> {
    let store = app.store.as_ref();
    let now = app.now_ms();
    let (state, upto, json) = match cmd {
        OutboxCmd::Redrive {
            older_than_minutes,
            dead_letters,
        } => {
            let after = older_than_minutes.max(0) * 60_000;
            let done = if std::env::var("EMBEDCARE_EVENT_BUS").is_ok() {
                let bus = runtime::eventbridge_bus().await?;
                redrive::redrive(store, &bus, now, after, dead_letters).await?
            } else {
                let bus = shared::events::local::LocalBus::new(true);
                redrive::redrive(store, &bus, now, after, dead_letters).await?
            };
            println!(
                "{} events re-driven, {} failed (left for the next re-drive), {} dead-lettered",
                done.delivered, done.failed, done.dead_lettered
            );
            return Ok(());
        }
        OutboxCmd::Pending {
            older_than_minutes,
            json,
        } => (
            OutboxState::Pending,
            now - older_than_minutes.max(0) * 60_000,
            json,
        ),
        OutboxCmd::DeadLetters { json } => (OutboxState::Dead, now, json),
    };
    let items = redrive::stranded(store, state, upto).await?;
    let rows: Vec<serde_json::Value> = items
        .iter()
        .map(|i| {
            json!({
                "item": i.key.pk,
                "detailType": i.attrs.get("detailType"),
                "createdAt": i.attrs.get("createdAt").and_then(serde_json::Value::as_i64).map(iso_ms),
                "relayAttempts": i.attrs.get("relayAttempts"),
                "deadLetter": i.attrs.get("deadLetter"),
            })
        })
        .collect();
    let text = rows
        .iter()
        .map(|r| {
            let why = r["deadLetter"]["reason"].as_str().unwrap_or_default();
            format!(
                "{}\t{}\t{}\t{why}",
                r["item"].as_str().unwrap_or_default(),
                r["detailType"].as_str().unwrap_or("?"),
                r["createdAt"].as_str().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    print(json, &rows, &text);
    Ok(())
}

pub async fn table(cmd: TableCmd) -> Result<(), BoxError> {
    match cmd {
        TableCmd::Create { table } => {
            let name = table.unwrap_or_else(runtime::table_name);
            let client = runtime::dynamo_client().await?;
            shared::store::dynamodb::create_table(&client, &name).await?;
            println!("table {name} created");
        }
        TableCmd::Definition => {
            let def = shared::store::table::definition_json();
            println!("{}", serde_json::to_string_pretty(&def)?);
        }
    }
    Ok(())
}

fn print<T: serde::Serialize>(as_json: bool, value: &T, text: &str) {
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!("{text}");
    }
}

pub async fn franchise(app: &App, cmd: FranchiseCmd) -> Result<(), BoxError> {
    match cmd {
        FranchiseCmd::Create {
            account,
            tenant_key,
            name,
            language,
            allow_origins,
            contact_email,
            json,
        } => {
            let mut f = admin::create_franchise(
                app,
                NewFranchise {
                    account_id: &account,
                    tenant_key: &tenant_key,
                    name: &name,
                    language,
                    allowed_origins: &allow_origins,
                },
            )
            .await?;
            if let Some(email) = contact_email {
                f = admin::set_contact_email(app, f.tenant_key.as_str(), Some(&email)).await?;
            }
            print(json, &f, &format!("franchise {} created", f.tenant_key));
        }
        FranchiseCmd::SetContact { tenant_key, email } => {
            let f = admin::set_contact_email(app, &tenant_key, email.as_deref()).await?;
            match f.contact_email {
                Some(e) => println!("franchise {} contact: {e}", f.tenant_key),
                None => println!("franchise {} has no contact e-mail", f.tenant_key),
            }
        }
        FranchiseCmd::List { account, json } => {
            let list = admin::list_franchises(app, &account).await?;
            let text = list
                .iter()
                .map(|f| {
                    format!(
                        "{}\t{}\t{}\t{:?}",
                        f.tenant_key,
                        f.language.as_str(),
                        f.name,
                        f.status
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json, &list, &text);
        }
        FranchiseCmd::AllowOrigin {
            tenant_key,
            origins,
        } => {
            let f = admin::add_origins(app, &tenant_key, &origins).await?;
            print_origins(&f);
        }
        FranchiseCmd::DisallowOrigin {
            tenant_key,
            origins,
        } => {
            let f = admin::remove_origins(app, &tenant_key, &origins).await?;
            print_origins(&f);
        }
        FranchiseCmd::Reactivate { tenant_key, json } => {
            let (f, _) = admin::reactivate_franchise(app, &tenant_key).await?;
            let text = format!(
                "franchise {} reactivated: {}",
                f.tenant_key,
                f.status.as_str()
            );
            print(json, &f, &text);
        }
        FranchiseCmd::SetTimeZone { tenant_key, zone } => {
            let f = admin::set_time_zone(app, &tenant_key, &zone).await?;
            println!("franchise {} is in {}", f.tenant_key, f.time_zone);
        }
        FranchiseCmd::RevokeSessions { tenant_key } => {
            let f = admin::revoke_sessions(app, &tenant_key).await?;
            println!(
                "every session of franchise {} started before {} is refused",
                f.tenant_key,
                f.sessions_valid_after.map(iso_ms).unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn print_origins(f: &shared::domain::Franchise) {
    let all: Vec<&str> = f.allowed_origins.iter().map(|o| o.as_str()).collect();
    let all = if all.is_empty() {
        "no origin".to_owned()
    } else {
        all.join(" ")
    };
    println!("franchise {} may be framed by: {all}", f.tenant_key);
}

pub async fn key(app: &App, cmd: KeyCmd) -> Result<(), BoxError> {
    match cmd {
        KeyCmd::Create {
            account,
            franchises,
            owner,
            label,
            expires_at,
            json,
        } => {
            let owner =
                match (owner.first_name, owner.last_name, owner.email) {
                    (Some(first_name), Some(last_name), Some(email)) => Owner::New {
                        user_id: owner.owner,
                        first_name,
                        last_name,
                        email,
                        license_number: owner.license,
                        language: owner.language,
                    },
                    (None, None, None) => Owner::Existing(owner.owner),
                    _ => return Err(
                        "a new owner needs --owner-first-name, --owner-last-name and --owner-email"
                            .into(),
                    ),
                };
            let (record, secret) = admin::create_api_key(
                app,
                NewApiKey {
                    account_id: &account,
                    tenant_keys: &franchises,
                    owner,
                    label: &label,
                    expires_at,
                },
            )
            .await?;
            print_new_key(json, record.key_id.as_str(), &secret);
        }
        KeyCmd::List { account, json } => {
            let keys = admin::list_api_keys(app, &account).await?;
            let rows: Vec<_> = keys
                .iter()
                .map(|k| {
                    json!({
                        "keyId": k.key_id,
                        "label": k.label,
                        "franchises": k.tenant_keys,
                        "owner": k.owner_user_id,
                        "createdAt": iso_ms(k.created_at),
                        "revokedAt": k.revoked_at.map(iso_ms),
                        "expiresAt": k.expires_at.map(iso_ms),
                    })
                })
                .collect();
            let text = keys
                .iter()
                .map(|k| {
                    let tenants: Vec<&str> = k.tenant_keys.iter().map(|t| t.as_str()).collect();
                    let state = match (k.revoked_at, k.expires_at) {
                        (Some(t), _) => format!("revoked {}", iso_ms(t)),
                        (None, Some(t)) => format!("expires {}", iso_ms(t)),
                        (None, None) => "active".to_owned(),
                    };
                    format!(
                        "{}\t{}\t{}\t{}",
                        k.key_id,
                        tenants.join(","),
                        state,
                        k.label
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json, &rows, &text);
        }
        KeyCmd::Revoke { key_id } => {
            admin::revoke_api_key(app, &key_id).await?;
            println!("key {key_id} revoked");
        }
        KeyCmd::Rotate { key_id, json } => {
            let (record, secret) = admin::rotate_api_key(app, &key_id).await?;
            print_new_key(json, record.key_id.as_str(), &secret);
            if !json {
                println!(
                    "the old key {key_id} still works: revoke it once the vendor has switched"
                );
            }
        }
    }
    Ok(())
}

fn print_new_key(as_json: bool, key_id: &str, secret: &str) {
    if as_json {
        println!("{}", json!({"keyId": key_id, "apiKey": secret}));
    } else {
        println!("key {key_id} created. Its secret is shown once; store it now:\n{secret}");
    }
}
