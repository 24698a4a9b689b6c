//! Lambda `event-dispatcher`: two SQS event sources — the events queue (a
//! rule puts every embedcare event there) and the work queue (webhook
//! attempts, the stream's flushes and redeliveries) — with partial batch
//! responses. Wiring only; the SQS event's shape is `shared::lambda::sqs`,
//! the work `shared::services::dispatch`.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::delivery::client::HttpSender;
use shared::services::dispatch::Dispatcher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // Configuration and clients, once per instance (cold start): the work
    // queue, the WebSocket API, the webhook client, the operator's e-mail.
    let (ports, work) = shared::runtime::delivery_ports().await?;
    let resolver = ports.resolver.clone();
    let app = shared::runtime::lambda_app_with(ports).await?;
    let sender = HttpSender::new(resolver, app.config.webhook_allow_loopback)?;
    let dispatcher = Dispatcher {
        app,
        sender: Arc::new(sender),
        notifier: shared::runtime::operator_notifier().await?,
    };
    let (dispatcher, work) = (&dispatcher, work.as_ref());
    // What an invocation counted goes out as EMF lines when it ends.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        shared::metrics::flushed(async move {
            Ok::<Value, Error>(
                shared::lambda::sqs::handle_sqs_event(dispatcher, &event.payload, work).await,
            )
        })
    }))
    .await
}
