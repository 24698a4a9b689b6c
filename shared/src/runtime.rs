//! Building the application from the environment, the same way for every
//! Lambda function and for the local binary:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `EMBEDCARE_STORE` | `embedded` or `dynamodb` |
//! | `EMBEDCARE_TABLE` | the DynamoDB table (default `embedcare`) |
//! | `AWS_REGION` | required for `dynamodb` (never guessed: guessing probes instance metadata) |
//! | `AWS_ENDPOINT_URL` | optional, e.g. an emulator (read by the SDK itself; S3 is then addressed by path) |
//! | `EMBEDCARE_SNAPSHOT_BUCKET` | the bucket of the visits' snapshots (functions built with `aws-blobs`) |
//!
//! plus the settings of `Config::from_env` (`EMBEDCARE_SECRET` among them).

use std::path::Path;
use std::sync::Arc;

use crate::app::{App, AppState, Ports};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::store::Store;
use crate::store::dynamodb::DynamoStore;
#[cfg(feature = "embedded")]
use crate::store::embedded::EmbeddedStore;
use crate::store::table::DEFAULT_TABLE_NAME;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Embedded,
    Dynamodb,
}

impl StoreKind {
    /// `EMBEDCARE_STORE`, or `default` when unset.
    pub fn from_env(default: StoreKind) -> Result<Self, String> {
        match std::env::var("EMBEDCARE_STORE").as_deref() {
            Err(_) => Ok(default),
            Ok("embedded") => Ok(StoreKind::Embedded),
            Ok("dynamodb") => Ok(StoreKind::Dynamodb),
            Ok(other) => Err(format!(
                "EMBEDCARE_STORE must be embedded or dynamodb, not {other:?}"
            )),
        }
    }
}

pub fn table_name() -> String {
    std::env::var("EMBEDCARE_TABLE").unwrap_or_else(|_| DEFAULT_TABLE_NAME.to_owned())
}

/// The SDK's shared configuration: region from the environment only,
/// credentials and endpoint from the SDK's usual environment chain, and
/// the process's one HTTP client (`http_client.rs`: HTTP/1.1, roots
/// compiled in, nothing read from the system's CA bundle). Loaded once per
/// process: every client of a function (DynamoDB, SES, the scheduler, SQS,
/// ...) shares it and its credentials cache, instead of each loading the
/// chain again at cold start.
pub async fn aws_config() -> Result<aws_config::SdkConfig, String> {
    static LOADED: tokio::sync::OnceCell<aws_config::SdkConfig> =
        tokio::sync::OnceCell::const_new();
    LOADED.get_or_try_init(load_aws_config).await.cloned()
}

async fn load_aws_config() -> Result<aws_config::SdkConfig, String> {
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .map_err(|_| "AWS_REGION must be set to use DynamoDB".to_owned())?;
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .http_client(crate::http_client::sdk_http_client())
        .load()
        .await)
}

pub async fn dynamo_client() -> Result<aws_sdk_dynamodb::Client, String> {
    Ok(aws_sdk_dynamodb::Client::new(&aws_config().await?))
}

