//! The concerns catalogue (bilingual: the bundled one,
//! `shared/data/concerns.json`, and each franchise's own, added with its
//! API key) and a visit's intake (`PUT /v2/visits/{visitId}/intake`):
//! concerns from the catalogue or "other" as free text, exactly one of
//! them primary, and the health history. Health data: never in an event
//! or a log.

use super::Actor;
use super::rooms::{self, require_provider};
use super::visits::visit_for;
use crate::app::App;
use crate::domain::clinic::participant::bundled_concerns;
use crate::domain::clinic::{CatalogueConcern, Concern, ConcernKind, HealthHistory, Intake, Visit};
use crate::domain::{Language, TenantKey, VisitId};
use crate::error::{Error, Result};
use crate::store::clinic_items::{entities, intake_item};
use crate::store::encounter_items::{concern_item, concerns_query};
use crate::store::{Write, items, keys};

/// At most this many concerns of a franchise's own.
pub const MAX_CUSTOM: usize = 200;

/// The catalogue of a franchise: the bundled concerns, then its own, of
/// one kind when asked.
pub async fn catalogue(
    app: &App,
    tenant: &TenantKey,
    kind: Option<ConcernKind>,
) -> Result<Vec<CatalogueConcern>> {
    let page = app.store.query(&concerns_query(tenant)).await?;
    let own: Vec<CatalogueConcern> = entities(&page.items)?;
    Ok(bundled_concerns()
        .iter()
        .cloned()
        .chain(own)
        .filter(|c| kind.is_none_or(|k| c.kind == k))
        .collect())
}

/// `POST /v2/concerns` (the API key): a concern of the franchise's own;
/// a code the catalogue has already is a `409`.
pub async fn add(app: &App, actor: &Actor, mut c: CatalogueConcern) -> Result<CatalogueConcern> {
    if !matches!(actor, Actor::Vendor { .. }) {
        return Err(Error::forbidden("This endpoint needs the API key"));
    }
    let tenant = actor.tenant();
    let taken = || Error::conflict(format!("The concern {} exists already", c.code));
    if bundled_concerns().iter().any(|b| b.code == c.code) {
        return Err(taken());
    }
    let page = app.store.query(&concerns_query(tenant)).await?;
    if page.items.len() >= MAX_CUSTOM {
        return Err(Error::conflict(format!(
            "A franchise has at most {MAX_CUSTOM} concerns of its own"
        )));
    }
    c.custom = true;
    match app
        .store
        .write(items::put_new(concern_item(tenant, &c)?))
        .await
    {
        Ok(()) => Ok(c),
        Err(e) if e.is_condition_failure() => Err(taken()),
        Err(e) => Err(e.into()),
    }
}

/// A concern as given: a code of the catalogue, or free text ("other").
#[derive(Debug, Clone)]
pub struct ConcernInput {
    pub code: Option<String>,
    pub text: Option<String>,
    pub primary: bool,
}

/// The concerns checked against the catalogue: exactly one primary (of
/// the primary kind when it has a code); a code is known; a concern
/// without one has its text. The text of a coded one is its label in the
/// franchise's language unless given.
pub fn check_concerns(
    list: Vec<ConcernInput>,
    catalogue: &[CatalogueConcern],
    language: Language,
) -> Result<Vec<Concern>> {
    let primaries = list.iter().filter(|c| c.primary).count();
    if primaries != 1 {
        return Err(Error::invalid(format!(
            "Invalid intake: concerns must hold exactly one primary concern ({primaries} given)"
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, c) in list.into_iter().enumerate() {
        let bad = |what: &str| Error::invalid(format!("Invalid intake: concerns[{i}] {what}"));
        let text = match &c.code {
            Some(code) => {
                let known = catalogue
                    .iter()
                    .find(|k| &k.code == code)
                    .ok_or_else(|| bad("code is not in the concerns catalogue"))?;
                if c.primary && known.kind != ConcernKind::Primary {
                    return Err(bad("is primary but its code is a secondary concern"));
                }
                if out.iter().any(|o: &Concern| o.code.as_ref() == Some(code)) {
                    return Err(bad("repeats a code"));
                }
                c.text.unwrap_or_else(|| match language {
                    Language::Fr => known.fr.clone(),
                    Language::En => known.en.clone(),
                })
            }
            None => c
                .text
                .ok_or_else(|| bad("needs a code or a text (\"other\")"))?,
        };
        out.push(Concern {
            code: c.code,
            text,
            primary: c.primary,
        });
    }
    Ok(out)
}

/// `PUT /v2/visits/{visitId}/intake`: the visit's intake gets these
/// concerns and this health history, at the version read. The visit's
/// patient, a provider of its room or the API key; while the visit is
/// live.
pub async fn put_intake(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    concerns: Vec<ConcernInput>,
    health: HealthHistory,
) -> Result<(Visit, Intake)> {
    let v = visit_for(app, actor, id).await?;
    match actor {
        Actor::Guest { .. } => {
            return Err(Error::forbidden("A guest does not fill the intake"));
        }
        Actor::Provider { user, .. } => {
            let room = rooms::room(app, actor.tenant(), &v.room_code).await?;
            require_provider(app, &room, user).await?;
        }
        _ => {}
    }
    if !v.is_live() {
        return Err(Error::conflict("This visit has ended"));
    }
    let catalogue = catalogue(app, actor.tenant(), None).await?;
    let concerns = check_concerns(concerns, &catalogue, actor.franchise().language)?;
    let mut i: Intake = crate::services::get(
        app,
        &keys::intake_key(&v.tenant_key, &v.intake_id),
        super::intakes::INTAKE_NOT_FOUND,
    )
    .await?;
    let expected = i.version;
    i.concerns = concerns;
    i.health = Some(health);
    i.version += 1;
    i.updated_at = app.now_ms();
    let write = Write::Put {
        item: intake_item(&i)?,
        cond: Some(items::at_version(expected)),
    };
    // The visit's statistics row takes the concerns, as of the visit read
    // (which must still be: a move meanwhile is a 409 like the intake's).
    let stat = super::statistics::row_update(&v, Some(&i.concerns))?;
    let visit_unchanged = Write::Check {
        key: keys::visit_key(&v.tenant_key, &v.visit_id),
        cond: items::at_version(v.version),
    };
    crate::services::retry::conflict(
        app.store
            .transact(vec![write, stat, visit_unchanged])
            .await
            .map_err(Into::into),
        "The intake changed meanwhile; reload it and try again",
    )?;
    Ok((v, i))
}
