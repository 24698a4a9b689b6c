//! A visit's live connection (the room page's WebSocket: the local
//! server's, or the visit-live WebSocket API's in AWS), over any
//! transport of `delivery::connections`:
//!
//! - `connect`: only the visit's patient, its provider (a provider of the
//!   room) and its guests may (the chat's own rule, `chat::member`); the
//!   connection is written twice, in the visit's partition (`LIVE#{id}`,
//!   what the fan-out queries) and under its own id (what a later frame,
//!   carrying only the id, is read by), both with a TTL, with the
//!   participant the person is (`presence::arrive`: found or made,
//!   `JOINED`);
//! - a client frame: `{"type": "ping"}` → `pong` while the person's token
//!   still holds (else `401`, and the edge closes the connection), and a
//!   heartbeat of their presence (`presence::heartbeat`); the `pong`
//!   carries a fresh signalling token of the connection's seat
//!   (`video::renewed_signalling`: what a reconnection opens with); `{"type": "sync"}` →
//!   `ready` again (the visit now: what a client asks for on opening
//!   where nothing can be sent before the handshake ends, API Gateway);
//!   `{"type": "chat",
//!   "text": …}` → stored through the chat (`chat::post`, as the person
//!   who connected, whose token must still hold), then fanned out to
//!   every connection of the visit, the sender's included;
//! - `disconnect`: both items removed; the participant's last connection
//!   gone, they are `DISCONNECTED` (`presence::depart`).
//!
//! What is sent is `fanout.rs`'s.

use serde_json::{Value, json};

use super::{Actor, chat, fanout, presence, tokens};
use crate::app::App;
use crate::domain::VisitId;
use crate::domain::clinic::live::{LIVE_TTL_MS, Seat};
use crate::domain::clinic::{LiveConnection, Visit};
use crate::error::{Error, Result};
use crate::services::auth;
use crate::store::{Write, items, keys};

/// Whose seat an actor takes in a visit's live connections.
fn seat_of(actor: &Actor) -> Result<Seat> {
    match actor {
        Actor::Patient {
            patient_id,
            token_id,
            ..
        } => Ok(Seat::Patient {
            patient_id: patient_id.clone(),
            token_id: token_id.clone(),
        }),
        Actor::Guest { token_id, .. } => Ok(Seat::Guest {
            token_id: token_id.clone(),
        }),
        other => other
            .provider_user()
            .map(|u| Seat::Provider { user_id: u.clone() })
            .ok_or_else(|| Error::forbidden("Only the visit's people may connect")),
    }
}

/// The actor a connection acts as, now (a revoked or expired token, an
/// offboarded franchise: `401`).
async fn actor_of(app: &App, c: &LiveConnection) -> Result<Actor> {
    match &c.seat {
        Seat::Patient { token_id, .. } | Seat::Guest { token_id } => {
            tokens::actor_of_held(app, &c.tenant_key, token_id).await
        }
        Seat::Provider { user_id } => {
            let franchise = auth::franchise(app, &c.tenant_key)
                .await?
                .filter(|f| f.status != crate::domain::FranchiseStatus::Offboarded)
                .ok_or(Error::Unauthorized)?;
            Ok(Actor::Vendor {
                franchise,
                user: Some(user_id.clone()),
            })
        }
    }
}

fn writes(app: &App, c: &LiveConnection) -> Result<Vec<Write>> {
    let until = app.now_ms() + LIVE_TTL_MS;
    let in_visit = keys::live_connection_key(&c.tenant_key, &c.visit_id, &c.connection_id);
    let own = keys::live_record_key(&c.connection_id);
    Ok(vec![
        Write::Put {
            item: items::with_ttl(items::item_of(in_visit, c, "liveConnection")?, until),
            cond: None,
        },
        Write::Put {
            item: items::with_ttl(items::item_of(own, c, "liveConnection")?, until),
            cond: None,
        },
    ])
}

/// A new connection of `actor` to the visit `id` (`404` for a visit out
/// of reach, `403` for someone who is not one of its people).
pub async fn connect(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    connection_id: &str,
) -> Result<(LiveConnection, Visit)> {
    let (v, author, _) = chat::member(app, actor, id).await?;
    let me = presence::arrive(app, actor, &v).await?;
    let c = LiveConnection {
        connection_id: connection_id.to_owned(),
        tenant_key: actor.tenant().clone(),
        visit_id: v.visit_id.clone(),
        author,
        seat: seat_of(actor)?,
        connected_at: app.now_ms(),
        participant_id: me.map(|p| p.participant_id),
    };
    app.store.transact(writes(app, &c)?).await?;
    Ok((c, v))
}

