//! `embedcare`: the whole product on one machine (every router in one
//! process, on the embedded store kept on disk), and the operator commands
//! that provision accounts, franchises and API keys.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde_json::json;
use shared::app::Ports;
use shared::clock::{SystemClock, iso_ms};
use shared::delivery::client::HttpSender;
use shared::delivery::connections::LocalConnections;
use shared::delivery::local::LocalQueue;
use shared::delivery::resolver::SystemResolver;
use shared::domain::Language;
use shared::events::local::{LocalBus, run_embedded_relay};
use shared::http::dev::Dev;
use shared::lambda::eventbridge;
use shared::notify::local::LocalNotifier;
use shared::runtime;
use shared::services::admin::{self, NewApiKey, NewFranchise, Owner};
use shared::services::demo::{self, DemoWorld};
use shared::services::dispatch::{Dispatcher, FanOut};
use shared::services::work::run_local_pump;
use shared::store::embedded::EmbeddedStore;
use shared::{App, AppState, Config};

#[derive(Parser)]
#[command(
    name = "embedcare",
    version,
    about = "embedcare: embeddable clinical consultations"
)]
struct Cli {
    /// Where the embedded store keeps its data.
    #[arg(
        long,
        global = true,
        default_value = ".embedcare",
        env = "EMBEDCARE_DATA_DIR"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every endpoint on one address, seeding a demo world on first start.
    Serve {
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// An origin allowed to frame the demo franchises' pages (repeatable).
        #[arg(long = "allow-origin")]
        allow_origins: Vec<String>,
    },
    /// Accounts (organisations).
    #[command(subcommand)]
    Account(AccountCmd),
    /// Franchises (tenants).
    #[command(subcommand)]
    Franchise(FranchiseCmd),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// The DynamoDB table (for development; the infrastructure defines it too).
    #[command(subcommand)]
    Table(TableCmd),
}

