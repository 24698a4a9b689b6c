//! Rooms (created by code, conditionally: unique in the franchise),
//! providers (a user's per-franchise profile) and their availability per
//! room; and the one rule of who may act as a provider of a room.

use crate::app::App;
use crate::domain::clinic::{
    Availability, DatedHours, Durations, Localized, Provider, Room, RoomCode, VisitType,
    WeeklyHours,
};
use crate::domain::{Language, TenantKey, User, UserId};
use crate::error::{Error, Result};
use crate::services::retry::conflict;
use crate::store::clinic_items::{
    availability_item, entities, provider_item, room_item, room_update,
};
use crate::store::{Index, Query, Write, items, keys};

/// What a room's creation or change gives (absent: unchanged, or the
/// default at creation).
#[derive(Debug, Clone, Default)]
pub struct RoomInput {
    pub name: Option<Localized>,
    pub provider_ids: Option<Vec<UserId>>,
    pub visit_types: Option<Vec<VisitType>>,
    pub durations: Option<Durations>,
    /// `Some(None)`: open around the clock.
    pub hours: Option<Option<WeeklyHours>>,
    pub closed_message: Option<Option<Localized>>,
    pub one_time_links: Option<bool>,
    pub related_person_invites: Option<bool>,
}

pub const ROOM_NOT_FOUND: &str = "Room not found";
const MAX_LISTED: usize = 200;

pub async fn create_room(
    app: &App,
    tenant: &TenantKey,
    code: RoomCode,
    input: RoomInput,
) -> Result<Room> {
    let now = app.now_ms();
    let name = input
        .name
        .ok_or_else(|| Error::invalid("Invalid room: name is required"))?;
    let room = Room {
        tenant_key: tenant.clone(),
        code: code.clone(),
        name,
        provider_ids: input.provider_ids.unwrap_or_default(),
        visit_types: input.visit_types.unwrap_or_else(|| VisitType::ALL.to_vec()),
        durations: input.durations.unwrap_or_default(),
        hours: input.hours.flatten(),
        closed_message: input.closed_message.flatten(),
        one_time_links: input.one_time_links.unwrap_or(true),
        related_person_invites: input.related_person_invites.unwrap_or(false),
        created_at: now,
        updated_at: now,
        version: 1,
        tickets_issued: 0,
        tickets_left: 0,
    };
    let write = items::put_new(room_item(&room)?);
    conflict(
        app.store.write(write).await.map_err(Into::into),
        format!("A room {code} already exists"),
    )?;
    Ok(room)
}

pub async fn room(app: &App, tenant: &TenantKey, code: &RoomCode) -> Result<Room> {
    crate::services::get(app, &keys::room_key(tenant, code), ROOM_NOT_FOUND).await
}

/// Changes what `input` gives, at the version read (`409` if it moved).
pub async fn update_room(
    app: &App,
    tenant: &TenantKey,
    code: &RoomCode,
    input: RoomInput,
) -> Result<Room> {
    let mut r = room(app, tenant, code).await?;
    let expected = r.version;
    let mut changed = Vec::new();
    if let Some(v) = input.name {
        r.name = v;
        changed.push("name");
    }
    if let Some(v) = input.provider_ids {
        r.provider_ids = v;
        changed.push("providerIds");
    }
    if let Some(v) = input.visit_types {
        r.visit_types = v;
        changed.push("visitTypes");
    }
    if let Some(v) = input.durations {
        r.durations = v;
        changed.push("durations");
    }
    if let Some(v) = input.hours {
        r.hours = v;
        changed.push("hours");
    }
    if let Some(v) = input.closed_message {
        r.closed_message = v;
        changed.push("closedMessage");
    }
    if let Some(v) = input.one_time_links {
        r.one_time_links = v;
        changed.push("oneTimeLinks");
    }
    if let Some(v) = input.related_person_invites {
        r.related_person_invites = v;
        changed.push("relatedPersonInvites");
    }
    if changed.is_empty() {
        return Ok(r);
    }
    r.version += 1;
    r.updated_at = app.now_ms();
    let mut write = room_update(&r, &changed, expected)?;
    // A room cleared of its hours or message loses the attribute.
    if let Write::Update { set, remove, .. } = &mut write {
        for (name, cleared) in [
            ("hours", r.hours.is_none()),
            ("closedMessage", r.closed_message.is_none()),
        ] {
            if changed.contains(&name) && cleared && !set.contains_key(name) {
                remove.push(name.to_owned());
            }
        }
    }
    conflict(
        app.store.write(write).await.map_err(Into::into),
        "The room changed meanwhile; reload it and try again",
    )?;
    Ok(r)
}

