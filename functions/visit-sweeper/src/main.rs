//! Lambda `visit-sweeper`: on a schedule (an EventBridge rule), moves the
//! visits whose lapse is due — a scheduled visit nobody started by its end
//! is `NO_SHOW`, a walk-in still waiting when its room closed or an
//! eConsult nobody accepted in time is `EXPIRED` — with their events, by
//! the index of due tasks (gsi1 `DUE#{hour}`, never a scan). A read lapses
//! a visit too: this moves those nobody reads. Reminders are EventBridge
//! Scheduler's in AWS (`visit-notifier`), so the sweep sends none. Wiring
//! only; the work is `shared::services::clinic::due::sweep`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // Configuration and the DynamoDB client, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    let app = &app;
    // What an invocation counted goes out as EMF lines when it ends.
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        shared::metrics::flushed(async move {
            let swept = shared::services::clinic::due::sweep(app, None).await?;
            Ok::<Value, Error>(serde_json::to_value(swept)?)
        })
    }))
    .await
}
