//! The visits statistics view (`/embeddable/visits/statistics`, a staff
//! user's launch or the franchise's): the statistics of
//! `services::clinic::statistics` over a range of days of the franchise
//! (`?from=&to=` as ISO dates or instants, the last 30 days by default;
//! `?roomCode=` for one room), drawn as SVG bars by the server — counts by
//! status and by type, waiting and visit times — and the top concerns.

use axum::http::StatusCode;

use super::{Built, Ctx};
use crate::domain::View;
use crate::domain::clinic::hours::local;
use crate::domain::clinic::{VisitStatus, VisitType};
use crate::error::{Error, Result};
use crate::http::pages::templates::{Body, CountRow, NavLink, SvgBar, SvgChart, VisitStatsModel};
use crate::services::clinic::concerns;
use crate::services::clinic::statistics::{self, OTHER, Times, VisitStatistics};

const DAY_MS: i64 = 86_400_000;
/// The chart's geometry: bars start at `BAR_X` and are at most `BAR_MAX`
/// long; a row is `ROW` high.
const BAR_X: usize = 160;
const BAR_MAX: usize = 260;
const ROW: usize = 24;

/// The words of the view (English, French).
struct Words {
    fr: bool,
}

impl Words {
    fn w(&self, en: &'static str, fr: &'static str) -> &'static str {
        if self.fr { fr } else { en }
    }

    fn status(&self, s: VisitStatus) -> &'static str {
        use VisitStatus::*;
        match s {
            Scheduled => self.w("Scheduled", "Planifiée"),
            Waiting => self.w("Waiting", "En attente"),
            PendingAccept => self.w("To accept", "À accepter"),
            InProgress => self.w("In progress", "En cours"),
            Completed => self.w("Completed", "Terminée"),
            Cancelled => self.w("Cancelled", "Annulée"),
            NoShow => self.w("No-show", "Absence"),
            Expired => self.w("Expired", "Expirée"),
        }
    }

    fn kind(&self, t: VisitType) -> &'static str {
        match t {
            VisitType::Walkin => self.w("Walk-in", "Sans rendez-vous"),
            VisitType::Scheduled => self.w("Scheduled", "Sur rendez-vous"),
            VisitType::Econsult => self.w("eConsult", "eConsultation"),
        }
    }
}

/// `3 min 20 s`, `45 s`, `—`.
fn duration(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "—".to_owned();
    };
    let s = (ms + 500) / 1000;
    match (s / 60, s % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// A chart of `(key, label, amount, shown)` bars, scaled to the largest.
fn chart(
    id: &'static str,
    title: &'static str,
    rows: Vec<(String, &str, i64, String)>,
) -> SvgChart {
    let max = rows.iter().map(|r| r.2).max().unwrap_or(0).max(1);
    let bars = rows
        .into_iter()
        .enumerate()
        .map(|(i, (key, label, amount, value))| {
            let width = usize::try_from(amount.max(0) * BAR_MAX as i64 / max).unwrap_or(0);
            let y = 4 + i * ROW;
            SvgBar {
                key,
                label: label.to_owned(),
                value,
                y,
                text_y: y + 13,
                width,
                value_x: BAR_X + width + 6,
            }
        })
        .collect::<Vec<_>>();
    SvgChart {
        id,
        title,
        height: 8 + bars.len() * ROW,
        bars,
    }
}

fn times_rows<'a>(w: &'a Words, s: &VisitStatistics) -> Vec<(String, &'a str, i64, String)> {
    let of = |key: &str, label, t: &Times, p90: bool| {
        let ms = if p90 { t.p90_ms } else { t.median_ms };
        (key.to_owned(), label, ms.unwrap_or(0), duration(ms))
    };
    vec![
        of(
            "waiting-median",
            w.w("Waiting, median", "Attente, médiane"),
            &s.waiting,
            false,
        ),
        of(
            "waiting-p90",
            w.w("Waiting, 90th percentile", "Attente, 90e centile"),
            &s.waiting,
            true,
        ),
        of(
            "visit-median",
            w.w("Visit, median", "Visite, médiane"),
            &s.visit,
            false,
        ),
        of(
            "visit-p90",
            w.w("Visit, 90th percentile", "Visite, 90e centile"),
            &s.visit,
            true,
        ),
    ]
}