/// The store `kind` names. The embedded store lives in `data_dir`.
pub async fn store(
    kind: StoreKind,
    data_dir: Option<&Path>,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Store>, String> {
    match kind {
        #[cfg(not(feature = "embedded"))]
        StoreKind::Embedded => {
            let _ = (data_dir, clock);
            Err("this build has no embedded store (a Lambda function): set EMBEDCARE_STORE=dynamodb".into())
        }
        #[cfg(feature = "embedded")]
        StoreKind::Embedded => {
            let dir = data_dir.ok_or("the embedded store needs a data directory")?;
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let store = EmbeddedStore::open(&dir.join("embedcare.redb"), clock)
                .map_err(|e| e.to_string())?;
            Ok(Arc::new(store))
        }
        StoreKind::Dynamodb => Ok(Arc::new(DynamoStore::new(
            dynamo_client().await?,
            table_name(),
            clock,
        ))),
    }
}

/// The application of a Lambda function: DynamoDB unless told otherwise,
/// clients built once, here, at cold start; `EMBEDCARE_SECRET` and
/// `EMBEDCARE_APP_BASE_URL` required.
pub async fn lambda_app() -> Result<AppState, String> {
    lambda_app_with(Ports::default()).await
}

/// [`lambda_app`] with the ports of event delivery. A function built with
/// `aws-events` and given `EMBEDCARE_VISIT_LIVE_ENDPOINT` (the visit-live
/// WebSocket API's `https://{api}.execute-api.{region}.amazonaws.com/{stage}`)
/// tells the visits' live connections of the chat messages and moves it
/// writes.
// Without either feature, nothing here changes `ports`.
#[cfg_attr(
    not(any(feature = "aws-events", feature = "aws-blobs")),
    allow(unused_mut)
)]
pub async fn lambda_app_with(mut ports: Ports) -> Result<AppState, String> {
    #[cfg(feature = "aws-events")]
    if ports.visit_live.is_none()
        && let Ok(endpoint) = std::env::var(VISIT_LIVE_ENDPOINT)
        && !endpoint.trim().is_empty()
    {
        let c = crate::delivery::apigw::ApiGatewayConnections::new(&aws_config().await?, &endpoint);
        ports.visit_live = Some(Arc::new(c));
    }
    #[cfg(feature = "aws-blobs")]
    if let Ok(bucket) = std::env::var(SNAPSHOT_BUCKET)
        && !bucket.trim().is_empty()
    {
        ports.blobs = Arc::new(s3_blobs(&aws_config().await?, bucket.trim()));
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let kind = StoreKind::from_env(StoreKind::Dynamodb)?;
    let data_dir = std::env::var("EMBEDCARE_DATA_DIR").ok();
    let store = store(kind, data_dir.as_deref().map(Path::new), clock.clone()).await?;
    let config = Config::from_env("")?;
    if config.app_base_url.is_empty() {
        return Err("EMBEDCARE_APP_BASE_URL must be set".into());
    }
    let app = App::with_ports(store, clock, config, ports);
    // The `visits` function's video rooms: Chime SDK meetings, when its
    // stack says so (`EMBEDCARE_VIDEO=chime`); else the WebRTC default.
    #[cfg(feature = "chime")]
    if std::env::var("EMBEDCARE_VIDEO").is_ok_and(|v| v == "chime") {
        app.set_video(Arc::new(chime_rooms().await?));
    }
    // A function with a sender mails the invitations of a visit's
    // participants (`services::clinic::participants::invite`).
    if std::env::var("EMBEDCARE_SES_SENDER").is_ok_and(|s| !s.trim().is_empty()) {
        app.set_notifier(Arc::new(ses_notifier().await?));
    }
    Ok(app)
}

/// The Chime SDK meetings adapter, its media in the function's region.
#[cfg(feature = "chime")]
pub async fn chime_rooms() -> Result<crate::video::chime::ChimeRooms, String> {
    let config = aws_config().await?;
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or("AWS_REGION must be set for Chime")?;
    let client = aws_sdk_chimesdkmeetings::Client::new(&config);
    Ok(crate::video::chime::ChimeRooms::new(client, region))
}

/// The bucket of the visits' snapshots (S3).
pub const SNAPSHOT_BUCKET: &str = "EMBEDCARE_SNAPSHOT_BUCKET";

/// The snapshots' blob store on S3 `bucket`. With an endpoint of its own
/// (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`: an emulator), the bucket is
/// addressed by path, not by host name.
#[cfg(feature = "aws-blobs")]
pub fn s3_blobs(config: &aws_config::SdkConfig, bucket: &str) -> crate::blobs::s3::S3Blobs {
    let emulated = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()));
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(emulated)
        .build();
    crate::blobs::s3::S3Blobs::new(aws_sdk_s3::Client::from_conf(conf), bucket)
}

/// Where the visits' live connections are posted to (API Gateway).
pub const VISIT_LIVE_ENDPOINT: &str = "EMBEDCARE_VISIT_LIVE_ENDPOINT";

/// The app of the `visit-live` function: [`lambda_app_with`], the visit
/// WebSocket API's endpoint required.
#[cfg(feature = "aws-events")]
pub async fn visit_live_app() -> Result<AppState, String> {
    if std::env::var(VISIT_LIVE_ENDPOINT).is_err() {
        return Err(format!("{VISIT_LIVE_ENDPOINT} must be set"));
    }
    lambda_app_with(Ports::default()).await
}

/// The work queue on SQS: `EMBEDCARE_WORK_QUEUE_URL`.
#[cfg(feature = "aws-events")]
pub async fn sqs_work_queue() -> Result<crate::delivery::sqs::SqsQueue, String> {
    let url = std::env::var("EMBEDCARE_WORK_QUEUE_URL")
        .map_err(|_| "EMBEDCARE_WORK_QUEUE_URL must be set".to_owned())?;
    let client = aws_sdk_sqs::Client::new(&aws_config().await?);
    Ok(crate::delivery::sqs::SqsQueue::new(client, url))
}

