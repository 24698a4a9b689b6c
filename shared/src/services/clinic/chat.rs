//! A visit's chat: messages stored in the visit's partition, readable and
//! writable only by the visit's patient, its provider (a provider of the
//! room) and its guests, once the visit is in progress; a message stored
//! reaches the visit's live connections (`fanout.rs`).

use super::Actor;
use super::rooms;
use super::visits::visit_for;
use crate::app::App;
use crate::domain::clinic::chat::message_text;
use crate::domain::clinic::{Author, ChatMessage, Visit, VisitStatus};
use crate::domain::{MessageId, VisitId};
use crate::error::{Error, Result};
use crate::services::people;
use crate::store::clinic_items::{entities, message_item};
use crate::store::{Index, Query, SortCond, items, keys};

/// Messages are kept this long after they were written (90 days).
const KEEP_MS: i64 = 90 * 24 * 3_600_000;

/// Who the actor is in the visit's chat, and the name shown for them.
async fn author(app: &App, actor: &Actor, v: &Visit) -> Result<(Author, String)> {
    match actor {
        Actor::Patient { .. } => {
            let p = people::patient(app, actor.tenant(), &v.patient_id).await?;
            Ok((Author::Patient, p.first_name.clone()))
        }
        Actor::Guest { name, .. } => Ok((Author::Guest, name.clone())),
        _ => {
            let user = actor
                .provider_user()
                .ok_or_else(|| Error::forbidden("Only the visit's people see its chat"))?;
            let room = rooms::room(app, actor.tenant(), &v.room_code).await?;
            let p = rooms::require_provider(app, &room, user).await?;
            Ok((Author::Provider, p.display_name))
        }
    }
}

/// The visit and the actor's place in its chat (`403`/`404` outside).
pub async fn member(app: &App, actor: &Actor, id: &VisitId) -> Result<(Visit, Author, String)> {
    let v = visit_for(app, actor, id).await?;
    let (who, name) = author(app, actor, &v).await?;
    Ok((v, who, name))
}

/// Posts a message (1 to 2 000 characters) while the visit is in progress.
pub async fn post(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    text: &str,
) -> Result<(ChatMessage, Visit)> {
    let text =
        message_text(text).ok_or_else(|| Error::invalid("text must be 1 to 2000 characters"))?;
    let (v, who, name) = member(app, actor, id).await?;
    if v.status != VisitStatus::InProgress {
        return Err(Error::conflict("The chat opens when the visit starts"));
    }
    let now = app.now_ms();
    let m = ChatMessage {
        visit_id: v.visit_id.clone(),
        message_id: MessageId::generate(),
        author: who,
        author_name: name,
        text,
        at: now,
    };
    app.store
        .write(items::put_new(message_item(
            actor.tenant(),
            &m,
            now + KEEP_MS,
        )?))
        .await?;
    super::fanout::chat_posted(app, actor.tenant(), &m).await;
    Ok((m, v))
}

/// The messages of a visit, oldest first, newer than `after` when given.
pub async fn messages(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    after: Option<i64>,
) -> Result<Vec<ChatMessage>> {
    member(app, actor, id).await?;
    let mut q = Query::partition(Index::Table, keys::visit_partition(actor.tenant(), id));
    q.sort = match after {
        None => SortCond::BeginsWith(keys::MESSAGE_PREFIX.to_owned()),
        Some(at) => SortCond::Between(
            keys::message_after(at),
            format!("{}~", keys::MESSAGE_PREFIX),
        ),
    };
    q.limit = 1000;
    let page = app.store.query(&q).await?;
    entities(&page.items)
}