pub async fn list_rooms(app: &App, tenant: &TenantKey) -> Result<Vec<Room>> {
    let mut q = Query::partition(Index::Gsi1, keys::rooms_index(tenant));
    q.limit = MAX_LISTED;
    let page = app.store.query(&q).await?;
    entities(&page.items)
}

/// The rooms of the franchise `user` is assigned to as a provider: what a
/// provider's views reach.
pub async fn rooms_of_provider(app: &App, tenant: &TenantKey, user: &UserId) -> Result<Vec<Room>> {
    let mut rooms = list_rooms(app, tenant).await?;
    rooms.retain(|r| r.has_provider(user));
    Ok(rooms)
}

/// Whether `user` may be launched into a provider's view (on `code`, when
/// named): the room must exist here (`404`) and have them as a provider;
/// without a room they must be a provider of the franchise (a profile, or
/// `"provider": true` in this very call). `403` otherwise. Keyed reads
/// only: the launch function queries no index.
pub async fn check_provider_launch(
    app: &App,
    tenant: &TenantKey,
    user: &UserId,
    flagged: bool,
    code: Option<&RoomCode>,
) -> Result<()> {
    match code {
        Some(code) => {
            if !room(app, tenant, code).await?.has_provider(user) {
                return Err(Error::forbidden("This user is not a provider of this room"));
            }
        }
        None => {
            if !flagged && provider(app, tenant, user).await?.is_none() {
                return Err(Error::forbidden("This user is not a provider"));
            }
        }
    }
    Ok(())
}

// ---- providers ---------------------------------------------------------------

/// What a provider profile is made of.
#[derive(Debug, Clone)]
pub struct ProviderInput {
    pub display_name: Option<String>,
    pub title: Option<String>,
    pub languages: Option<Vec<Language>>,
}

pub async fn provider(app: &App, tenant: &TenantKey, user: &UserId) -> Result<Option<Provider>> {
    crate::services::find(app, &keys::provider_key(tenant, user)).await
}

