//! The opening hours and availability formats of the patient side, read
//! into domain values with messages that name the field — shared by the
//! patient side's API (`http/clinic/`) and the provider's pages
//! (`http/pages/`), which may not import each other.

use serde_json::{Map, Value};

use crate::domain::clinic::{
    ClockTime, DatedHours, LocalDate, RoomCode, Span, Weekday, WeeklyHours,
};
use crate::error::{Error, Result};
use crate::http::wire::Fields;

pub fn object<'a>(f: &Fields<'a>, field: &str) -> Result<Option<&'a Map<String, Value>>> {
    match f.map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(f.error(field, "must be a JSON object")),
    }
}

pub fn array<'a>(f: &Fields<'a>, field: &str) -> Result<Option<&'a Vec<Value>>> {
    match f.map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(_) => Err(f.error(field, "must be a list")),
    }
}

fn spans(label: &str, raw: &[Value]) -> Result<Vec<Span>> {
    if raw.len() > 12 {
        return Err(Error::invalid(format!(
            "Invalid {label}: at most 12 spans a day"
        )));
    }
    let mut out = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        let Value::Object(m) = v else {
            return Err(Error::invalid(format!(
                "Invalid {label}[{i}]: must be {{start, end}}"
            )));
        };
        let l = format!("{label}[{i}]");
        let sf = Fields::new(&l, m);
        let start = sf.opt_parsed("start", 5, ClockTime::parse, ClockTime::RULE)?;
        let end = sf.opt_parsed("end", 5, ClockTime::parse, ClockTime::RULE)?;
        let span = Span::new(sf.required("start", start)?, sf.required("end", end)?)
            .ok_or_else(|| sf.error("end", "must be after start"))?;
        out.push(span);
    }
    Ok(out)
}

/// `{mon: [{start, end}], …}`: a day not named is closed.
pub fn weekly_hours(label: &str, m: &Map<String, Value>) -> Result<WeeklyHours> {
    let mut hours = WeeklyHours::default();
    for (day, v) in m {
        let d = Weekday::parse(day).ok_or_else(|| {
            Error::invalid(format!(
                "Invalid {label}: {day} is not mon, tue, wed, thu, fri, sat or sun"
            ))
        })?;
        let Value::Array(list) = v else {
            return Err(Error::invalid(format!(
                "Invalid {label}: {day} must be a list of spans"
            )));
        };
        hours.0.insert(d, spans(&format!("{label} {day}"), list)?);
    }
    Ok(hours)
}

/// An availability's body: `roomCode`, `weekly`, `exceptions`.
pub fn availability_input(
    body: &Map<String, Value>,
) -> Result<(RoomCode, WeeklyHours, Vec<DatedHours>)> {
    let f = Fields::new("availability", body);
    let code = f.opt_parsed("roomCode", 40, RoomCode::parse, RoomCode::RULE)?;
    let code = f.required("roomCode", code)?;
    let weekly = match object(&f, "weekly")? {
        Some(m) => weekly_hours("availability weekly", m)?,
        None => return Err(f.error("weekly", "is required")),
    };
    let mut exceptions = Vec::new();
    for (i, v) in array(&f, "exceptions")?.into_iter().flatten().enumerate() {
        let Value::Object(m) = v else {
            return Err(f.error(&format!("exceptions[{i}]"), "must be {date, spans}"));
        };
        let l = format!("availability exceptions[{i}]");
        let ef = Fields::new(&l, m);
        let date = ef.opt_parsed("date", 10, LocalDate::parse, LocalDate::RULE)?;
        let list = array(&ef, "spans")?.map(Vec::as_slice).unwrap_or(&[]);
        exceptions.push(DatedHours {
            date: ef.required("date", date)?,
            spans: spans(&format!("{l} spans"), list)?,
        });
    }
    if exceptions.len() > crate::domain::clinic::availability::MAX_EXCEPTIONS {
        return Err(f.error("exceptions", "must hold at most 200 dates"));
    }
    Ok((code, weekly, exceptions))
}
