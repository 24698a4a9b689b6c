//! The subscription stream, over any WebSocket (`delivery::connections`):
//! a client that holds an event queue receives its events and acknowledges
//! them. Frames are `{frameType, framePayload}`:
//!
//! - server `EVENT {eventId, eventType, receiptId, eventTs, queueName,
//!   eventPayload}` (the payload is the event body of every channel);
//! - client `ACK_EVENT {receiptId}`, server `ACK_EVENT_REPLY {receiptId}`;
//! - client `PING`, server `PONG`;
//! - server `ERROR {code, message}` before it closes a connection.
//!
//! At least once: an event sent and not acknowledged within 30 s is sent
//! again, with the same `eventId` and a new `receiptId` (a `Redeliver`
//! message of the work queue checks it); events wait while nobody is
//! connected (7 days) and are sent, in order of creation, when a client
//! connects. One connection per queue (a conditional write of the queue's
//! claim; a second one is refused with 4409, bad credentials with 4401).
//! A claim whose connection is gone (a server restart, a lost disconnect)
//! is taken over.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::auth;
use crate::app::App;
use crate::crypto::random_token;
use crate::delivery::connections::SendError;
use crate::delivery::queue::{Handled, Work};
use crate::domain::TenantKey;
use crate::domain::subscription::{
    ConnectionRecord, EventQueue, IDLE_MS, QueueClaim, QueueName, QueuedEvent, REDELIVERY_MS,
};
use crate::error::{Error, Result};
use crate::store::keys::{self, QUEUED_PREFIX};
use crate::store::{Cond, Index, Key, Query, SortCond, Write, items};

/// Close codes (and `ERROR` codes).
pub const BAD_FRAME: u16 = 4400;
pub const BAD_CREDENTIALS: u16 = 4401;
pub const NO_QUEUE: u16 = 4404;
pub const TAKEN: u16 = 4409;
/// A connection closed for being idle (no PING for 10 minutes).
pub const IDLE: u16 = 1001;

/// How long a connection's record outlives its last sign of life.
const RECORD_TTL_MS: i64 = 24 * 3600 * 1000;
/// A flush that cannot reach its connection yet (API Gateway: `$connect`
/// has not returned) is tried again for this long.
const FLUSH_PATIENCE_MS: i64 = 30 * 1000;

/// Why a connection is refused: its close code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub message: String,
}

/// A connection holding a queue.
#[derive(Debug, Clone)]
pub struct Stream {
    pub tenant: TenantKey,
    pub queue: EventQueue,
    pub connection_id: String,
}

/// The API key of a stream client: `Authorization: api-key {key}`, else
/// the `Api-key` header (what the local server's and the WebSocket API's
/// requests carry).
pub fn api_key_of(authorization: Option<&str>, api_key: Option<&str>) -> Option<String> {
    let from_auth = authorization.and_then(|v| {
        let (scheme, key) = v.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("api-key")
            .then(|| key.trim().to_owned())
    });
    from_auth.or_else(|| api_key.map(str::to_owned))
}

/// A frame's text.
pub fn frame(frame_type: &str, payload: Value) -> String {
    json!({"frameType": frame_type, "framePayload": payload}).to_string()
}

/// The `ERROR` frame sent before a refusal's close.
pub fn error_frame(code: u16, message: &str) -> String {
    frame("ERROR", json!({"code": code, "message": message}))
}

