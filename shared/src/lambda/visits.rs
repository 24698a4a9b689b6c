//! The visit notifier's inputs: an EventBridge envelope of a visit event
//! (the rule on `Visit Created|Updated`; the local server hands its bus's
//! events the same way), or the payload of a reminder's timer
//! (`{"reminder": {tenantKey, visitId, kind}}`, from EventBridge Scheduler
//! or the local loop). The answer says what was done (ids and counts
//! only); an error makes the invocation retried.

use serde_json::{Value, json};

use crate::app::App;
use crate::error::Result;
use crate::notify::Notifier;
use crate::schedule::{Reminder, Scheduler};
use crate::services::clinic::reminders;

pub async fn on_input(
    app: &App,
    scheduler: &dyn Scheduler,
    notifier: &dyn Notifier,
    input: &Value,
) -> Result<Value> {
    if let Some((tenant, visit, kind)) = Reminder::of_payload(input) {
        let sent = reminders::send_reminder(app, notifier, &tenant, &visit, kind).await?;
        return Ok(json!({"reminder": kind.as_str(), "sent": sent}));
    }
    let reaction = reminders::on_visit_event(app, scheduler, notifier, input).await?;
    serde_json::to_value(reaction).map_err(|e| crate::error::Error::internal(e.to_string()))
}
