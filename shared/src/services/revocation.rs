//! Whether what a launch or a browser session stands for still holds: the
//! one check that every redemption, page render and page action goes
//! through (`launch::redeem`, `launch::session`).
//!
//! Refused, as if it had expired:
//! - any session of a franchise that is offboarded;
//! - a session started (or a launch issued) at or before the franchise's
//!   `sessionsValidAfter` (the operator's `franchise revoke-sessions`, and
//!   every offboarding);
//! - a session launched by an API key that is revoked (its franchises
//!   record it: `admin::revoke_api_key`) or expired (its expiry is in the
//!   launch's scope). The answer links the notifier sends have no key.
//!
//! Only the franchise is read, through the cache: a change is seen
//! everywhere within the cache's bound (`EMBEDCARE_CACHE_TTL_SECONDS`), at
//! no cost on a warm instance, and the pages never read an API key (their
//! role may not).

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
    if scope.key_expires_at.is_some_and(|e| e <= app.now_ms()) {
        return Ok(false);
    }
    let franchise = auth::franchise(app, tenant).await?;
    Ok(franchise.is_some_and(|f| f.admits_session_of(started_at, scope.key_id.as_ref())))
}
