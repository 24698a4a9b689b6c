//! §4: the new paths under contention and fan-out, on one local server
//! (`embedcare serve`, embedded store on disk): bookings and accepts racing
//! (`contention.rs`), presence and chat fan-out to 10 participants
//! (`fanout.rs`), the webhook dispatcher's throughput (`hook_rate.rs`).
//! Counts are asserted (quick mode too); timings only reported.

use std::path::Path;
use std::time::Duration;

use crate::contention::{self, Contended};
use crate::fanout::{self, Fanout};
use crate::hook_rate::{self, Rate};
use crate::stress::client::Http;
use crate::util::Res;
use crate::{Mode, Plan, Report, ok, step};

pub struct Outcome {
    pub races: Vec<Contended>,
    pub fanout: Fanout,
    pub hooks: Rate,
}

struct Counts {
    race_rounds: usize,
    bookings: usize,
    accepts: usize,
    fanout_rounds: usize,
    hook_events: usize,
}

fn counts(plan: &Plan) -> Counts {
    match plan.mode {
        Mode::Quick => Counts {
            race_rounds: 2,
            bookings: 10,
            accepts: 10,
            fanout_rounds: 10,
            hook_events: 50,
        },
        Mode::Full => Counts {
            race_rounds: 10,
            bookings: 20,
            accepts: 20,
            fanout_rounds: 200,
            hook_events: 1000,
        },
    }
}

pub async fn run(r: &mut Report, plan: &Plan, embedcare: &Path, scratch: &Path) -> Res<Outcome> {
    let n = counts(plan);
    let dir = scratch.join("data-paths");
    let (key, _) = crate::load::prepare(&dir, 0).await?;
    let server = crate::load::start_embedcare(embedcare, &dir)?;
    let api = Http::new(server.port)?;

    step(&format!(
        "contention: {} bookings of one slot, {} accepts of one eConsult ({} rounds)",
        n.bookings, n.accepts, n.race_rounds
    ));
    let races = vec![
        contention::bookings(&api, &key, n.bookings, n.race_rounds).await?,
        contention::accepts(&api, &key, n.accepts, n.race_rounds).await?,
    ];
    step(&format!(
        "fan-out: {} sockets on one visit, {} chat rounds",
        fanout::PARTICIPANTS,
        n.fanout_rounds
    ));
    let fanout = fanout::run(server.port, &key, n.fanout_rounds).await?;
    step(&format!(
        "webhooks: {} events to 2 endpoints",
        n.hook_events
    ));
    let hooks = hook_rate::run(&api, &key, n.hook_events, Duration::from_secs(120)).await?;
    drop(server);

    let out = Outcome {
        races,
        fanout,
        hooks,
    };
    out.section(r, plan);
    Ok(out)
}