/// The `ready` frame a new connection gets: the visit as it is now, its
/// people's presence, which of them the connection is (`you`), and the
/// connection's own id (what the others' `signal` frames address).
pub async fn ready_frame(app: &App, c: &LiveConnection, v: &Visit) -> Result<String> {
    let people = presence::present(app, &v.tenant_key, &v.visit_id).await?;
    let participants: Vec<Value> = people.iter().map(fanout::presence_json).collect();
    Ok(fanout::frame(
        "ready",
        json!({
            "visit": fanout::visit_state(v, None),
            "participants": participants,
            "you": c.participant_id,
            "connectionId": c.connection_id,
        }),
    ))
}

/// Writes the connection's items again with a fresh TTL (a local socket
/// that outlives [`LIVE_TTL_MS`]).
pub async fn renew(app: &App, c: &LiveConnection) -> Result<()> {
    app.store.transact(writes(app, c)?).await?;
    Ok(())
}

/// The connection of `connection_id`, if it is one of a visit's.
pub async fn connection(app: &App, connection_id: &str) -> Result<Option<LiveConnection>> {
    crate::services::find(app, &keys::live_record_key(connection_id)).await
}

/// The connection closed: its items go; its participant's last one
/// gone, they are `DISCONNECTED`.
pub async fn disconnect(app: &App, c: &LiveConnection) -> Result<()> {
    fanout::forget(app, c).await?;
    presence::depart(app, c).await
}

/// Whether a frame's refusal ends the connection (its credential no
/// longer holds).
pub fn ends_connection(e: &Error) -> bool {
    matches!(e, Error::Unauthorized)
}

/// A client frame, read and checked (no I/O yet): what [`on_frame`] acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Ping,
    Sync,
    Chat { text: String },
    Signal(super::signal::Signal),
}

/// Reads one client frame's text; a frame that cannot be one is a `400`
/// (a `413` for an oversized signal), before anything is looked up.
pub fn parse_frame(text: &str) -> Result<ClientFrame> {
    let frame: Value =
        serde_json::from_str(text).map_err(|_| Error::invalid("A frame is a JSON object"))?;
    match frame["type"].as_str() {
        Some("ping") => Ok(ClientFrame::Ping),
        Some("sync") => Ok(ClientFrame::Sync),
        Some("chat") => {
            let text = frame["text"]
                .as_str()
                .ok_or_else(|| Error::invalid("text is required"))?;
            Ok(ClientFrame::Chat {
                text: text.to_owned(),
            })
        }
        Some("signal") => super::signal::read(&frame, text).map(ClientFrame::Signal),
        _ => Err(Error::invalid("type must be chat, ping, signal or sync")),
    }
}

/// One client frame: the answer for the sender alone, if any (`pong`);
/// a chat message reaches everyone through the fan-out. A bad frame or a
/// refused message is an `Err`, which the edge sends as an `error` frame.
pub async fn on_frame(app: &App, c: &LiveConnection, text: &str) -> Result<Option<String>> {
    match parse_frame(text)? {
        ClientFrame::Ping => {
            // The person still holds their seat (a token revoked by a
            // logout, an expired one: `401`, and the edge closes).
            actor_of(app, c).await?;
            presence::heartbeat(app, c).await?;
            let signalling = super::video::renewed_signalling(app, c);
            Ok(Some(fanout::frame(
                "pong",
                json!({"signalling": signalling}),
            )))
        }
        ClientFrame::Sync => {
            let actor = actor_of(app, c).await?;
            let (v, _, _) = chat::member(app, &actor, &c.visit_id).await?;
            Ok(Some(ready_frame(app, c, &v).await?))
        }
        ClientFrame::Chat { text } => {
            let actor = actor_of(app, c).await?;
            chat::post(app, &actor, &c.visit_id, &text).await?;
            Ok(None)
        }
        ClientFrame::Signal(s) => {
            super::signal::relay(app, c, &s).await?;
            Ok(None)
        }
    }
}

/// The visit a connection is asked for, from its text (`404` when it
/// cannot be an id).
pub fn visit_id(raw: Option<&str>) -> Result<VisitId> {
    raw.and_then(VisitId::parse)
        .ok_or_else(|| Error::not_found(super::visits::VISIT_NOT_FOUND))
}

/// The subprotocol of the room page's socket, which the server answers.
pub const PROTOCOL: &str = "embedcare.live.v1";

/// The page's credential, offered as a second subprotocol
/// `bearer.{token}` of `Sec-WebSocket-Protocol` (a browser's WebSocket
/// can set no other header, and a header, unlike the URL, is not in the
/// access logs); `offered` is that header's value.
pub fn protocol_token(offered: &str) -> Option<&str> {
    offered
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("bearer."))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_is_the_bearer_subprotocol() {
        let t = super::protocol_token("embedcare.live.v1, bearer.demo.abc.def");
        assert_eq!(t, Some("demo.abc.def"));
        assert_eq!(super::protocol_token("embedcare.live.v1"), None);
        assert_eq!(super::protocol_token("bearer."), None);
    }
}
