//! What a visit's live connections are told, and the telling: a chat
//! message and every move of the visit reach each connection of that
//! visit (its patient, its provider, its guests: `live.rs` lets no one
//! else connect), found by one `Query` of the visit's partition
//! (`begins_with LIVE#`).
//!
//! Frames are a small versioned JSON envelope, `{"v": 1, "type": …}`:
//! `ready {visit}` once connected, `visit {visitId, status,
//! previousStatus, version}` for a move (ids and statuses only),
//! `chat {message}`, `presence {participant}` (a participant's
//! `{participantId, participantType, status, lastSeenAt}`, to the visit's
//! other connections: not to the participant's own), `pong`, `error
//! {code, message}`.
//!
//! Told from where the change is written (`chat::post`, the one save of a
//! visit's moves in `visits.rs`), after it is written: every move goes
//! through there (a provider's, a patient's cancel, a lapse on read or by
//! the sweep), on either store, at once. Best effort: a frame that could
//! not be sent is not retried (the page reads the visit and the chat
//! again when it reconnects); a connection found gone is forgotten. A
//! process without the port (`App::visit_live` is `None`) tells no one.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::app::App;
use crate::clock::iso_ms;
use crate::delivery::connections::SendError;
use crate::domain::clinic::live::FRAME_VERSION;
use crate::domain::clinic::{ChatMessage, LiveConnection, Participant, Visit, VisitStatus};
use crate::domain::{ParticipantId, TenantKey, VisitId};
use crate::error::Result;
use crate::store::clinic_items::entities;
use crate::store::{Index, Query, SortCond, Write, keys};

/// A chat message as the API and the frames show it.
pub fn message_json(m: &ChatMessage) -> Value {
    json!({
        "messageId": m.message_id,
        "visitId": m.visit_id,
        "author": m.author,
        "authorName": m.author_name,
        "text": m.text,
        "at": iso_ms(m.at),
    })
}

/// A frame of `kind` with `fields` beside `v` and `type`.
pub fn frame(kind: &str, fields: Value) -> String {
    let mut f = json!({"v": FRAME_VERSION, "type": kind});
    if let (Some(f), Value::Object(more)) = (f.as_object_mut(), fields) {
        f.extend(more);
    }
    f.to_string()
}

/// The visit's ids and status.
pub fn visit_state(v: &Visit, previous: Option<VisitStatus>) -> Value {
    json!({
        "visitId": v.visit_id,
        "status": v.status,
        "previousStatus": previous,
        "version": v.version,
    })
}

/// A participant's presence: ids, type, status and when last seen (no
/// name: the page has them from the participants' list).
pub fn presence_json(p: &Participant) -> Value {
    json!({
        "participantId": p.participant_id,
        "participantType": p.participant_type,
        "status": p.status,
        "lastSeenAt": p.last_seen_at.map(iso_ms),
    })
}

/// An `error` frame.
pub fn error_frame(code: u16, message: &str) -> String {
    frame("error", json!({"code": code, "message": message}))
}

/// The visit's live connections (one `Query`; expired ones are absent).
pub async fn connections(
    app: &App,
    tenant: &TenantKey,
    visit: &VisitId,
) -> Result<Vec<LiveConnection>> {
    let mut q = Query::partition(Index::Table, keys::visit_partition(tenant, visit));
    q.sort = SortCond::BeginsWith(keys::LIVE_PREFIX.to_owned());
    let page = app.store.query(&q).await?;
    entities(&page.items)
}

/// Removes a connection's items (its visit's and its own record).
pub async fn forget(app: &App, c: &LiveConnection) -> Result<()> {
    let key = keys::live_connection_key(&c.tenant_key, &c.visit_id, &c.connection_id);
    app.store
        .transact(vec![
            Write::Delete { key, cond: None },
            Write::Delete {
                key: keys::live_record_key(&c.connection_id),
                cond: None,
            },
        ])
        .await?;
    Ok(())
}

/// Sends `text` to every live connection of the visit; forgets those
/// that are gone. Never fails: what it could not do goes to the log.
pub async fn broadcast(app: &App, tenant: &TenantKey, visit: &VisitId, text: &str) {
    broadcast_but(app, tenant, visit, text, None).await
}

/// [`broadcast`] but to the connections of the participant `but`.
async fn broadcast_but(
    app: &App,
    tenant: &TenantKey,
    visit: &VisitId,
    text: &str,
    but: Option<&ParticipantId>,
) {
    let Some(live) = app.visit_live.as_ref() else {
        return;
    };
    let found = match connections(app, tenant, visit).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "a visit's live connections could not be read");
            return;
        }
    };
    let found: Vec<_> = found
        .into_iter()
        .filter(|c| but.is_none() || c.participant_id.as_ref() != but)
        .collect();
    let sent = join_all(found.iter().map(|c| live.send(&c.connection_id, text))).await;
    for (c, r) in found.iter().zip(sent) {
        match r {
            Ok(()) => {}
            Err(SendError::Gone) => {
                if let Err(e) = forget(app, c).await {
                    tracing::warn!(error = %e, "a gone live connection was not forgotten");
                }
            }
            Err(SendError::Failed(why)) => {
                tracing::warn!(error = %why, "a live frame was not sent");
            }
        }
    }
}

/// A visit moved (`previous` → its status): its people are told.
pub async fn visit_moved(app: &App, v: &Visit, previous: VisitStatus) {
    let text = frame("visit", visit_state(v, Some(previous)));
    broadcast(app, &v.tenant_key, &v.visit_id, &text).await;
}

/// A chat message was stored: its visit's people get it.
pub async fn chat_posted(app: &App, tenant: &TenantKey, m: &ChatMessage) {
    let text = frame("chat", json!({"message": message_json(m)}));
    broadcast(app, tenant, &m.visit_id, &text).await;
}

/// A participant's presence changed: the visit's other connections are
/// told (a `presence` frame).
pub async fn presence_changed(app: &App, p: &Participant) {
    let text = frame("presence", json!({"participant": presence_json(p)}));
    broadcast_but(
        app,
        &p.tenant_key,
        &p.visit_id,
        &text,
        Some(&p.participant_id),
    )
    .await;
}