#[derive(Subcommand)]
enum TableCmd {
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
enum AccountCmd {
    /// Create an account; prints its id.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum FranchiseCmd {
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
}

#[derive(Args)]
struct OwnerArgs {
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
enum KeyCmd {
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

fn parse_language(s: &str) -> Result<Language, String> {
    Language::parse(s).ok_or_else(|| "FR or EN".to_owned())
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    init_logging();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EMBEDCARE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("EMBEDCARE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}

/// The app on the store `EMBEDCARE_STORE` names (the embedded one in
/// `data_dir` by default, or DynamoDB).
async fn open_app(data_dir: &Path, base_url: &str) -> Result<AppState, BoxError> {
    Ok(
        open_app_and_store(data_dir, base_url, |_, c| (c, Ports::default()))
            .await?
            .0,
    )
}

/// The app, and the embedded store when that is the one in use (the local
/// relay reads its change feed).
/// `ports` makes the app's delivery ports, given the embedded store when
/// that is the one in use, and may adjust the configuration.
async fn open_app_and_store(
    data_dir: &Path,
    base_url: &str,
    ports: impl FnOnce(Option<&EmbeddedStore>, Config) -> (Config, Ports),
) -> Result<(AppState, Option<EmbeddedStore>), BoxError> {
    let clock: Arc<dyn shared::clock::Clock> = Arc::new(SystemClock);
    let kind = runtime::StoreKind::from_env(runtime::StoreKind::Embedded)?;
    // Without EMBEDCARE_SECRET, the secret kept in the data directory.
    let config = Config::from_env_or_data_dir(base_url, data_dir)?;
    match kind {
        runtime::StoreKind::Embedded => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| format!("{}: {e}", data_dir.display()))?;
            let store = EmbeddedStore::open(&data_dir.join("embedcare.redb"), clock.clone())?;
            let (config, ports) = ports(Some(&store), config);
            Ok((
                App::with_ports(Arc::new(store.clone()), clock, config, ports),
                Some(store),
            ))
        }
        runtime::StoreKind::Dynamodb => {
            let store = runtime::store(kind, Some(data_dir), clock.clone()).await?;
            let (config, ports) = ports(None, config);
            Ok((App::with_ports(store, clock, config, ports), None))
        }
    }
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    match cli.command {
        Command::Serve {
            addr,
            allow_origins,
        } => serve(&cli.data_dir, addr, allow_origins).await,
        Command::Account(cmd) => {
            let app = open_app(&cli.data_dir, "http://127.0.0.1:3000").await?;
            match cmd {
                AccountCmd::Create { name, json } => {
                    let a = admin::create_account(&app, &name).await?;
                    print(
                        json,
                        &a,
                        &format!("account {} created ({})", a.account_id, a.name),
                    );
                }
            }
            Ok(())
        }
        Command::Franchise(cmd) => {
            let app = open_app(&cli.data_dir, "http://127.0.0.1:3000").await?;
            franchise_cmd(&app, cmd).await
        }
        Command::Table(TableCmd::Create { table }) => {
            let name = table.unwrap_or_else(runtime::table_name);
            let client = runtime::dynamo_client().await?;
            shared::store::dynamodb::create_table(&client, &name).await?;
            println!("table {name} created");
            Ok(())
        }
        Command::Table(TableCmd::Definition) => {
            let def = shared::store::table::definition_json();
            println!("{}", serde_json::to_string_pretty(&def)?);
            Ok(())
        }
        Command::Key(cmd) => {
            let app = open_app(&cli.data_dir, "http://127.0.0.1:3000").await?;
            key_cmd(&app, cmd).await
        }
    }
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

async fn franchise_cmd(app: &App, cmd: FranchiseCmd) -> Result<(), BoxError> {
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
            let all: Vec<&str> = f.allowed_origins.iter().map(|o| o.as_str()).collect();
            println!(
                "franchise {} may be framed by: {}",
                f.tenant_key,
                all.join(" ")
            );
        }
    }
    Ok(())
}

async fn key_cmd(app: &App, cmd: KeyCmd) -> Result<(), BoxError> {
    match cmd {
        KeyCmd::Create {
            account,
            franchises,
            owner,
            label,
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
                    })
                })
                .collect();
            let text = keys
                .iter()
                .map(|k| {
                    let tenants: Vec<&str> = k.tenant_keys.iter().map(|t| t.as_str()).collect();
                    let state = k
                        .revoked_at
                        .map_or("active".to_owned(), |t| format!("revoked {}", iso_ms(t)));
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

async fn serve(
    data_dir: &Path,
    addr: SocketAddr,
    extra_origins: Vec<String>,
) -> Result<(), BoxError> {
    let base_url = format!("http://{addr}");
    // Event delivery in process: the work queue kept beside the data (by
    // the app's clock), the WebSocket connections of this server.
    let connections = Arc::new(LocalConnections::default());
    let mut queue = None;
    let (app, embedded) = open_app_and_store(data_dir, &base_url, |store, mut config| {
        let clock: Arc<dyn shared::clock::Clock> = Arc::new(SystemClock);
        let q = Arc::new(match store {
            Some(s) => LocalQueue::durable(s.clone(), clock),
            None => LocalQueue::in_memory(clock),
        });
        queue = Some(q.clone());
        // Local mode: webhooks may go to http://127.0.0.1 / localhost / [::1]
        // (EMBEDCARE_WEBHOOK_ALLOW_LOOPBACK=0 turns that off).
        config.webhook_allow_loopback =
            std::env::var(shared::config::LOOPBACK_VAR).map_or(true, |v| v.trim() != "0");
        let ports = Ports {
            resolver: Arc::new(SystemResolver),
            work: q,
            connections: connections.clone(),
        };
        (config, ports)
    })
    .await?;
    let queue = queue.ok_or("no work queue")?;
    let mut origins = vec![
        format!("http://localhost:{}", addr.port()),
        format!("http://127.0.0.1:{}", addr.port()),
    ];
    origins.extend(extra_origins);

    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let demo_path = data_dir.join("demo.json");
    let world: DemoWorld = if demo_path.exists() {
        let world: DemoWorld = serde_json::from_slice(&std::fs::read(&demo_path)?)?;
        for tenant in world.tenant_keys.iter().chain([&world.other_tenant_key]) {
            admin::add_origins(&app, tenant, &origins).await?;
        }
        world
    } else {
        let world = demo::seed(&app, &origins).await.map_err(|e| {
            format!("seeding the demo world failed ({e}); start with an empty --data-dir")
        })?;
        std::fs::write(&demo_path, serde_json::to_vec_pretty(&world)?)?;
        world
    };

    let listener = tokio::net::TcpListener::bind(addr).await?;
    // A server must not die because whoever started it closed its stdout.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "embedcare listening on {base_url}");
    let _ = writeln!(
        out,
        "demo franchise: {}   API key: {}",
        world.tenant_key, world.api_key
    );
    let _ = writeln!(out, "demo world (every key): {}", demo_path.display());
    let _ = out.flush();
    let _ = writeln!(
        out,
        "demo vendor page: http://localhost:{}/demo",
        addr.port()
    );
    let _ = out.flush();

    // Events: the in-process bus prints them, streams them at /dev/events,
    // and drives the local patient notifier.
    let bus = Arc::new(LocalBus::new(true));
    let notifier = Arc::new(LocalNotifier::default());
    // Webhooks and the subscription stream: every event is fanned out
    // before it is published in process (what the rule to the events queue
    // and the dispatcher function do in AWS).
    let sender = HttpSender::new(Arc::new(SystemResolver), app.config.webhook_allow_loopback)?;
    let dispatcher = Arc::new(Dispatcher {
        app: app.clone(),
        sender: Arc::new(sender),
        notifier: notifier.clone(),
    });
    tokio::spawn(run_local_pump(dispatcher, queue));
    match embedded {
        Some(store) => {
            let fan_out = Arc::new(FanOut {
                app: app.clone(),
                bus: bus.clone(),
            });
            tokio::spawn(run_embedded_relay(store, fan_out));
        }
        None => tracing::warn!(
            "on DynamoDB, events are relayed by the outbox-relay function from the table's stream, not by this process"
        ),
    }
    tokio::spawn(notify_patients(
        app.clone(),
        bus.subscribe(),
        notifier.clone(),
    ));
    let dev = Arc::new(Dev {
        bus,
        notifier,
        world,
    });
    // The subscribe route upgrades with this server's connections.
    let router = shared::http::app_router_with(app, shared::http::dev::routes(dev))
        .layer(shared::http::stream::connections_layer(connections));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// The local stand-in for the `patient-notifier` function's rule.
async fn notify_patients(
    app: AppState,
    mut events: tokio::sync::broadcast::Receiver<shared::events::local::Delivered>,
    notifier: Arc<LocalNotifier>,
) {
    loop {
        match events.recv().await {
            Ok(delivered) => {
                if let Err(e) =
                    eventbridge::on_event(&app, notifier.as_ref(), &delivered.envelope()).await
                {
                    tracing::warn!(error = %e, "patient notification failed");
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "the local notifier fell behind");
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