/// Creates or changes a provider profile (`PUT /v2/providers/{userId}`,
/// the operator's command). A new profile needs a display name unless
/// `user` gives one.
pub async fn put_provider(
    app: &App,
    tenant: &TenantKey,
    user_id: &UserId,
    user: Option<&User>,
    input: ProviderInput,
) -> Result<Provider> {
    let now = app.now_ms();
    let existing = provider(app, tenant, user_id).await?;
    let (p, cond) = match existing {
        Some(mut p) => {
            let expected = p.version;
            if let Some(n) = input.display_name {
                p.display_name = n;
            }
            if input.title.is_some() {
                p.title = input.title;
            }
            if let Some(l) = input.languages {
                p.languages = l;
            }
            p.version += 1;
            p.updated_at = now;
            (p, items::at_version(expected))
        }
        None => {
            let display_name = input
                .display_name
                .or_else(|| user.map(|u| format!("{} {}", u.first_name, u.last_name)))
                .ok_or_else(|| Error::invalid("Invalid provider: displayName is required"))?;
            let languages = input
                .languages
                .or_else(|| user.map(|u| vec![u.preferred_language]))
                .unwrap_or_default();
            let p = Provider {
                tenant_key: tenant.clone(),
                user_id: user_id.clone(),
                display_name,
                title: input.title,
                languages,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            (p, crate::store::Cond::NotExists)
        }
    };
    let write = Write::Put {
        item: provider_item(&p)?,
        cond: Some(cond),
    };
    conflict(
        app.store.write(write).await.map_err(Into::into),
        "The provider changed meanwhile; try again",
    )?;
    Ok(p)
}

/// A patient-side vendor call whose `x-integration-user` says
/// `"provider": true`: the user is upserted as every vendor call does,
/// with the provider profile they lack (`services::people`).
pub async fn provider_from_call(
    app: &App,
    caller: &crate::services::auth::Caller,
    input: &crate::domain::IntegrationUser,
) -> Result<User> {
    crate::services::retry::retry_lost_races(
        "The user changed meanwhile; try again",
        crate::services::retry::always,
        || async {
            let read = crate::services::people::ReadSet::new(caller, Some(input))
                .read(app)
                .await?;
            let mut writes = Vec::new();
            let user = crate::services::people::user_writes(
                caller,
                Some(input),
                &read,
                app.now_ms(),
                &mut writes,
            )?;
            if !writes.is_empty() {
                super::tokens::write_all(app, writes).await?;
            }
            Ok(user)
        },
    )
    .await
}

pub async fn list_providers(app: &App, tenant: &TenantKey) -> Result<Vec<Provider>> {
    let mut q = Query::partition(Index::Gsi1, keys::providers_index(tenant));
    q.limit = MAX_LISTED;
    let page = app.store.query(&q).await?;
    entities(&page.items)
}

/// The one rule of who acts as a provider: a user with a provider profile
/// in the franchise who is assigned to the room (`403` otherwise).
pub async fn require_provider(app: &App, room: &Room, user: &UserId) -> Result<Provider> {
    let not_one = || Error::forbidden("This user is not a provider of this room");
    if !room.has_provider(user) {
        return Err(not_one());
    }
    provider(app, &room.tenant_key, user)
        .await?
        .ok_or_else(not_one)
}

// ---- availability ------------------------------------------------------------

/// `PUT /v2/providers/{userId}/availability`: the provider's weekly hours
/// and dated exceptions in one room they are assigned to (replaced whole).
pub async fn put_availability(
    app: &App,
    tenant: &TenantKey,
    user: &UserId,
    code: &RoomCode,
    weekly: WeeklyHours,
    exceptions: Vec<DatedHours>,
) -> Result<Availability> {
    let r = room(app, tenant, code).await?;
    require_provider(app, &r, user).await?;
    let existing: Option<Availability> =
        crate::services::find(app, &keys::availability_key(tenant, user, code)).await?;
    let a = Availability {
        tenant_key: tenant.clone(),
        provider_id: user.clone(),
        room_code: code.clone(),
        weekly,
        exceptions,
        updated_at: app.now_ms(),
        version: existing.as_ref().map_or(1, |e| e.version + 1),
    };
    let cond = match &existing {
        Some(e) => items::at_version(e.version),
        None => crate::store::Cond::NotExists,
    };
    let write = Write::Put {
        item: availability_item(&a)?,
        cond: Some(cond),
    };
    conflict(
        app.store.write(write).await.map_err(Into::into),
        "The availability changed meanwhile; try again",
    )?;
    Ok(a)
}

/// The availabilities of these providers in a room (one batch read).
pub async fn availabilities(
    app: &App,
    tenant: &TenantKey,
    code: &RoomCode,
    users: &[UserId],
) -> Result<Vec<Availability>> {
    let mut keys: Vec<_> = users
        .iter()
        .map(|u| keys::availability_key(tenant, u, code))
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let found = app.store.batch_get(&keys).await?;
    entities(&found)
}
