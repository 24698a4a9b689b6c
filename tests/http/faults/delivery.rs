//! A webhook delivery under a store fault at every call of the fan-out
//! (`shared/src/services/dispatch.rs`: the event's deliveries and their
//! work) and of the dispatcher's attempts (`shared/src/services/attempt.rs`,
//! run from the local work queue): a failed fan-out is put again by the bus,
//! a failed attempt comes back from the queue, and the vendor's receiver
//! gets every event exactly once after dedup on its id.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use shared::app::Ports;
use shared::delivery::client::HttpSender;
use shared::delivery::connections::LocalConnections;
use shared::delivery::local::LocalQueue;
use shared::delivery::resolver::MapResolver;
use shared::notify::local::LocalNotifier;
use shared::services::dispatch::{self, Dispatcher};
use shared::services::work;

use super::*;
use crate::delivering::{VendorServer, vendor_server_on};

const HOOK: &str = "/hook";
const CONSULTATIONS: usize = 3;
/// A day: far past every retry of a failed attempt.
const HORIZON_MS: i64 = 24 * 3600 * 1000;

struct Delivery {
    run: Run,
    queue: Arc<LocalQueue>,
    dispatcher: Dispatcher,
    vendor: VendorServer,
}

async fn spawn_delivery() -> Delivery {
    let resolver = Arc::new(MapResolver::default());
    resolver.set("localhost", &["127.0.0.1".parse().expect("an address")]);
    let mut queue = None;
    let run = spawn_run_with(
        None,
        |clock| {
            let q = Arc::new(LocalQueue::in_memory(Arc::new(clock.clone())));
            queue = Some(q.clone());
            Ports {
                resolver: resolver.clone(),
                work: q,
                connections: Arc::new(LocalConnections::default()),
                visit_live: None,
                ..Ports::default()
            }
        },
        |c| c.webhook_allow_loopback = true,
    )
    .await;
    let sender = HttpSender::new(resolver.clone(), true).expect("a webhook client");
    let dispatcher = Dispatcher {
        app: run.t.app.clone(),
        sender: Arc::new(sender),
        notifier: Arc::new(LocalNotifier::default()),
    };
    let vendor = vendor_server_on(&run.t.clock).await;
    let r = run
        .t
        .post_json(
            "/v2/webhook-endpoints",
            &[],
            &json!({"url": vendor.url(HOOK), "eventTypes": ["consultation.*"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    for i in 0..CONSULTATIONS {
        let body = json!({"patient": {"keys": [{"subSystem": "pms", "key": format!("hook-{i}")}],
                                      "firstName": "Ann", "lastName": "Lee"}, "reason": "uti"});
        let r = run.t.post_json("/v2/consultations", &[], &body).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    Delivery {
        run,
        queue: queue.expect("the queue"),
        dispatcher,
        vendor,
    }
}

impl Delivery {
    /// The consultation events, fanned out as the rule does; a failed one
    /// is put again by the bus (at most `tries` times).
    async fn events(&self) -> Vec<shared::events::Published> {
        let tenant = demo_tenant();
        let page = shared::services::event_list::list(&self.run.t.app, &tenant, None, &[], 100)
            .await
            .expect("the event list");
        page.events
    }

    async fn fan_out(
        &self,
        events: &[shared::events::Published],
        tries: usize,
    ) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for e in events
            .iter()
            .filter(|e| e.type_name.to_string().starts_with("consultation"))
        {
            ids.insert(e.id.to_string());
            for attempt in 1..=tries {
                match dispatch::fan_out(&self.run.t.app, e).await {
                    Ok(()) => break,
                    Err(err) => {
                        let status = shared::http::error::status(&err).as_u16();
                        assert_eq!(status, 503, "a fault is a dependency's: {err}");
                        assert!(attempt < tries, "the fan-out failed {tries} times");
                    }
                }
            }
        }
        ids
    }

    /// The due work, the clock moved to each next message, for a day.
    async fn drain(&self) -> usize {
        let mut n = 0;
        let end = self.run.t.clock_now() + HORIZON_MS;
        loop {
            n += work::pump_once(&self.dispatcher, &self.queue).await;
            match self.queue.next_in_ms().await.expect("the queue") {
                Some(ms) if self.run.t.clock_now() + ms <= end => {
                    self.run.t.clock.advance_ms(ms.max(1))
                }
                _ => return n,
            }
        }
    }

    /// (delivered after dedup, lost, duplicates) at the receiver.
    fn received(&self, expected: &BTreeSet<String>) -> (u64, u64, u64) {
        let got: Vec<String> = self
            .vendor
            .received(HOOK)
            .iter()
            .map(|c| c.header("embedcare-event-id").to_owned())
            .collect();
        let seen: BTreeSet<String> = got.iter().cloned().collect();
        assert!(seen.is_subset(expected), "only the events subscribed to");
        let lost = expected.difference(&seen).count() as u64;
        (seen.len() as u64, lost, (got.len() - seen.len()) as u64)
    }
}

#[tokio::test]
async fn a_webhook_delivery_loses_nothing_under_a_fault_at_every_call() {
    // Fault-free: the calls of the fan-out and of the dispatcher.
    let d = spawn_delivery().await;
    let events = d.events().await;
    let c0 = (
        d.run.faults.count(&Op::ALL),
        d.run.faults.count(&[Op::Transact]),
    );
    let expected = d.fan_out(&events, 1).await;
    let c1 = (
        d.run.faults.count(&Op::ALL),
        d.run.faults.count(&[Op::Transact]),
    );
    assert!(d.drain().await > 0);
    let c2 = (
        d.run.faults.count(&Op::ALL),
        d.run.faults.count(&[Op::Transact]),
    );
    let (delivered, lost, _) = d.received(&expected);
    assert_eq!((delivered, lost), (expected.len() as u64, 0));
    // Events of a consultation created and sent: created, sent.
    assert!(expected.len() >= CONSULTATIONS);
    let phases = [(c1.0 - c0.0, c1.1 - c0.1), (c2.0 - c1.0, c2.1 - c1.1)];
    let mut tally = Tally {
        runs: 1,
        delivered,
        ..Tally::default()
    };
    let mut duplicates = 0;
    for fault in Fault::ALL {
        for (phase, (all, writes)) in phases.iter().enumerate() {
            let n = if fault == Fault::PartialCancel {
                *writes
            } else {
                *all
            };
            for nth in (1..=n).filter(|k| long() || *k <= QUICK_POSITIONS || *k == n) {
                let d = spawn_delivery().await;
                let events = d.events().await;
                if phase == 0 {
                    d.run.faults.arm(fault, fault.ops(), nth);
                }
                let expected = d.fan_out(&events, 3).await;
                if phase == 1 {
                    d.run.faults.arm(fault, fault.ops(), nth);
                }
                d.drain().await;
                d.run.faults.disarm();
                d.drain().await;
                let (delivered, lost, dup) = d.received(&expected);
                if lost > 0 {
                    println!(
                        "faults[webhook delivery]: LOST {lost} under {fault:?} #{nth} of phase {phase}"
                    );
                }
                assert_eq!(
                    d.run.faults.injected(),
                    1,
                    "{fault:?} #{nth} of phase {phase}"
                );
                tally.runs += 1;
                tally.faults += d.run.faults.injected();
                tally.delivered += delivered;
                tally.lost += lost;
                duplicates += dup;
            }
        }
    }
    tally.print("webhook delivery");
    println!(
        "faults[webhook delivery]: duplicates dropped by id={duplicates} calls (all, transactions) per phase {phases:?}"
    );
    assert_eq!(tally.lost, 0, "events lost");
    assert_eq!(tally.faults, tally.runs - 1);
}
