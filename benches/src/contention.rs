//! Booking and accepting under contention, on the local server: `n`
//! concurrent bookings of one slot (`stress::races::bookings`, the race
//! `LOAD.md` runs, reused as it is) and `m` concurrent accepts of one
//! eConsult by the franchise's two providers, over several rounds: the
//! successes of each round (exactly one), the conflicts (`409`) per
//! success, and the latency of every answer.

use std::collections::BTreeMap;

use serde_json::json;

use crate::paths::provider_header;
use crate::stress::client::{Http, Req, Resp};
use crate::stress::races;
use crate::util::{Res, pct, sorted};

/// One race, over its rounds.
pub struct Contended {
    pub what: String,
    pub rounds: usize,
    /// Successes of each round.
    pub successes: Vec<usize>,
    pub statuses: BTreeMap<u16, usize>,
    pub latencies: Vec<f64>,
    pub failures: Vec<String>,
}

impl Contended {
    pub fn conflicts_per_success(&self) -> f64 {
        let wins: usize = self.successes.iter().sum();
        let conflicts = self.statuses.get(&409).copied().unwrap_or(0);
        conflicts as f64 / wins.max(1) as f64
    }
    pub fn p(&self, q: f64) -> f64 {
        pct(&sorted(self.latencies.clone()), q)
    }
}

/// `n` bookings of one slot, `rounds` times (a new slot each round).
pub async fn bookings(api: &Http, key: &str, n: usize, rounds: usize) -> Res<Contended> {
    let mut c = Contended {
        what: format!("{n} concurrent bookings of one slot (`POST /v2/visits`)"),
        rounds,
        successes: Vec::new(),
        statuses: BTreeMap::new(),
        latencies: Vec::new(),
        failures: Vec::new(),
    };
    for round in 0..rounds {
        // Days 10, 11, …: past `LOAD.md`'s day 2, one free slot each.
        let race = races::bookings(api, key, n, 10 + round as i64).await?;
        for (s, k) in &race.statuses {
            *c.statuses.entry(*s).or_default() += k;
        }
        c.successes.push(race.winners);
        c.latencies.extend(race.latencies);
        c.failures.extend(race.failures);
    }
    Ok(c)
}

/// `m` accepts of one eConsult (the two demo providers alternating),
/// `rounds` times.
pub async fn accepts(api: &Http, key: &str, m: usize, rounds: usize) -> Res<Contended> {
    let mut c = Contended {
        what: format!(
            "{m} concurrent accepts of one eConsult (`POST /v2/visits/{{id}}/accept`, 2 providers)"
        ),
        rounds,
        successes: Vec::new(),
        statuses: BTreeMap::new(),
        latencies: Vec::new(),
        failures: Vec::new(),
    };
    let token = races::sso(
        api,
        key,
        &format!("accept-{}", uuid::Uuid::new_v4().simple()),
    )
    .await?;
    for _ in 0..rounds {
        let i = api
            .send(&Req::new("POST", "/v2/intakes").bearer(&token).json(&json!({"reasonForVisit": "Rash", "type": "ECONSULT", "roomCode": "clinic", "concerns": [{"text": "rash", "primary": true}]})))
            .await;
        let intake = i
            .str("intakeId")
            .ok_or_else(|| format!("eConsult intake: {} {}", i.status, i.body))?;
        let e = api
            .send(
                &Req::new("POST", "/v2/visits/econsult")
                    .bearer(&token)
                    .json(&json!({"intakeId": intake})),
            )
            .await;
        let visit = e
            .str("visitId")
            .ok_or_else(|| format!("eConsult: {} {}", e.status, e.body))?;
        let reqs = (0..m)
            .map(|n| {
                let who = if n % 2 == 0 { "dr-martin" } else { "dr-nguyen" };
                Req::new("POST", format!("/v2/visits/{visit}/accept"))
                    .key(key)
                    .header("x-integration-user", &provider_header(who))
            })
            .collect();
        let answers: Vec<Resp> = api.concurrently(reqs).await;
        let mut wins = 0;
        for a in &answers {
            *c.statuses.entry(a.status).or_default() += 1;
            c.latencies.push(a.ms);
            if a.status == 200 {
                wins += 1;
            } else if a.status != 409 {
                c.failures
                    .push(format!("an accept answered {} {}", a.status, a.body));
            }
        }
        if wins != 1 {
            c.failures
                .push(format!("{wins} accepts of one eConsult succeeded"));
        }
        c.successes.push(wins);
    }
    Ok(c)
}
