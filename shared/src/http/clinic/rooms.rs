//! Rooms (`POST /v2/rooms`, `GET /v2/rooms`, `GET|PATCH /v2/rooms/{code}`:
//! public fields only without the API key), providers (`GET
//! /v2/providers`, `PUT /v2/providers/{userId}`), their availability
//! (`GET|PUT /v2/providers/{userId}/availability`) and free slots
//! (`GET /v2/availability`).

use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use serde_json::json;

use super::{
    AVAILABILITY, Clinic, ClinicJson, PROVIDER, PROVIDER_AVAILABILITY, PROVIDERS, ROOM, ROOMS,
    json, wire,
};
use crate::app::AppState;
use crate::domain::UserId;
use crate::domain::clinic::RoomCode;
use crate::error::{Error, Result};
use crate::http::extract::QueryParams;
use crate::http::reply::json_response;
use crate::services::clinic::rooms::{self, ROOM_NOT_FOUND};
use crate::services::clinic::{Actor, slots};
use crate::services::people;

pub fn rooms_routes() -> Router<AppState> {
    Router::new()
        .route(ROOMS, get(list).post(create))
        .route(ROOM, get(one).patch(update))
        .route(AVAILABILITY, get(free_slots))
}

pub fn providers_routes() -> Router<AppState> {
    Router::new()
        .route(PROVIDERS, get(list_providers))
        .route(PROVIDER, put(put_provider))
        .route(
            PROVIDER_AVAILABILITY,
            get(get_availability).put(put_availability),
        )
}

fn code_of(raw: &str) -> Result<RoomCode> {
    RoomCode::parse(raw).ok_or_else(|| Error::not_found(ROOM_NOT_FOUND))
}

fn user_of(raw: &str) -> Result<UserId> {
    UserId::parse(raw).ok_or_else(|| Error::not_found("Provider not found"))
}

async fn create(ClinicJson { clinic: c, body }: ClinicJson) -> Result<Response> {
    c.vendor_only()?;
    let (code, input) = wire::room_input(&body, true)?;
    let code = code.ok_or_else(|| Error::invalid("Invalid room: code is required"))?;
    let r = rooms::create_room(&c.app, c.actor.tenant(), code, input).await?;
    let open = r.is_open(c.app.now_ms(), &c.actor.franchise().time_zone);
    Ok(json_response(
        StatusCode::CREATED,
        &json::room(&r, false, open),
    ))
}

