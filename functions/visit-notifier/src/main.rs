//! Lambda `visit-notifier`: two kinds of input, one function.
//!
//! - The target of the rule on `Visit Created|Updated` (an EventBridge
//!   envelope): a scheduled visit's booking e-mail, and its reminders
//!   arranged as one-shot schedules of EventBridge Scheduler (in
//!   `EMBEDCARE_SCHEDULE_GROUP`); deleted when the visit leaves `SCHEDULED`.
//! - The target of those schedules: EventBridge Scheduler invokes it with
//!   the schedule's input as the payload, `{"reminder": {tenantKey,
//!   visitId, kind}}` (ids only), and the reminder is e-mailed (SES) if
//!   the visit is still scheduled and ahead.
//!
//! An error makes the invocation retried (a message already sent is not
//! sent again). Wiring only; the inputs are read by
//! `shared::lambda::visits`, the work is `shared::services::clinic::reminders`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    let notifier = shared::runtime::ses_notifier().await?;
    let scheduler = shared::runtime::eventbridge_scheduler().await?;
    let (app, notifier, scheduler) = (&app, &notifier, &scheduler);
    // What an invocation counted goes out as EMF lines when it ends.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        shared::metrics::flushed(async move {
            let done =
                shared::lambda::visits::on_input(app, scheduler, notifier, &event.payload).await?;
            Ok::<Value, Error>(done)
        })
    }))
    .await
}