/// The ports of the functions of event delivery (`event-dispatcher`,
/// `event-stream`, `v2-events`): the work queue on SQS, the WebSocket
/// API's connections (`EMBEDCARE_WEBSOCKET_ENDPOINT`, its
/// `https://{api}.execute-api.{region}.amazonaws.com/{stage}`), the
/// system's resolver.
#[cfg(feature = "aws-events")]
pub async fn delivery_ports() -> Result<(Ports, Arc<crate::delivery::sqs::SqsQueue>), String> {
    let endpoint = std::env::var("EMBEDCARE_WEBSOCKET_ENDPOINT")
        .map_err(|_| "EMBEDCARE_WEBSOCKET_ENDPOINT must be set".to_owned())?;
    let work = Arc::new(sqs_work_queue().await?);
    let connections =
        crate::delivery::apigw::ApiGatewayConnections::new(&aws_config().await?, &endpoint);
    let ports = Ports {
        resolver: Arc::new(crate::delivery::resolver::SystemResolver),
        work: work.clone(),
        connections: Arc::new(connections),
        visit_live: None,
        ..Ports::default()
    };
    Ok((ports, work))
}

/// The notifier of the operator's e-mails: SES when `EMBEDCARE_SES_SENDER`
/// is set, else one that only logs that nobody could be told.
pub async fn operator_notifier() -> Result<Arc<dyn crate::notify::Notifier>, String> {
    match std::env::var("EMBEDCARE_SES_SENDER") {
        Ok(sender) if !sender.trim().is_empty() => Ok(Arc::new(ses_notifier().await?)),
        _ => Ok(Arc::new(crate::notify::NoNotifier)),
    }
}

/// The bus the relay puts events on: EventBridge, `EMBEDCARE_EVENT_BUS`.
pub async fn eventbridge_bus() -> Result<crate::events::eventbridge::EventBridgeBus, String> {
    let bus = std::env::var("EMBEDCARE_EVENT_BUS")
        .map_err(|_| "EMBEDCARE_EVENT_BUS must be set".to_owned())?;
    let client = aws_sdk_eventbridge::Client::new(&aws_config().await?);
    Ok(crate::events::eventbridge::EventBridgeBus::new(client, bus))
}

/// What the event functions (the relay, the re-drive) work with: the bus
/// (`EMBEDCARE_EVENT_BUS`), the table (DynamoDB) and the clock. Built once,
/// at cold start.
pub struct EventPorts {
    pub bus: crate::events::eventbridge::EventBridgeBus,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

pub async fn event_ports() -> Result<EventPorts, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(EventPorts {
        bus: eventbridge_bus().await?,
        store: store(StoreKind::Dynamodb, None, clock.clone()).await?,
        clock,
    })
}

/// How long an outbox item may stay unrelayed before the re-drive puts it
/// on the bus: `EMBEDCARE_REDRIVE_AFTER_MINUTES` (1 to 1440, default 10),
/// in milliseconds. Well above the relay's own retries (seconds), so the
/// re-drive only takes what the stream gave up on.
pub fn redrive_after_ms() -> Result<i64, String> {
    Ok(crate::config::env_num("EMBEDCARE_REDRIVE_AFTER_MINUTES", 10, 1, 1440)? * 60_000)
}

/// The SES notifier: sender from `EMBEDCARE_SES_SENDER`.
pub async fn ses_notifier() -> Result<crate::notify::ses::SesNotifier, String> {
    let sender = std::env::var("EMBEDCARE_SES_SENDER")
        .map_err(|_| "EMBEDCARE_SES_SENDER must be set".to_owned())?;
    let client = aws_sdk_sesv2::Client::new(&aws_config().await?);
    Ok(crate::notify::ses::SesNotifier::new(client, sender))
}

/// The EventBridge Scheduler of the visit notifier's reminders:
/// `EMBEDCARE_SCHEDULE_GROUP` (the stack's schedule group),
/// `EMBEDCARE_SCHEDULE_TARGET_ARN` (the function a reminder invokes) and
/// `EMBEDCARE_SCHEDULER_ROLE_ARN` (the role the scheduler assumes to).
pub async fn eventbridge_scheduler()
-> Result<crate::schedule::eventbridge::EventBridgeScheduler, String> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} must be set"));
    let target = crate::schedule::eventbridge::ScheduleTarget {
        group: var("EMBEDCARE_SCHEDULE_GROUP")?,
        target_arn: var("EMBEDCARE_SCHEDULE_TARGET_ARN")?,
        role_arn: var("EMBEDCARE_SCHEDULER_ROLE_ARN")?,
    };
    let client = aws_sdk_scheduler::Client::new(&aws_config().await?);
    Ok(crate::schedule::eventbridge::EventBridgeScheduler::new(
        client, target,
    ))
}
