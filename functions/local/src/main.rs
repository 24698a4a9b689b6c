//! `embedcare`: the whole product on one machine (every router in one
//! process, on the embedded store kept on disk), and the operator commands
//! that provision accounts, franchises and API keys.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use clap::{Parser, Subcommand};
use shared::app::Ports;
use shared::clock::SystemClock;
use shared::delivery::client::HttpSender;
use shared::delivery::connections::LocalConnections;
use shared::delivery::local::LocalQueue;
use shared::delivery::resolver::SystemResolver;
use shared::events::EventBus;
use shared::events::local::{LocalBus, run_embedded_relay};
use shared::events::redrive::redrive;
use shared::http::dev::{Dev, Guard, Hosts};
use shared::lambda::{eventbridge, visits};
use shared::notify::local::LocalNotifier;
use shared::runtime;
use shared::schedule::store::StoreScheduler;
use shared::services::admin;
use shared::services::clinic::due;
use shared::services::demo::{self, DemoWorld};
use shared::services::dispatch::{Dispatcher, FanOut};
use shared::services::work::run_local_pump;
use shared::store::embedded::EmbeddedStore;
use shared::{App, AppState, Config};

use clinic::{ProviderCmd, RoomCmd};
use operator::{AccountCmd, FranchiseCmd, KeyCmd, OutboxCmd, PatientCmd, TableCmd};

mod clinic;
mod operator;

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
        /// Another host name the server answers to (repeatable; e.g. behind
        /// a proxy). It always answers to localhost, the loopback
        /// addresses, the address it listens on and EMBEDCARE_APP_BASE_URL's
        /// host; any other Host header is refused (DNS rebinding).
        #[arg(long = "allow-host")]
        allow_hosts: Vec<String>,
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
    /// The outbox: events not relayed yet, dead letters, the re-drive.
    #[command(subcommand)]
    Outbox(OutboxCmd),
    /// Patients (maintenance).
    #[command(subcommand)]
    Patient(PatientCmd),
    /// Waiting rooms of a franchise (the patient side).
    #[command(subcommand)]
    Room(RoomCmd),
    /// Providers of a franchise: the users who take visits.
    #[command(subcommand)]
    Provider(ProviderCmd),
    /// The DynamoDB table (for development; the infrastructure defines it too).
    #[command(subcommand)]
    Table(TableCmd),
}

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    let filter = shared::logging::filter(std::env::var("EMBEDCARE_LOG").ok().as_deref());
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
/// relay reads its change feed). `ports` makes the app's delivery ports,
/// given that store, and may adjust the configuration.
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
    let base = "http://127.0.0.1:3000";
    match cli.command {
        Command::Serve {
            addr,
            allow_origins,
            allow_hosts,
        } => serve(&cli.data_dir, addr, allow_origins, allow_hosts).await,
        Command::Account(cmd) => {
            let app = open_app(&cli.data_dir, base).await?;
            operator::account(&app, cmd).await
        }
        Command::Franchise(cmd) => {
            let app = open_app(&cli.data_dir, base).await?;
            operator::franchise(&app, cmd).await
        }
        Command::Key(cmd) => {
            let app = open_app(&cli.data_dir, base).await?;
            operator::key(&app, cmd).await
        }
        Command::Outbox(cmd) => {
            let app = open_app(&cli.data_dir, base).await?;
            operator::outbox(&app, cmd).await
        }
        Command::Patient(cmd) => {
            let app = open_app(&cli.data_dir, base).await?;
            operator::patient(&app, cmd).await
        }
        Command::Room(cmd) => {
            let app = open_app(&cli.data_dir, base).await?;
            clinic::room(&app, cmd).await
        }
        Command::Provider(cmd) => {
            let app = open_app(&cli.data_dir, base).await?;
            clinic::provider(&app, cmd).await
        }
        Command::Table(cmd) => operator::table(cmd).await,
    }
}

