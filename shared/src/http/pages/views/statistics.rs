//! The statistics view: consultations and follow-ups counted per status.

use super::{Built, Ctx};
use crate::error::Result;
use crate::http::pages::templates::{Body, CountRow, CountTable, StatisticsModel};
use crate::http::pages::texts::Label;
use crate::services::lists;

fn table(id: &'static str, caption: &'static str, rows: Vec<CountRow>) -> CountTable {
    let total = rows.iter().map(|r| r.count).sum();
    let max = rows.iter().map(|r| r.count).max().unwrap_or(0).max(1);
    CountTable {
        id,
        caption,
        rows,
        total,
        max,
    }
}

fn row(status: &'static str, label: impl Label, ctx: &Ctx<'_>, count: usize) -> CountRow {
    CountRow {
        status: status.to_owned(),
        label: ctx.label(label),
        count,
    }
}

pub(super) async fn statistics(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let consultations = lists::consultation_counts(ctx.app, ctx.tenant)
        .await?
        .into_iter()
        .map(|(s, n)| row(s.as_str(), s, ctx, n))
        .collect();
    let followups = lists::followup_counts(ctx.app, ctx.tenant)
        .await?
        .into_iter()
        .map(|(s, n)| row(s.as_str(), s, ctx, n))
        .collect();
    Ok(Built::ok(Body::Statistics(StatisticsModel {
        tables: vec![
            table(
                "stats-consultations",
                t.consultations_by_status,
                consultations,
            ),
            table("stats-followups", t.followups_by_status, followups),
        ],
    })))
}
