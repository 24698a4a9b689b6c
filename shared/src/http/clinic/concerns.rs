//! The concerns catalogue: `GET /v2/concerns?kind=primary|secondary` (the
//! bundled concerns and the franchise's own, FR/EN labels) and
//! `POST /v2/concerns` (the API key: one of the franchise's own). Served
//! by the `intakes` router: the catalogue is what an intake is filled
//! from, read by the same callers at the same moment.

use axum::Router;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{CONCERNS, Clinic, ClinicJson};
use crate::app::AppState;
use crate::domain::clinic::participant::{CONCERN_CODE_RULE, is_concern_code};
use crate::domain::clinic::{CatalogueConcern, ConcernKind};
use crate::error::{Error, Result};
use crate::http::extract::QueryParams;
use crate::http::reply::json_response;
use crate::http::wire::Fields;
use crate::services::clinic::concerns;

pub fn routes() -> Router<AppState> {
    Router::new().route(CONCERNS, get(list).post(add))
}

fn concern(c: &CatalogueConcern) -> Value {
    json!({
        "code": c.code,
        "kind": c.kind,
        "label": {"fr": c.fr, "en": c.en},
        "custom": c.custom,
    })
}

async fn list(c: Clinic, RawQuery(q): RawQuery) -> Result<Response> {
    let q = QueryParams::parse(q.as_deref())?;
    let kind = q
        .get("kind")?
        .map(|k| {
            ConcernKind::parse(k).ok_or_else(|| Error::invalid("kind must be primary or secondary"))
        })
        .transpose()?;
    let list = concerns::catalogue(&c.app, c.actor.tenant(), kind).await?;
    let items: Vec<_> = list.iter().map(concern).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"items": items, "other": {"code": null, "freeText": true}}),
    ))
}

async fn add(ClinicJson { clinic: c, body }: ClinicJson) -> Result<Response> {
    let f = Fields::new("concern", &body);
    let code = f.required(
        "code",
        f.opt_parsed(
            "code",
            40,
            |s| is_concern_code(s).then(|| s.to_owned()),
            CONCERN_CODE_RULE,
        )?,
    )?;
    let kind = f.opt_parsed(
        "kind",
        20,
        ConcernKind::parse,
        "must be primary or secondary",
    )?;
    let Some(Value::Object(label)) = body.get("label") else {
        return Err(f.error("label", "must be {fr, en}"));
    };
    let l = Fields::new("concern label", label);
    let c2 = CatalogueConcern {
        code,
        kind: f.required("kind", kind)?,
        fr: l.required("fr", l.opt_str("fr", 100)?)?,
        en: l.required("en", l.opt_str("en", 100)?)?,
        custom: true,
    };
    let added = concerns::add(&c.app, &c.actor, c2).await?;
    Ok(json_response(StatusCode::CREATED, &concern(&added)))
}
