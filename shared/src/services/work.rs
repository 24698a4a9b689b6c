//! The work queue's messages, handled the same way in the `event-dispatcher`
//! function (`lambda::sqs`) and in the local server's pump
//! ([`run_local_pump`]): a webhook attempt (`attempt.rs`), the stream's
//! flush and redelivery checks (`stream.rs`).

use std::sync::Arc;

use super::dispatch::Dispatcher;
use crate::delivery::local::LocalQueue;
use crate::delivery::queue::{Handled, Work};
use crate::error::Result;
use crate::store::keys;

/// Handles one message of the work queue.
pub async fn handle(d: &Dispatcher, work: &Work) -> Result<Handled> {
    let app = d.app.as_ref();
    match work {
        Work::Webhook {
            tenant_key,
            endpoint_id,
            event_id,
            event_at,
            generation,
        } => {
            let key = keys::delivery_key(tenant_key, endpoint_id, *event_at, event_id);
            super::attempt::attempt(d, &key, *generation).await
        }
        Work::Flush {
            tenant_key,
            queue_name,
            connection_id,
            requested_at,
        } => {
            super::stream::handle_flush(app, tenant_key, queue_name, connection_id, *requested_at)
                .await
        }
        Work::Redeliver {
            tenant_key,
            queue_name,
            queue_id,
            sort,
            receipt_id,
        } => {
            super::stream::handle_redeliver(app, tenant_key, queue_name, queue_id, sort, receipt_id)
                .await
        }
    }
}

/// Handles the local queue's due messages until the process ends: all due
/// messages at once (deliveries to different endpoints never wait for each
/// other), each settled as its handler says. A failing handler's message
/// comes back after a second.
pub async fn run_local_pump(d: Arc<Dispatcher>, queue: Arc<LocalQueue>) {
    loop {
        let worked = pump_once(&d, &queue).await;
        let wait_ms = match queue.next_in_ms().await {
            Ok(Some(ms)) if worked == 0 => ms.clamp(10, 1000),
            Ok(Some(_)) => 0,
            _ => 1000,
        };
        if wait_ms > 0 {
            tokio::select! {
                () = queue.sent.notified() => {}
                () = tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)) => {}
            }
        }
    }
}

/// Handles every message due now; returns how many. (Tests call it after
/// moving the clock.)
pub async fn pump_once(d: &Dispatcher, queue: &LocalQueue) -> usize {
    let due = match queue.due(100).await {
        Ok(due) => due,
        Err(e) => {
            tracing::error!(error = %e, "the local work queue is unreadable");
            return 0;
        }
    };
    let n = due.len();
    let results = futures_util::future::join_all(due.iter().map(|t| handle(d, &t.work))).await;
    for (taken, result) in due.iter().zip(results) {
        let later = match result {
            Ok(Handled::Done) => None,
            Ok(Handled::Later(ms)) => Some(ms),
            Err(e) => {
                tracing::warn!(error = %e, "work failed; it comes back in a second");
                Some(1000)
            }
        };
        if let Err(e) = queue.settle(taken, later).await {
            tracing::error!(error = %e, "a work message could not be settled");
        }
    }
    n
}