fn refusal(code: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// A new connection: authenticates it as the API does (`Authorization:
/// api-key …` or `Api-key`, `X-Tenant-Key`), finds the queue, claims it.
pub async fn connect(
    app: &App,
    api_key: Option<&str>,
    tenant: Option<&str>,
    queue_name: Option<&str>,
    connection_id: &str,
) -> std::result::Result<Stream, Refusal> {
    let caller = match auth::authenticate(app, api_key, tenant).await {
        Ok(c) => c,
        Err(Error::Invalid(m)) => return Err(refusal(BAD_FRAME, m)),
        Err(Error::Unauthorized | Error::Forbidden(_)) => {
            return Err(refusal(BAD_CREDENTIALS, "Authentication failed"));
        }
        Err(e) => {
            tracing::error!(error = %e, "a stream connection failed");
            return Err(refusal(1011, "Internal server error"));
        }
    };
    let tenant = caller.tenant().clone();
    let name = queue_name.ok_or_else(|| refusal(BAD_FRAME, "queue is required"))?;
    let queue = super::subscriptions::queue(app, &tenant, name)
        .await
        .map_err(|_| refusal(NO_QUEUE, super::subscriptions::QUEUE_NOT_FOUND))?;
    let stream = Stream {
        tenant,
        queue,
        connection_id: connection_id.to_owned(),
    };
    match claim(app, &stream).await {
        Ok(true) => Ok(stream),
        Ok(false) => Err(refusal(TAKEN, "This queue already has a connected client")),
        Err(e) => {
            tracing::error!(error = %e, "a stream claim failed");
            Err(refusal(1011, "Internal server error"))
        }
    }
}

fn claim_item(app: &App, s: &Stream, connected_at: i64) -> Result<crate::store::Item> {
    let now = app.now_ms();
    let claim = QueueClaim {
        connection_id: s.connection_id.clone(),
        queue_id: s.queue.queue_id.clone(),
        connected_at,
        last_ping_at: now,
    };
    let key = keys::queue_claim_key(&s.tenant, &s.queue.queue_name);
    let item = items::item_of(key, &claim, "queueClaim")?;
    Ok(items::with_ttl(item, now + IDLE_MS + 60_000))
}

/// Claims the queue for the connection; false when another live
/// connection holds it.
async fn claim(app: &App, s: &Stream) -> Result<bool> {
    let now = app.now_ms();
    let put = |cond| async move {
        app.store
            .write(Write::Put {
                item: claim_item(app, s, now)?,
                cond: Some(cond),
            })
            .await
            .map_err(Error::from)
    };
    match put(Cond::NotExists).await {
        Ok(()) => {}
        Err(Error::Contention { .. }) => {
            let key = keys::queue_claim_key(&s.tenant, &s.queue.queue_name);
            let Some(held) = super::find::<QueueClaim>(app, &key).await? else {
                return Ok(false);
            };
            let live = held.connection_id == s.connection_id
                || app
                    .connections
                    .is_live(&held.connection_id)
                    .await
                    .unwrap_or(true);
            if live {
                return Ok(false);
            }
            let taken = Cond::AttrEq("connectionId".into(), held.connection_id.into());
            match put(taken).await {
                Ok(()) => {}
                Err(Error::Contention { .. }) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    }
    let record = ConnectionRecord {
        connection_id: s.connection_id.clone(),
        tenant_key: s.tenant.clone(),
        queue_name: s.queue.queue_name.clone(),
        connected_at: now,
    };
    let item = items::item_of(
        keys::connection_key(&s.connection_id),
        &record,
        "connection",
    )?;
    app.store
        .write(Write::Put {
            item: items::with_ttl(item, now + RECORD_TTL_MS),
            cond: None,
        })
        .await?;
    Ok(true)
}

/// The stream a connection id holds (the WebSocket API's later events
/// carry only the id); `None` once it has let the queue go.
pub async fn stream_of(app: &App, connection_id: &str) -> Result<Option<Stream>> {
    if !crate::domain::subscription::is_connection_id(connection_id) {
        return Ok(None);
    }
    let Some(record) =
        super::find::<ConnectionRecord>(app, &keys::connection_key(connection_id)).await?
    else {
        return Ok(None);
    };
    let tenant = record.tenant_key;
    let claim_key = keys::queue_claim_key(&tenant, &record.queue_name);
    let holds = super::find::<QueueClaim>(app, &claim_key)
        .await?
        .is_some_and(|c| c.connection_id == connection_id);
    if !holds {
        return Ok(None);
    }
    let queue = super::subscriptions::queue(app, &tenant, record.queue_name.as_str()).await;
    Ok(queue.ok().map(|queue| Stream {
        tenant,
        queue,
        connection_id: connection_id.to_owned(),
    }))
}

/// Lets the queue go (a closed socket, `$disconnect`).
pub async fn disconnect(app: &App, s: &Stream) -> Result<()> {
    let held_by_us = Cond::AttrEq("connectionId".into(), s.connection_id.clone().into());
    let key = keys::queue_claim_key(&s.tenant, &s.queue.queue_name);
    match app
        .store
        .write(Write::Delete {
            key,
            cond: Some(held_by_us),
        })
        .await
    {
        Err(e) if e.is_condition_failure() => {}
        other => other?,
    }
    let record = keys::connection_key(&s.connection_id);
    Ok(app
        .store
        .write(Write::Delete {
            key: record,
            cond: None,
        })
        .await?)
}

/// Sends every event waiting in the queue, oldest first. Stops (`Gone`)
/// when the connection is not there.
pub async fn flush(app: &App, s: &Stream) -> Result<std::result::Result<(), SendError>> {
    let mut q = Query::partition(
        Index::Table,
        keys::queued_events(&s.tenant, &s.queue.queue_id),
    );
    q.sort = SortCond::BeginsWith(QUEUED_PREFIX.into());
    q.limit = 100;
    loop {
        let page = app.store.query(&q).await?;
        for item in &page.items {
            let ev: QueuedEvent = items::entity_of(item)?;
            if let Err(e) = send_event(app, s, &item.key, &ev).await? {
                return Ok(Err(e));
            }
        }
        match page.next {
            Some(next) => q.start_after = Some(next),
            None => return Ok(Ok(())),
        }
    }
}

/// Sends one waiting event with a new receipt, and schedules the check
/// that it is acknowledged within 30 s.
pub async fn send_event(
    app: &App,
    s: &Stream,
    key: &Key,
    ev: &QueuedEvent,
) -> Result<std::result::Result<(), SendError>> {
    let receipt = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(key.sk.as_bytes()),
        random_token()?
    );
    let mut set = serde_json::Map::new();
    set.insert("receiptId".into(), receipt.clone().into());
    set.insert("sentAt".into(), app.now_ms().into());
    let marked = app
        .store
        .write(Write::Update {
            key: key.clone(),
            set,
            remove: vec![],
            add: vec![],
            cond: Some(Cond::Exists),
        })
        .await;
    match marked {
        // Acknowledged meanwhile: nothing to send.
        Err(e) if e.is_condition_failure() => return Ok(Ok(())),
        other => other?,
    }
    let text = frame(
        "EVENT",
        json!({
            "eventId": ev.event_id,
            "eventType": ev.event_type,
            "receiptId": receipt,
            "eventTs": ev.event_ts,
            "queueName": s.queue.queue_name,
            "eventPayload": ev.payload,
        }),
    );
    match app.connections.send(&s.connection_id, &text).await {
        Ok(()) => {}
        Err(SendError::Gone) => return Ok(Err(SendError::Gone)),
        Err(SendError::Failed(m)) => return Err(Error::Unavailable(m)),
    }
    let check = Work::Redeliver {
        tenant_key: s.tenant.clone(),
        queue_name: s.queue.queue_name.clone(),
        queue_id: s.queue.queue_id.clone(),
        sort: key.sk.clone(),
        receipt_id: receipt,
    };
    let delay = u32::try_from(REDELIVERY_MS / 1000).unwrap_or(30);
    app.work
        .send(&[(check, delay)])
        .await
        .map_err(Error::Unavailable)?;
    Ok(Ok(()))
}

/// One client frame; the reply goes through the connections port.
pub async fn on_frame(app: &App, s: &Stream, text: &str) -> Result<()> {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let frame_type = parsed.as_ref().and_then(|v| v["frameType"].as_str());
    let reply = match frame_type {
        Some("ACK_EVENT") => {
            let receipt = parsed
                .as_ref()
                .and_then(|v| v["framePayload"]["receiptId"].as_str())
                .unwrap_or_default();
            if receipt.is_empty() {
                error_frame(BAD_FRAME, "ACK_EVENT needs framePayload.receiptId")
            } else {
                acknowledge(app, s, receipt).await?;
                frame("ACK_EVENT_REPLY", json!({"receiptId": receipt}))
            }
        }
        Some("PING") => {
            ping(app, s).await?;
            frame("PONG", json!({}))
        }
        _ => error_frame(
            BAD_FRAME,
            "frames are {frameType, framePayload}: ACK_EVENT or PING",
        ),
    };
    match app.connections.send(&s.connection_id, &reply).await {
        Ok(()) | Err(SendError::Gone) => Ok(()),
        Err(SendError::Failed(m)) => Err(Error::Unavailable(m)),
    }
}

/// Removes the event a receipt names, when it is the event's current one
/// (an older receipt acknowledges nothing: its event was sent again).
async fn acknowledge(app: &App, s: &Stream, receipt: &str) -> Result<()> {
    let sort = receipt
        .split_once('.')
        .and_then(|(b, _)| URL_SAFE_NO_PAD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|sk| sk.len() <= 128);
    let Some(key) = sort.and_then(|sk| keys::queued_event_at(&s.tenant, &s.queue.queue_id, &sk))
    else {
        return Ok(());
    };
    let current = Cond::AttrEq("receiptId".into(), receipt.into());
    match app
        .store
        .write(Write::Delete {
            key,
            cond: Some(current),
        })
        .await
    {
        Err(e) if e.is_condition_failure() => Ok(()),
        other => Ok(other?),
    }
}

/// A sign of life: the claim lives on.
async fn ping(app: &App, s: &Stream) -> Result<()> {
    let held_by_us = Cond::AttrEq("connectionId".into(), s.connection_id.clone().into());
    let existing =
        super::find::<QueueClaim>(app, &keys::queue_claim_key(&s.tenant, &s.queue.queue_name))
            .await?;
    let connected_at = existing.map_or(app.now_ms(), |c| c.connected_at);
    match app
        .store
        .write(Write::Put {
            item: claim_item(app, s, connected_at)?,
            cond: Some(held_by_us),
        })
        .await
    {
        Err(e) if e.is_condition_failure() => Ok(()),
        other => Ok(other?),
    }
}

/// `Work::Flush`: the first sending to a connection that just claimed its
/// queue.
pub async fn handle_flush(
    app: &App,
    tenant: &TenantKey,
    queue_name: &QueueName,
    connection_id: &str,
    requested_at: i64,
) -> Result<Handled> {
    let Some(s) = stream_of(app, connection_id).await? else {
        return Ok(Handled::Done);
    };
    if s.tenant != *tenant || s.queue.queue_name != *queue_name {
        return Ok(Handled::Done);
    }
    match flush(app, &s).await? {
        Err(SendError::Gone) if app.now_ms() - requested_at < FLUSH_PATIENCE_MS => {
            Ok(Handled::Later(1000))
        }
        _ => Ok(Handled::Done),
    }
}

/// `Work::Redeliver`: the event sent with `receipt` is still there after
/// 30 s; send it again to the queue's connection, if it has one (else it
/// waits for the next one).
pub async fn handle_redeliver(
    app: &App,
    tenant: &TenantKey,
    queue_name: &QueueName,
    queue_id: &str,
    sort: &str,
    receipt: &str,
) -> Result<Handled> {
    let Some(key) = keys::queued_event_at(tenant, queue_id, sort) else {
        return Ok(Handled::Done);
    };
    let Some(ev) = super::find::<QueuedEvent>(app, &key).await? else {
        return Ok(Handled::Done);
    };
    if ev.receipt_id.as_deref() != Some(receipt) {
        return Ok(Handled::Done);
    }
    let claim_key = keys::queue_claim_key(tenant, queue_name);
    let Some(claim) = super::find::<QueueClaim>(app, &claim_key).await? else {
        return Ok(Handled::Done);
    };
    if claim.queue_id != queue_id {
        return Ok(Handled::Done);
    }
    let queue = super::subscriptions::queue(app, tenant, queue_name.as_str()).await?;
    let s = Stream {
        tenant: tenant.clone(),
        queue,
        connection_id: claim.connection_id,
    };
    if send_event(app, &s, &key, &ev).await?.is_err() {
        disconnect(app, &s).await?;
    }
    Ok(Handled::Done)
}

/// A queue was deleted: its client is told and disconnected.
pub async fn release_deleted(app: &App, tenant: &TenantKey, q: &EventQueue) -> Result<()> {
    let key = keys::queue_claim_key(tenant, &q.queue_name);
    let Some(claim) = super::find::<QueueClaim>(app, &key).await? else {
        return Ok(());
    };
    let s = Stream {
        tenant: tenant.clone(),
        queue: q.clone(),
        connection_id: claim.connection_id,
    };
    let why = error_frame(NO_QUEUE, "The queue was deleted");
    let _ = app.connections.send(&s.connection_id, &why).await;
    let _ = app
        .connections
        .close(&s.connection_id, NO_QUEUE, "queue deleted")
        .await;
    disconnect(app, &s).await
}