async fn list(c: Clinic) -> Result<Response> {
    let now = c.app.now_ms();
    let zone = &c.actor.franchise().time_zone;
    let public = !matches!(c.actor, Actor::Vendor { .. });
    let rooms = rooms::list_rooms(&c.app, c.actor.tenant()).await?;
    let items: Vec<_> = rooms
        .iter()
        .map(|r| json::room(r, public, r.is_open(now, zone)))
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

/// `GET /v2/rooms/{code}`: with the API key, the whole room; with a
/// patient's token, or with nothing but `X-Tenant-Key`, its public fields.
async fn one(
    State(app): State<AppState>,
    Path(code): Path<String>,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    let code = code_of(&code)?;
    let (franchise, public) =
        if headers.contains_key("api-key") || crate::http::extract::bearer(&headers).is_some() {
            let actor = super::actor_of(&app, &headers).await?;
            let public = !matches!(actor, Actor::Vendor { .. });
            (actor.franchise().clone(), public)
        } else {
            let tenant = crate::http::extract::header_str(&headers, "x-tenant-key")
                .and_then(crate::domain::TenantKey::parse)
                .ok_or_else(|| Error::not_found(ROOM_NOT_FOUND))?;
            let f = crate::services::auth::franchise(&app, &tenant)
                .await?
                .ok_or_else(|| Error::not_found(ROOM_NOT_FOUND))?;
            (f, true)
        };
    let r = rooms::room(&app, &franchise.tenant_key, &code).await?;
    let open = r.is_open(app.now_ms(), &franchise.time_zone);
    Ok(json_response(StatusCode::OK, &json::room(&r, public, open)))
}

async fn update(
    Path(code): Path<String>,
    ClinicJson { clinic: c, body }: ClinicJson,
) -> Result<Response> {
    c.vendor_only()?;
    let code = code_of(&code)?;
    let (_, input) = wire::room_input(&body, false)?;
    let r = rooms::update_room(&c.app, c.actor.tenant(), &code, input).await?;
    let open = r.is_open(c.app.now_ms(), &c.actor.franchise().time_zone);
    Ok(json_response(StatusCode::OK, &json::room(&r, false, open)))
}

async fn list_providers(c: Clinic) -> Result<Response> {
    c.vendor_only()?;
    let providers = rooms::list_providers(&c.app, c.actor.tenant()).await?;
    let items: Vec<_> = providers.iter().map(json::provider).collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

async fn put_provider(
    Path(user): Path<String>,
    ClinicJson { clinic: c, body }: ClinicJson,
) -> Result<Response> {
    c.vendor_only()?;
    let user_id = user_of(&user)?;
    let input = wire::provider_input(&body)?;
    let caller = crate::http::extract::caller(&c.app, &c.headers).await?;
    let user = people::user(&c.app, &caller.key.account_id, &user_id).await?;
    let p = rooms::put_provider(&c.app, c.actor.tenant(), &user_id, user.as_ref(), input).await?;
    Ok(json_response(StatusCode::OK, &json::provider(&p)))
}

/// Provider actions name the provider: the path's user must be the
/// `x-integration-user` of the call.
fn acting_as(c: &Clinic, user: &UserId) -> Result<()> {
    match &c.actor {
        Actor::Vendor { user: Some(u), .. } if u == user => Ok(()),
        Actor::Vendor { .. } => Err(Error::forbidden("Name this provider in x-integration-user")),
        _ => Err(Error::forbidden("This endpoint needs the API key")),
    }
}

async fn put_availability(
    Path(user): Path<String>,
    ClinicJson { clinic: c, body }: ClinicJson,
) -> Result<Response> {
    let user_id = user_of(&user)?;
    acting_as(&c, &user_id)?;
    let (code, weekly, exceptions) = wire::availability_input(&body)?;
    let a = rooms::put_availability(
        &c.app,
        c.actor.tenant(),
        &user_id,
        &code,
        weekly,
        exceptions,
    )
    .await?;
    Ok(json_response(StatusCode::OK, &json::availability(&a)))
}

async fn get_availability(
    c: Clinic,
    Path(user): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    c.vendor_only()?;
    let user_id = user_of(&user)?;
    let q = QueryParams::parse(q.as_deref())?;
    let code = q
        .get("roomCode")?
        .map(code_of)
        .transpose()?
        .ok_or_else(|| Error::invalid("roomCode is required"))?;
    let found = rooms::availabilities(
        &c.app,
        c.actor.tenant(),
        &code,
        std::slice::from_ref(&user_id),
    )
    .await?;
    let a = found
        .first()
        .ok_or_else(|| Error::not_found("No availability for this provider in this room"))?;
    Ok(json_response(StatusCode::OK, &json::availability(a)))
}

/// `GET /v2/availability?roomCode=&providerId=&from=&to=&duration=`.
async fn free_slots(c: Clinic, RawQuery(q): RawQuery) -> Result<Response> {
    let q = QueryParams::parse(q.as_deref())?;
    let code = q
        .get("roomCode")?
        .map(code_of)
        .transpose()?
        .ok_or_else(|| Error::invalid("roomCode is required"))?;
    let provider = match q.get("providerId")? {
        None => None,
        Some(p) => {
            Some(UserId::parse(p).ok_or_else(|| Error::invalid("providerId is not a user id"))?)
        }
    };
    let now = c.app.now_ms();
    let from = q
        .get("from")?
        .map(|v| wire::instant("from", v))
        .transpose()?
        .unwrap_or(now);
    let to = q
        .get("to")?
        .map(|v| wire::instant("to", v))
        .transpose()?
        .unwrap_or(from + 7 * 24 * 3_600_000);
    let duration = q
        .get("duration")?
        .map(|d| {
            d.parse::<u32>()
                .map_err(|_| Error::invalid("duration must be a number of minutes"))
        })
        .transpose()?;
    let room = rooms::room(&c.app, c.actor.tenant(), &code).await?;
    let slots = slots::free_slots(
        &c.app,
        c.actor.franchise(),
        &room,
        provider.as_ref(),
        from,
        to,
        duration,
    )
    .await?;
    let items: Vec<_> = slots.iter().map(json::slot).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "roomCode": room.code, "items": items }),
    ))
}
