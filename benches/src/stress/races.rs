//! The three races, written once for both targets: `n` concurrent creates
//! of one new patient key, `n` concurrent redemptions of one launch token,
//! `n` concurrent bookings of one slot. Each counts the answers by status
//! and what the store holds after.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::client::{Req, Resp, Target};
use crate::util::Res;

/// What one race gave.
pub struct Race {
    pub what: String,
    pub target: &'static str,
    /// Answers by status.
    pub statuses: BTreeMap<u16, usize>,
    /// The count the race is about (patients, redemptions, bookings).
    pub winners: usize,
    pub latencies: Vec<f64>,
    pub failures: Vec<String>,
}

impl Race {
    fn new(what: String, target: &'static str, answers: &[Resp]) -> Race {
        let mut statuses = BTreeMap::new();
        for a in answers {
            *statuses.entry(a.status).or_default() += 1;
        }
        Race {
            what,
            target,
            statuses,
            winners: 0,
            latencies: answers.iter().map(|a| a.ms).collect(),
            failures: Vec::new(),
        }
    }

    fn expect(&mut self, ok: bool, msg: impl Into<String>) {
        if !ok {
            self.failures
                .push(format!("{} on {}: {}", self.what, self.target, msg.into()));
        }
    }

    /// Only these statuses may answer (never a 5xx, never no answer).
    fn only(&mut self, allowed: &[u16]) {
        let odd: Vec<_> = self
            .statuses
            .iter()
            .filter(|(s, _)| !allowed.contains(s))
            .collect();
        let msg = format!("unexpected statuses {odd:?} (allowed {allowed:?})");
        self.expect(odd.is_empty(), msg);
    }
}

pub fn patient_body(key: &str) -> serde_json::Value {
    json!({"patient": {"keys": [{"subSystem": "pms", "key": key}], "firstName": "Ann", "lastName": "Lee"}})
}

/// `n` creates of one new patient key at once → one patient.
pub async fn patient<T: Target>(t: &T, key: &str, n: usize) -> Res<Race> {
    let patient_key = format!("race-{}", uuid::Uuid::new_v4().simple());
    let req = Req::new("POST", "/embeddable/consultation/create")
        .key(key)
        .json(&patient_body(&patient_key));
    let answers = t.all("consultation-create", vec![req.clone(); n]).await?;
    let mut r = Race::new(
        format!("{n} concurrent creates of one new patient key"),
        t.label(),
        &answers,
    );
    r.only(&[200, 409]);
    let mut ids: BTreeSet<String> = answers
        .iter()
        .filter(|a| a.ok())
        .filter_map(|a| a.str("patientId"))
        .collect();
    // After the race, the key names the same patient.
    let after = t.one(req).await?;
    r.expect(
        after.ok(),
        format!("a create after the race: {}", after.status),
    );
    if let Some(id) = after.str("patientId") {
        ids.insert(id);
    }
    r.winners = ids.len();
    r.expect(
        ids.len() == 1,
        format!("{} patients for one key: {ids:?}", ids.len()),
    );
    Ok(r)
}

/// A launch URL's path (without the token) and its token.
pub fn launch_of(url: &str) -> Option<(String, String)> {
    let path = url
        .find("/en/")
        .or_else(|| url.find("/fr/"))
        .map(|i| &url[i..])?;
    let (path, token) = path.split_once("?session=")?;
    Some((path.to_owned(), token.to_owned()))
}

/// A redemption, as the entry shell's script posts it, by the page of `nonce`.
pub fn redeem(path: &str, token: &str, nonce: &str) -> Req {
    Req::new("POST", path).form(&[("launch", token), ("nonce", nonce)])
}

pub fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `n` redemptions of one launch token at once → one.
pub async fn redemption<T: Target>(t: &T, key: &str, n: usize) -> Res<Race> {
    let created = t
        .one(
            Req::new("POST", "/embeddable/consultation/create")
                .key(key)
                .json(&patient_body("race-launch")),
        )
        .await?;
    let url = created.str("iframeUrl").ok_or("no iframeUrl")?;
    let (path, token) = launch_of(&url).ok_or("no launch token in the URL")?;
    let reqs = (0..n).map(|_| redeem(&path, &token, &nonce())).collect();
    let answers = t.all("embed-pages", reqs).await?;
    let mut r = Race::new(
        format!("{n} concurrent redemptions of one launch token"),
        t.label(),
        &answers,
    );
    r.only(&[200, 410]);
    r.winners = answers.iter().filter(|a| a.status == 200).count();
    r.expect(
        r.winners == 1,
        format!("{} redemptions succeeded", r.winners),
    );
    let again = t.one(redeem(&path, &token, &nonce())).await?;
    r.expect(
        again.status == 410,
        format!("a redemption after the race: {}", again.status),
    );
    Ok(r)
}

/// A patient's token (`POST /v2/patients/sso`).
pub async fn sso<T: Target>(t: &T, key: &str, patient: &str) -> Res<String> {
    let r = t
        .one(Req::new("POST", "/v2/patients/sso").key(key).json(&json!({"patient": {"keys": [{"subSystem": "portal", "key": patient}], "firstName": "Ana", "lastName": "Lopez"}})))
        .await?;
    r.json()["token"]["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("sso: {} {}", r.status, r.body).into())
}

/// A scheduled intake of the patient of `token`.
pub async fn intake<T: Target>(t: &T, token: &str) -> Res<String> {
    let r = t
        .one(Req::new("POST", "/v2/intakes").bearer(token).json(&json!({"reasonForVisit": "Sore throat", "type": "SCHEDULED", "roomCode": "clinic", "concerns": [{"text": "fever", "primary": true}]})))
        .await?;
    r.str("intakeId")
        .ok_or_else(|| format!("intake: {} {}", r.status, r.body).into())
}

pub fn booking(token: &str, intake: &str, provider: &str, start: &str) -> Req {
    Req::new("POST", "/v2/visits")
        .bearer(token)
        .json(&json!({"intakeId": intake, "providerId": provider, "start": start, "duration": 30}))
}

/// The start of a free 30-minute slot: `day` days from now, `half_hours`
/// half hours after 02:00 UTC (the demo providers take every slot).
pub fn slot(day: i64, half_hours: i64) -> String {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let days = now_s / 86_400 + day;
    let secs = 2 * 3600 + half_hours * 1800;
    let (y, m, d) = civil(days + secs / 86_400);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:00Z",
        s / 3600,
        (s % 3600) / 60
    )
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `n` bookings of one slot at once (each with its own intake) → one.
pub async fn bookings<T: Target>(t: &T, key: &str, n: usize, day: i64) -> Res<Race> {
    let token = sso(t, key, &format!("race-{}", uuid::Uuid::new_v4().simple())).await?;
    let mut intakes = Vec::with_capacity(n);
    for _ in 0..n {
        intakes.push(intake(t, &token).await?);
    }
    let start = slot(day, 0);
    let reqs = intakes
        .iter()
        .map(|i| booking(&token, i, "dr-martin", &start))
        .collect();
    let answers = t.all("visits", reqs).await?;
    let mut r = Race::new(
        format!("{n} concurrent bookings of one slot"),
        t.label(),
        &answers,
    );
    r.only(&[201, 409]);
    r.winners = answers.iter().filter(|a| a.status == 201).count();
    r.expect(r.winners == 1, format!("{} bookings succeeded", r.winners));
    Ok(r)
}
