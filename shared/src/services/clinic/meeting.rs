//! A visit's video meeting follows its moves: opened when the visit
//! starts, closed when it ends (any final status from `IN_PROGRESS`: the
//! provider's end, a completion), through the port
//! `crate::video::VideoRooms`. Called by the one save of a visit's moves
//! (`visits.rs`), after it is written; best effort: a failure is logged,
//! and a participant's video key ensures the meeting again.

use crate::app::App;
use crate::domain::clinic::{Visit, VisitStatus};
use crate::video::Room;

/// The visit moved from `previous`: its meeting opens on the start and
/// closes at the end. Never fails (what failed goes to the log).
pub async fn visit_moved(app: &App, v: &Visit, previous: VisitStatus) {
    let room = Room {
        tenant: &v.tenant_key,
        visit: &v.visit_id,
    };
    let r = if v.status == VisitStatus::InProgress && previous != VisitStatus::InProgress {
        app.video().open(room).await
    } else if v.status.is_final() && previous == VisitStatus::InProgress {
        app.video().close(room).await
    } else {
        return;
    };
    if let Err(e) = r {
        tracing::warn!(visit = %v.visit_id, error = %e, "the visit's meeting did not follow its move");
    }
}
