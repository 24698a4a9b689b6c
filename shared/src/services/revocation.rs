//! Whether what a launch or a browser session stands for still holds: the
//! one check that every redemption, page render and page action goes
//! through (`launch::redeem`, `launch::session`).
//!
//! Refused, as if it had expired:
//! - any session of a franchise that is offboarded;
//! - a session started (or a launch issued) at or before the franchise's
//!   `sessionsValidAfter` (the operator's `franchise revoke-sessions`, and
//!   every offboarding);
//! - a session launched by an API key that is revoked or expired (the key
//!   id is in the launch's scope; the answer links the notifier sends have
//!   none).
//!
//! The franchise and the key are read through the caches, so a change is
//! seen everywhere within the cache's bound (`EMBEDCARE_CACHE_TTL_SECONDS`),
//! at no cost on a warm instance.

use super::auth;
use crate::app::App;
use crate::domain::{Scope, TenantKey};
use crate::error::Result;

/// May a session (or a launch) of `scope` in `tenant`, started (issued) at
/// `started_at`, still be used?
pub(crate) async fn still_valid(
    app: &App,
    tenant: &TenantKey,
    scope: &Scope,
    started_at: i64,
) -> Result<bool> {
    let Some(franchise) = auth::franchise(app, tenant).await? else {
        return Ok(false);
    };
    if !franchise.admits_session_of(started_at) {
        return Ok(false);
    }
    let Some(key_id) = &scope.key_id else {
        return Ok(true);
    };
    let key = auth::key_record(app, key_id).await?;
    Ok(key.is_some_and(|k| k.is_usable(app.now_ms())))
}