/// The range asked for, or the last 30 days (the franchise's days).
fn range(ctx: &Ctx<'_>) -> Result<(i64, i64)> {
    let zone = &ctx.franchise.time_zone;
    let bad = || Error::invalid("from and to must be ISO dates or RFC 3339 instants");
    let now = ctx.app.now_ms();
    let today = local(now, zone).0.to_string();
    let from = match &ctx.asked.from {
        Some(f) => statistics::bound(f, zone, false).ok_or_else(bad)?,
        None => {
            let first = local(now - 29 * DAY_MS, zone).0.to_string();
            statistics::bound(&first, zone, false).ok_or_else(bad)?
        }
    };
    let to = match &ctx.asked.to {
        Some(t) => statistics::bound(t, zone, true).ok_or_else(bad)?,
        None => statistics::bound(&today, zone, true).ok_or_else(bad)?,
    };
    statistics::range(from, to)
}

/// The ranges offered: the last 7, 30, 90 and 365 days.
fn ranges(ctx: &Ctx<'_>, w: &Words, current: (i64, i64)) -> Vec<NavLink> {
    let zone = &ctx.franchise.time_zone;
    let now = ctx.app.now_ms();
    let to = local(now, zone).0.to_string();
    let room = ctx.asked.room_code.as_ref().map(ToString::to_string);
    [
        (7, w.w("7 days", "7 jours")),
        (30, w.w("30 days", "30 jours")),
        (90, w.w("90 days", "90 jours")),
        (365, w.w("365 days", "365 jours")),
    ]
    .into_iter()
    .map(|(days, label)| {
        let from = local(now - (days - 1) * DAY_MS, zone).0.to_string();
        let mut params = vec![("from", from.as_str()), ("to", to.as_str())];
        if let Some(r) = &room {
            params.push(("roomCode", r.as_str()));
        }
        let is = statistics::bound(&from, zone, false) == Some(current.0)
            && statistics::bound(&to, zone, true) == Some(current.1);
        NavLink::new(ctx.href(View::VisitsStatistics, &params), label, is)
    })
    .collect()
}

pub(super) async fn statistics(ctx: &Ctx<'_>) -> Result<Built> {
    let w = Words {
        fr: ctx.t.lang == "fr",
    };
    let (from, to) = match range(ctx) {
        Ok(r) => r,
        Err(Error::Invalid(message)) => {
            let links = ranges(ctx, &w, (0, 0));
            return Ok(Built::message(
                "warning",
                w.w(
                    "These dates cannot be shown",
                    "Ces dates ne peuvent pas être affichées",
                ),
                &message,
                links,
            )
            .with_status(StatusCode::BAD_REQUEST));
        }
        Err(e) => return Err(e),
    };
    let tenant = ctx.tenant;
    let s = statistics::visits(ctx.app, tenant, from, to, ctx.asked.room_code.as_ref()).await?;
    let zone = &ctx.franchise.time_zone;
    let status_rows = s
        .by_status
        .iter()
        .map(|(st, n)| {
            (
                st.as_str().to_owned(),
                w.status(*st),
                *n as i64,
                n.to_string(),
            )
        })
        .collect();
    let type_rows = s
        .by_type
        .iter()
        .map(|(ty, n)| {
            (
                ty.as_str().to_owned(),
                w.kind(*ty),
                *n as i64,
                n.to_string(),
            )
        })
        .collect();
    let charts = vec![
        chart(
            "vstats-status",
            w.w("Visits by status", "Visites par statut"),
            status_rows,
        ),
        chart(
            "vstats-type",
            w.w("Visits by type", "Visites par type"),
            type_rows,
        ),
        chart(
            "vstats-times",
            w.w("Waiting and visit times", "Temps d'attente et de visite"),
            times_rows(&w, &s),
        ),
    ];
    let catalogue = concerns::catalogue(ctx.app, tenant, None).await?;
    let concerns = s
        .top_concerns
        .iter()
        .map(|(code, n)| {
            let label = match catalogue.iter().find(|c| &c.code == code) {
                Some(c) if w.fr => c.fr.clone(),
                Some(c) => c.en.clone(),
                None if code == OTHER => w.w("Other (free text)", "Autre (texte libre)").to_owned(),
                None => code.clone(),
            };
            CountRow {
                status: code.clone(),
                label,
                count: *n,
            }
        })
        .collect();
    let mut range = format!("{} – {}", local(from, zone).0, local(to, zone).0);
    if let Some(r) = &ctx.asked.room_code {
        range.push_str(&format!(" · {r}"));
    }
    Ok(Built::ok(Body::VisitStatistics(Box::new(
        VisitStatsModel {
            range,
            total_label: w.w("Visits", "Visites"),
            total: s.total,
            ranges: ranges(ctx, &w, (from, to)),
            charts,
            concerns_title: w.w("Top concerns", "Motifs les plus fréquents"),
            concern_label: w.w("Concern", "Motif"),
            concerns_empty: w.w("No concern recorded.", "Aucun motif enregistré."),
            concerns,
        },
    ))))
}