async fn serve(
    data_dir: &Path,
    addr: SocketAddr,
    extra_origins: Vec<String>,
    extra_hosts: Vec<String>,
) -> Result<(), BoxError> {
    // The counters of every app, relay and re-drive of this process, read
    // at /dev/metrics (the Lambdas write the same as EMF lines).
    let metrics = Arc::new(shared::metrics::prometheus::Prometheus::new());
    shared::metrics::install(metrics.clone());
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
            // The room pages' sockets live in the same registry.
            visit_live: Some(connections.clone()),
            // Snapshots: files under the data directory, served by /blobs/….
            blobs: Arc::new(shared::blobs::LocalBlobs::new(
                data_dir.join("blobs"),
                &config.app_base_url,
                &config.secret,
            )),
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
    // and drives the local patient and visit notifiers; the sweeper's loop
    // moves the visits time ends and sends the reminders the store keeps.
    let bus = Arc::new(LocalBus::new(true));
    let notifier = Arc::new(LocalNotifier::default());
    // It mails the invitations of a visit's participants too (/dev/messages).
    app.set_notifier(notifier.clone());
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
            let after = runtime::redrive_after_ms()?;
            let fan_out: Arc<dyn EventBus> = Arc::new(FanOut {
                app: app.clone(),
                bus: bus.clone(),
            });
            tokio::spawn(run_embedded_relay(store.clone(), fan_out.clone()));
            tokio::spawn(redrive_outbox(store, fan_out, after));
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
    tokio::spawn(sweep_visits(app.clone(), notifier.clone()));
    let dev = Arc::new(Dev {
        bus,
        notifier,
        world,
        metrics,
    });
    let hosts = Hosts::new(
        own_hosts(addr, &app.config.app_base_url)
            .iter()
            .chain(&extra_hosts)
            .map(String::as_str),
    );
    let guard = Arc::new(Guard {
        hosts,
        clock: app.clock.clone(),
    });
    let guard = from_fn_with_state(guard, shared::http::dev::guard);
    // The subscribe route upgrades with this server's connections.
    let router = shared::http::app_router_with(app, shared::http::dev::routes(dev))
        .layer(shared::http::stream::connections_layer(connections))
        .layer(guard);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await?;
    Ok(())
}

/// The names the server is reached by: the address it listens on (unless
/// it is every address), and its base URL's host.
fn own_hosts(addr: SocketAddr, base_url: &str) -> Vec<String> {
    let mut names = Vec::new();
    if !addr.ip().is_unspecified() {
        names.push(match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        });
    }
    let authority = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(h, _)| format!("[{h}]")),
        None => authority.split(':').next().map(str::to_owned),
    };
    names.extend(host.filter(|h| !h.is_empty()));
    names
}

/// The local stand-in for the `outbox-redrive` function's schedule: every
/// minute, what the local relay left pending `after_ms` is put on the bus.
async fn redrive_outbox(store: EmbeddedStore, bus: Arc<dyn EventBus>, after_ms: i64) {
    use shared::clock::Clock;
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        every.tick().await;
        let now = SystemClock.now_ms();
        if let Err(e) = redrive(&store, bus.as_ref(), now, after_ms, false).await {
            tracing::warn!(error = %e, "the outbox re-drive failed");
        }
    }
}

/// The local stand-in for the rules of the `patient-notifier` and
/// `visit-notifier` functions, with the retries Lambda gives a failed
/// asynchronous invocation (the last one after a notifier's claim has gone
/// stale). The visit notifier's reminders are items of the store
/// (`schedule::store`), sent by [`sweep_visits`].
async fn notify_patients(
    app: AppState,
    mut events: tokio::sync::broadcast::Receiver<shared::events::local::Delivered>,
    notifier: Arc<LocalNotifier>,
) {
    loop {
        match events.recv().await {
            Ok(delivered) => {
                let envelope = Arc::new(delivered.envelope());
                let (a, n, e) = (app.clone(), notifier.clone(), envelope.clone());
                tokio::spawn(with_retries("patient notification", move || {
                    let (a, n, e) = (a.clone(), n.clone(), e.clone());
                    async move { eventbridge::on_event(&a, n.as_ref(), &e).await.map(drop) }
                }));
                let (a, n) = (app.clone(), notifier.clone());
                tokio::spawn(with_retries("visit notification", move || {
                    let (a, n, e) = (a.clone(), n.clone(), envelope.clone());
                    async move {
                        let scheduler = StoreScheduler::new(a.store.clone());
                        visits::on_input(&a, &scheduler, n.as_ref(), &e)
                            .await
                            .map(drop)
                    }
                }));
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "the local notifier fell behind");
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Runs `run` until it succeeds, at most four times, as Lambda retries an
/// asynchronous invocation.
async fn with_retries<F, Fut>(what: &'static str, run: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = shared::Result<()>>,
{
    let claim = shared::services::notify::CLAIM_MS.unsigned_abs();
    let waits = [0, 1_000, 5_000, claim + 1_000];
    for (attempt, wait) in waits.into_iter().enumerate() {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        match run().await {
            Ok(()) => return,
            Err(e) => tracing::warn!(attempt, error = %e, "{what} failed"),
        }
    }
}

/// The local stand-in for the `visit-sweeper` function's schedule (and for
/// EventBridge Scheduler's reminders): every half minute, the visits time
/// ended move, and the reminders that are due are sent.
async fn sweep_visits(app: AppState, notifier: Arc<LocalNotifier>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        every.tick().await;
        match due::sweep(&app, Some(notifier.as_ref())).await {
            Ok(s) if s.failed > 0 => tracing::warn!(failed = s.failed, "some due tasks failed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the visit sweep failed"),
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
