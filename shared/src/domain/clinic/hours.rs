//! Local time: a franchise's IANA time zone, times of day, weekly opening
//! hours and dated days, and the conversions between them and instants
//! (epoch milliseconds). The calendar grid of bookings is 15-minute cells.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// The length of one cell of a provider's calendar, in minutes.
pub const CELL_MINUTES: i64 = 15;
/// The same, in milliseconds.
pub const CELL_MS: i64 = CELL_MINUTES * 60 * 1000;
const DAY_MINUTES: u16 = 24 * 60;

string_value!(
    /// An IANA time zone known to the bundled database (`America/Toronto`).
    TimeZoneName,
    "time zone"
);

impl TimeZoneName {
    /// Where a franchise is when nobody said otherwise.
    pub const DEFAULT: &str = "America/Toronto";

    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=64).contains(&s.len()) && TimeZone::get(s).is_ok();
        ok.then(|| Self(s.to_owned()))
    }

    pub fn default_zone() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// The zone (UTC, should the database ever lose a name it had).
    pub fn zone(&self) -> TimeZone {
        TimeZone::get(&self.0).unwrap_or(TimeZone::UTC)
    }
}

named_enum! {
    /// A day of the week, as opening hours name it.
    Weekday {
        Mon = "mon",
        Tue = "tue",
        Wed = "wed",
        Thu = "thu",
        Fri = "fri",
        Sat = "sat",
        Sun = "sun",
    }
}

impl PartialOrd for Weekday {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Weekday {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

impl Weekday {
    fn of(date: Date) -> Self {
        let n = date.weekday().to_monday_zero_offset();
        Self::ALL[usize::try_from(n).unwrap_or(0) % 7]
    }
}

/// A time of day, `HH:MM` from `00:00` to `24:00` (the end of a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime(u16);

impl ClockTime {
    pub const RULE: &str = "must be a time HH:MM from 00:00 to 24:00";

    pub fn parse(s: &str) -> Option<Self> {
        let (h, m) = s.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        let minutes = h * 60 + m;
        (m < 60 && minutes <= DAY_MINUTES).then_some(Self(minutes))
    }

    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl TryFrom<String> for ClockTime {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| "invalid time of day".to_owned())
    }
}

impl From<ClockTime> for String {
    fn from(t: ClockTime) -> String {
        format!("{:02}:{:02}", t.0 / 60, t.0 % 60)
    }
}

/// `start` to `end` of one day (`start` < `end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: ClockTime,
    pub end: ClockTime,
}

impl Span {
    pub fn new(start: ClockTime, end: ClockTime) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }

    /// The whole day.
    pub fn all_day() -> Self {
        Self {
            start: ClockTime(0),
            end: ClockTime(DAY_MINUTES),
        }
    }

    fn contains(&self, minute: u16) -> bool {
        self.start.0 <= minute && minute < self.end.0
    }
}

/// A calendar date `YYYY-MM-DD` in the franchise's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalDate(Date);

impl LocalDate {
    pub const RULE: &str = "must be a date written YYYY-MM-DD";

    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 10 {
            return None;
        }
        s.parse::<Date>().ok().map(Self)
    }
}

impl TryFrom<String> for LocalDate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| "invalid date".to_owned())
    }
}

impl From<LocalDate> for String {
    fn from(d: LocalDate) -> String {
        d.0.to_string()
    }
}

/// Opening hours by day of the week; a day that is not named is closed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WeeklyHours(pub BTreeMap<Weekday, Vec<Span>>);

impl WeeklyHours {
    /// Every day, all day.
    pub fn always() -> Self {
        Self(
            Weekday::ALL
                .into_iter()
                .map(|d| (d, vec![Span::all_day()]))
                .collect(),
        )
    }

    pub fn spans(&self, day: Weekday) -> &[Span] {
        self.0.get(&day).map_or(&[], Vec::as_slice)
    }

    /// Whether the instant `ms` falls in these hours, in `zone`.
    pub fn contains(&self, ms: i64, zone: &TimeZoneName) -> bool {
        let (date, minute) = local(ms, zone);
        self.spans(Weekday::of(date))
            .iter()
            .any(|s| s.contains(minute))
    }
}

/// The local date and minute of the day of an instant.
pub fn local(ms: i64, zone: &TimeZoneName) -> (Date, u16) {
    let ts = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let z = ts.to_zoned_datetime(zone.zone());
    let minute = u16::try_from(i32::from(z.hour()) * 60 + i32::from(z.minute())).unwrap_or(0);
    (z.date(), minute)
}

/// The instant of `time` on `date` in `zone` (a time skipped by a change
/// of offset resolves as the zone's rules say, later).
fn instant(date: Date, time: ClockTime, zone: &TimeZoneName) -> Option<i64> {
    let (date, minutes) = if time.0 == DAY_MINUTES {
        (date.tomorrow().ok()?, 0)
    } else {
        (date, time.0)
    };
    let h = i8::try_from(minutes / 60).ok()?;
    let m = i8::try_from(minutes % 60).ok()?;
    let z = date.at(h, m, 0, 0).to_zoned_datetime(zone.zone()).ok()?;
    Some(z.timestamp().as_millisecond())
}

/// The windows (start, end instants) that the spans of each local day
/// give, for the days from `from` to `to`; `spans_on` says a day's spans.
pub fn windows<'a>(
    from: i64,
    to: i64,
    zone: &TimeZoneName,
    spans_on: impl Fn(Date, Weekday) -> &'a [Span],
) -> Vec<(i64, i64)> {
    let (mut day, _) = local(from, zone);
    let (last, _) = local(to, zone);
    let mut out = Vec::new();
    while day <= last {
        for span in spans_on(day, Weekday::of(day)) {
            if let (Some(a), Some(b)) =
                (instant(day, span.start, zone), instant(day, span.end, zone))
            {
                out.push((a.max(from), b.min(to)));
            }
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out.retain(|(a, b)| a < b);
    out
}

impl LocalDate {
    pub(crate) fn date(self) -> Date {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_zones() {
        assert_eq!(ClockTime::parse("09:30").unwrap().minutes(), 570);
        assert_eq!(ClockTime::parse("24:00").unwrap().minutes(), 1440);
        for bad in ["24:01", "9:30", "09:60", "aa:bb", ""] {
            assert!(ClockTime::parse(bad).is_none(), "{bad}");
        }
        assert!(TimeZoneName::parse("America/Toronto").is_some());
        assert!(TimeZoneName::parse("Mars/Olympus").is_none());
        assert!(Span::new(ClockTime(60), ClockTime(60)).is_none());
    }

    #[test]
    fn hours_are_local() {
        let zone = TimeZoneName::parse("America/Toronto").unwrap();
        let mut hours = WeeklyHours::default();
        hours.0.insert(
            Weekday::Thu,
            vec![Span::new(ClockTime(9 * 60), ClockTime(17 * 60)).unwrap()],
        );
        // 2026-01-01 (a Thursday) 14:00 UTC is 09:00 in Toronto.
        let nine = 1_767_276_000_000;
        assert!(hours.contains(nine, &zone));
        assert!(!hours.contains(nine - 1, &zone));
        assert!(!hours.contains(nine + 8 * 3_600_000, &zone));
        let w = windows(nine - 86_400_000, nine + 86_400_000, &zone, |_, d| {
            hours.spans(d)
        });
        assert_eq!(w, vec![(nine, nine + 8 * 3_600_000)]);
        let always = WeeklyHours::always();
        assert!(always.contains(nine - 1, &zone));
    }
}
