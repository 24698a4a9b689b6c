//! The administration views: the franchise's management page, its
//! onboarding (terms to accept) and its offboarding.

use super::{Built, Ctx, when};
use crate::domain::{Franchise, FranchiseStatus, Language, View};
use crate::error::Result;
use crate::http::pages::templates::{Body, Fact, FranchiseModel, NavLink};
use crate::services::admin;

/// The franchise as stored now (not the cached copy: these pages change it).
async fn fresh(ctx: &Ctx<'_>) -> Result<Franchise> {
    admin::franchise(ctx.app, ctx.tenant.as_str()).await
}

pub(super) async fn management(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let f = fresh(ctx).await?;
    let unknown = || t.unknown.to_owned();
    let facts = vec![
        Fact::new(t.name, f.name.clone()),
        Fact::new(t.tenant_key, f.tenant_key.as_str()),
        Fact::new(
            t.language,
            match f.language {
                Language::Fr => "Français (FR)",
                Language::En => "English (EN)",
            },
        ),
        Fact::new(t.status, ctx.label(f.status)),
        Fact::new(
            t.terms_accepted_by,
            f.terms_accepted_by
                .as_ref()
                .map_or_else(unknown, |u| u.to_string()),
        ),
        Fact::new(
            t.terms_accepted_at,
            f.terms_accepted_at.map_or_else(unknown, when),
        ),
    ];
    Ok(Built::ok(Body::Franchise(FranchiseModel {
        facts,
        origins: f
            .allowed_origins
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect(),
    })))
}

fn management_link(ctx: &Ctx<'_>) -> Vec<NavLink> {
    let view = View::FranchiseManagement;
    vec![ctx.link(view, &[], &ctx.label(view))]
}

fn offboarded(ctx: &Ctx<'_>) -> Built {
    let t = ctx.t;
    Built::message(
        "warning",
        t.offboarded_title,
        t.offboarded_body,
        management_link(ctx),
    )
}

pub(super) async fn onboarding(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let f = fresh(ctx).await?;
    Ok(match f.status {
        FranchiseStatus::Active => Built::ok(Body::Onboarding),
        FranchiseStatus::Onboarded => {
            let body = match (&f.terms_accepted_by, f.terms_accepted_at) {
                (Some(by), Some(at)) => format!(
                    "{} ({} {by}, {})",
                    t.onboarded_body,
                    t.terms_accepted_by.to_lowercase(),
                    when(at)
                ),
                _ => t.onboarded_body.to_owned(),
            };
            Built::message("success", t.onboarded_title, &body, management_link(ctx))
        }
        FranchiseStatus::Offboarded => offboarded(ctx),
    })
}

pub(super) async fn offboarding(ctx: &Ctx<'_>) -> Result<Built> {
    let f = fresh(ctx).await?;
    Ok(match f.status {
        FranchiseStatus::Offboarded => offboarded(ctx),
        _ => Built::ok(Body::Offboarding),
    })
}