impl Outcome {
    fn section(&self, r: &mut Report, plan: &Plan) {
        let build = if plan.mode == Mode::Full {
            "release"
        } else {
            "debug (quick mode: timings meaningless)"
        };
        r.line("\n## 4. The new paths under contention and fan-out (local server)\n");
        r.line(format!("`embedcare serve` ({build}) on loopback with its embedded store on disk, a fresh data directory; the harness's clients share the machine's CPUs with it. Counts are asserted in quick mode too; timings are reported only. Source: `benches/src/under_load.rs`.\n"));
        r.line("### Booking and accepting under contention\n");
        r.line("Each round releases all its requests together (a barrier, one task each). Bookings: `stress::races::bookings` (the race of `LOAD.md`: one patient, an intake per request, one 30-minute slot of `dr-martin`, a new day each round). Accepts: an eConsult made by its patient, then `dr-martin` and `dr-nguyen` alternating on `POST /v2/visits/{id}/accept`. *Conflicts per success* = `409` answers ÷ successes.\n");
        r.line("| race | rounds | successes per round | answers by status | conflicts per success | p50 / p99 ms | one success each round |");
        r.line("| --- | ---: | --- | --- | ---: | ---: | --- |");
        for c in &self.races {
            let statuses = c
                .statuses
                .iter()
                .map(|(k, v)| format!("{v}× {k}"))
                .collect::<Vec<_>>()
                .join(", ");
            let good = c.failures.is_empty() && c.successes.iter().all(|s| *s == 1);
            if !good {
                r.failures.extend(c.failures.clone());
                if c.failures.is_empty() {
                    r.failures
                        .push(format!("{}: successes per round {:?}", c.what, c.successes));
                }
            }
            let mut per: Vec<usize> = c.successes.clone();
            per.dedup();
            r.line(format!(
                "| {} | {} | {} | {statuses} | {:.1} | {:.1} / {:.1} | {} |",
                c.what,
                c.rounds,
                per.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                c.conflicts_per_success(),
                c.p(50.0),
                c.p(99.0),
                ok(good)
            ));
        }

        let f = &self.fanout;
        r.line(format!(
            "\n### Presence and chat fan-out to {} participants\n",
            f.participants
        ));
        r.line(format!("One walk-in started by `dr-nguyen`; {} sockets on `GET /v2/visits/{{visitId}}/live`: the patient (its token as the subprotocol), the provider (API key) and {} guests (invited, their links redeemed through `POST /members/invitation/{{visitId}}` as a guest's browser does). *Presence*: each arrival (from the start of its connect) until its `presence` frame reaches each socket already open. *Chat*: {} rounds, the patient and the provider taking turns to send a `chat` frame; one sample = send → that frame at one other socket; *all* = send → the last of the others. The product's claim: within a second on one machine.\n", f.participants, f.participants - 2, f.rounds));
        r.line("| what | samples | p50 ms | p99 ms | max ms | within 1 s (p99) |");
        r.line("| --- | ---: | ---: | ---: | ---: | --- |");
        for (what, v) in [
            ("presence of an arrival, at each socket open", &f.presence),
            ("chat message, at each other socket", &f.chat),
            ("chat message, at the last of the 9 others", &f.chat_all),
        ] {
            let max = v.iter().copied().fold(0.0, f64::max);
            r.line(format!(
                "| {what} | {} | {:.2} | {:.2} | {max:.2} | {} |",
                v.len(),
                Fanout::p(v, 50.0),
                Fanout::p(v, 99.0),
                ok(Fanout::p(v, 99.0) <= 1000.0)
            ));
        }
        if !f.failures.is_empty() {
            r.failures.extend(f.failures.clone());
        }
        let expected_presence = f.participants * (f.participants - 1) / 2;
        if f.presence.len() != expected_presence {
            r.failures.push(format!(
                "fan-out: {} of {expected_presence} presence frames received",
                f.presence.len()
            ));
        }
        let expected_chat = f.rounds * (f.participants - 1);
        if f.chat.len() != expected_chat {
            r.failures.push(format!(
                "fan-out: {} of {expected_chat} chat frames received",
                f.chat.len()
            ));
        }

        let h = &self.hooks;
        r.line("\n### Webhook dispatcher throughput (loopback receiver)\n");
        r.line(format!("{} consultations created (`POST /v2/consultations`, 25 at a time, as in `stress/hooks.rs`), each `consultation.created` to 2 endpoints of a receiver on loopback that always answers `200` and verifies each delivery's `Embedcare-Signature` with its endpoint's secret (`tests/http/verify.rs`). Rate = deliveries ÷ (first create → last delivery's receipt); the creates alone took the time shown (they bound the rate when close to it).\n", h.events));
        r.line("| deliveries expected | received | lost | received twice | bad signatures | creates took s | first create → last receipt s | deliveries/s | |");
        r.line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        r.line(format!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.0} | {} |",
            h.expected,
            h.delivered,
            h.expected.saturating_sub(h.delivered),
            h.twice,
            h.bad_signatures,
            h.create_secs,
            h.secs,
            h.per_s(),
            ok(h.failures.is_empty())
        ));
        r.failures.extend(h.failures.clone());
    }

    pub fn targets(&self, r: &mut Report) {
        let races_ok = self
            .races
            .iter()
            .all(|c| c.failures.is_empty() && c.successes.iter().all(|s| *s == 1));
        r.line(format!(
            "| one success per contended slot / eConsult (§4) | {} | {} |",
            self.races
                .iter()
                .map(|c| format!("{:.1} conflicts per success", c.conflicts_per_success()))
                .collect::<Vec<_>>()
                .join("; "),
            ok(races_ok)
        ));
        let p99 = Fanout::p(&self.fanout.chat_all, 99.0);
        r.line(format!(
            "| fan-out to 10 participants within 1 s (§4) | chat to all p99 {p99:.1} ms | {} |",
            ok(p99 <= 1000.0 && self.fanout.failures.is_empty())
        ));
        r.line(format!(
            "| webhook deliveries: none lost, all signed (§4) | {} of {} at {:.0}/s | {} |",
            self.hooks.delivered,
            self.hooks.expected,
            self.hooks.per_s(),
            ok(self.hooks.failures.is_empty())
        ));
    }
}
