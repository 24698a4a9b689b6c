//! Lambda `patient-notifier`: the target of the rule on `Consultation
//! Created|Updated` events with status `SENT`; sends the patient a
//! single-use answer link by e-mail (SES) and records the delivery. An error
//! makes EventBridge retry the event (a delivery already made is not
//! repeated). Wiring only; the envelope is read by
//! `shared::lambda::eventbridge`, the work is `shared::services::notify`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    let notifier = shared::runtime::ses_notifier().await?;
    let (app, notifier) = (&app, &notifier);
    // What an invocation counted goes out as EMF lines when it ends.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        shared::metrics::flushed(async move {
            let delivery =
                shared::lambda::eventbridge::on_event(app, notifier, &event.payload).await?;
            Ok::<Value, Error>(serde_json::json!({ "delivered": delivery.is_some() }))
        })
    }))
    .await
}
