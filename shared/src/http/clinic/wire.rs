//! The patient side's request formats, read into domain values with
//! messages that name the field: instants (ISO 8601), rooms and their
//! hours, availability, intakes.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::clinic::intake::{MAX_CONCERNS, MAX_REASON};
use crate::domain::clinic::{Concern, Durations, Localized, RoomCode, VisitType};
use crate::domain::{Language, UserId};
use crate::error::{Error, Result};
use crate::http::hours::{array, object};
pub use crate::http::hours::{availability_input, weekly_hours};
use crate::http::wire::Fields;
use crate::services::clinic::rooms::{ProviderInput, RoomInput};

/// An ISO 8601 instant with its offset (`2026-01-01T09:00:00-05:00`), as
/// epoch milliseconds.
pub fn instant(name: &str, raw: &str) -> Result<i64> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        .ok_or_else(|| {
            Error::invalid(format!(
                "{name} must be an ISO 8601 instant with an offset, e.g. 2026-01-01T09:00:00Z"
            ))
        })
}

/// A JSON number that is a whole number, `30` or `30.0` alike (JSON
/// Schema's `integer`; serde_json reads `30.0` as a float).
pub fn whole_number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// `{fr, en}`, both required.
fn localized(f: &Fields, field: &str) -> Result<Option<Localized>> {
    let Some(m) = object(f, field)? else {
        return Ok(None);
    };
    let label = format!("{} {field}", f.label);
    let lf = Fields::new(&label, m);
    // Only the catalogue's languages: a text in another (`de`, `fr-CA`)
    // would be dropped without a word.
    if let Some(other) = m.keys().find(|k| !matches!(k.as_str(), "fr" | "en")) {
        return Err(lf.error(other, "is not a language of embedcare (fr, en)"));
    }
    Ok(Some(Localized {
        fr: lf.required("fr", lf.opt_str("fr", 200)?)?,
        en: lf.required("en", lf.opt_str("en", 200)?)?,
    }))
}

fn visit_types(f: &Fields, field: &str) -> Result<Option<Vec<VisitType>>> {
    let Some(list) = array(f, field)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for v in list {
        let t = v
            .as_str()
            .and_then(VisitType::parse)
            .ok_or_else(|| f.error(field, "must list WALKIN, SCHEDULED or ECONSULT"))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(Some(out))
}

fn user_ids(f: &Fields, field: &str) -> Result<Option<Vec<UserId>>> {
    let Some(list) = array(f, field)? else {
        return Ok(None);
    };
    if list.len() > 50 {
        return Err(f.error(field, "must hold at most 50 ids"));
    }
    let mut out = Vec::new();
    for v in list {
        let id = v
            .as_str()
            .and_then(UserId::parse)
            .ok_or_else(|| f.error(field, "must list user ids"))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(Some(out))
}

fn durations(f: &Fields, field: &str) -> Result<Option<Durations>> {
    let Some(m) = object(f, field)? else {
        return Ok(None);
    };
    let mut d = Durations::default();
    for (name, slot) in [
        ("walkin", &mut d.walkin),
        ("scheduled", &mut d.scheduled),
        ("econsult", &mut d.econsult),
    ] {
        match m.get(name) {
            None | Some(Value::Null) => {}
            Some(v) => {
                let n = whole_number(v)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| Durations::valid(*n))
                    .ok_or_else(|| f.error(&format!("{field}.{name}"), Durations::RULE))?;
                *slot = n;
            }
        }
    }
    Ok(Some(d))
}

/// A room's body: its code (at creation) and what it sets.
pub fn room_input(
    body: &Map<String, Value>,
    creating: bool,
) -> Result<(Option<RoomCode>, RoomInput)> {
    let f = Fields::new("room", body);
    let code = if creating {
        let c = f.opt_parsed("code", 40, RoomCode::parse, RoomCode::RULE)?;
        Some(f.required("code", c)?)
    } else {
        None
    };
    let hours = match body.get("hours") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::Object(m)) => Some(Some(weekly_hours("room hours", m)?)),
        Some(_) => return Err(f.error("hours", "must be a JSON object or null")),
    };
    let closed_message = match body.get("closedMessage") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(localized(&f, "closedMessage")?),
    };
    let one_time_links = match body.get("oneTimeLinks") {
        None => None,
        Some(_) => Some(f.opt_bool("oneTimeLinks")?),
    };
    let related_person_invites = match body.get("relatedPersonInvites") {
        None => None,
        Some(_) => Some(f.opt_bool("relatedPersonInvites")?),
    };
    Ok((
        code,
        RoomInput {
            name: localized(&f, "name")?,
            provider_ids: user_ids(&f, "providerIds")?,
            visit_types: visit_types(&f, "visitTypes")?,
            durations: durations(&f, "durations")?,
            hours,
            closed_message,
            one_time_links,
            related_person_invites,
        },
    ))
}

pub fn provider_input(body: &Map<String, Value>) -> Result<ProviderInput> {
    let f = Fields::new("provider", body);
    let languages = match array(&f, "languages")? {
        None => None,
        Some(list) => {
            let mut out = Vec::new();
            for v in list {
                let l = v
                    .as_str()
                    .and_then(Language::parse)
                    .ok_or_else(|| f.error("languages", "must list FR or EN"))?;
                if !out.contains(&l) {
                    out.push(l);
                }
            }
            Some(out)
        }
    };
    Ok(ProviderInput {
        display_name: f.opt_str("displayName", 100)?,
        title: f.opt_str("title", 100)?,
        languages,
    })
}

/// The intake's `concerns`: `[{code?, text, primary}]`.
pub fn concerns(f: &Fields) -> Result<Option<Vec<Concern>>> {
    let Some(list) = array(f, "concerns")? else {
        return Ok(None);
    };
    if list.len() > MAX_CONCERNS {
        return Err(f.error("concerns", "must hold at most 20 concerns"));
    }
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let Value::Object(m) = v else {
            return Err(f.error(&format!("concerns[{i}]"), "must be {code?, text, primary}"));
        };
        let l = format!("intake concerns[{i}]");
        let cf = Fields::new(&l, m);
        out.push(Concern {
            code: cf.opt_str("code", 64)?,
            text: cf.required("text", cf.opt_str("text", MAX_REASON)?)?,
            primary: cf.opt_bool("primary")?,
        });
    }
    Ok(Some(out))
}

/// The intake's `reasonForVisit`.
pub fn reason(f: &Fields) -> Result<Option<String>> {
    f.opt_text("reasonForVisit", MAX_REASON)
}
