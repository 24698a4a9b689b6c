//! The work queue's messages, handled the same way in the `event-dispatcher`
//! function (`lambda::sqs`) and in the local server's pump
//! ([`run_local_pump`]): a webhook attempt (`attempt.rs`), the stream's
//! flush and redelivery checks (`stream.rs`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::dispatch::Dispatcher;
use crate::delivery::local::{LocalQueue, Taken};
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

/// Handles the local queue's due messages until the process ends, each in
/// a task of its own (deliveries to different endpoints never wait for
/// each other: a slow endpoint holds only its own attempt), each settled as
/// its handler says. A failing handler's message comes back after a second.
pub async fn run_local_pump(d: Arc<Dispatcher>, queue: Arc<LocalQueue>) {
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    loop {
        let busy = lock(&in_flight).len();
        let due = queue.due(100 + busy).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "the local work queue is unreadable");
            Vec::new()
        });
        let mut started = 0;
        for taken in due {
            if !lock(&in_flight).insert(taken.id().to_owned()) {
                continue;
            }
            started += 1;
            let (d, queue, in_flight) = (d.clone(), queue.clone(), in_flight.clone());
            tokio::spawn(async move {
                settle(&queue, &taken, handle(&d, &taken.work).await).await;
                lock(&in_flight).remove(taken.id());
                queue.sent.notify_one();
            });
        }
        // Woken by a new message or a finished one; else at the next due
        // one (at most a second: the clock may be moved by hand).
        let wait_ms = match queue.next_in_ms().await {
            Ok(Some(0)) if started == 0 => 1000,
            Ok(Some(ms)) => ms.clamp(10, 1000),
            _ => 1000,
        };
        tokio::select! {
            () = queue.sent.notified() => {}
            () = tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)) => {}
        }
    }
}

fn lock(set: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    set.lock().unwrap_or_else(|p| p.into_inner())
}

/// Done with a message, or hand it back after its handler's pause (a
/// second after a failure).
async fn settle(queue: &LocalQueue, taken: &Taken, result: Result<Handled>) {
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
        settle(queue, taken, result).await;
    }
    n
}
