//! The operations: plain async functions over the ports (`App`), knowing
//! nothing of HTTP. Handlers translate requests into these calls; every
//! store key they use comes from `store::keys`.

pub mod admin;
pub mod attempt;
pub mod auth;
pub mod clinic;
pub mod consultations;
pub mod creation;
#[cfg(feature = "local")]
pub mod demo;
pub mod dispatch;
pub mod event_list;
pub mod event_queues;
pub mod followups;
pub mod idempotency;
pub mod launch;
pub mod lists;
pub mod notify;
pub mod people;
pub mod rekey;
pub mod retry;
pub mod revocation;
pub mod stream;
pub mod subscriptions;
pub mod webhooks;
pub mod work;

use serde::de::DeserializeOwned;

use crate::app::App;
use crate::error::{Error, Result};
use crate::store::{Key, items};

/// The entity stored at `key`, if there is one (one `GetItem`).
pub(crate) async fn find<T: DeserializeOwned>(app: &App, key: &Key) -> Result<Option<T>> {
    let item = app.store.get(key).await?;
    item.as_ref().map(items::entity_of).transpose()
}

/// The entity stored at `key`, or a `404` saying `missing`.
pub(crate) async fn get<T: DeserializeOwned>(app: &App, key: &Key, missing: &str) -> Result<T> {
    find(app, key)
        .await?
        .ok_or_else(|| Error::not_found(missing))
}
