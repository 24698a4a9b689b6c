//! Who may open what, and who may act, inside a browser session.
//!
//! A launch opens one view; the browser session it starts may then move
//! inside the iframe (dashboard → details → back) without a new launch:
//!
//! - an **employee** session may open every employee view of *its own
//!   franchise* — the clinical views (consultations, follow-ups) and the
//!   statistics. Ids come from the query string (`?consultationId=…`,
//!   `?followupId=…`, `?patientId=…`) and are looked up in the session's
//!   tenant only, so an id of another franchise is the page's 404 state,
//!   exactly like an unknown one. The **administration** views change the
//!   franchise itself: they open only in a session that was launched for an
//!   administration view (the vendor decides who may administer);
//! - a **patient** session may open only the answer view, for its own
//!   consultation: the one in its scope, or one of its own patient's
//!   (`?consultationId=` of another patient is a 404);
//! - the tenant in the path must be the session's: a session is looked up
//!   under the path's tenant, so another franchise's path does not find it.
//!
//! Any other view is the "not available in this session" page (403). The
//! same three kinds of session ([`Who`]) decide which actions a session may
//! take.

use crate::domain::{Consultation, ConsultationId, Role, Scope, View};

/// The kinds of session that may open a view or take an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Any employee session.
    Employee,
    /// An employee session launched for an administration view.
    Administrator,
    /// A patient session launched for its answer view.
    Patient,
}

/// The one table: who may open each view.
fn opened_by(view: View) -> Who {
    match view {
        View::ConsultationAnswer => Who::Patient,
        View::FranchiseManagement | View::FranchiseOnboarding | View::FranchiseOffboarding => {
            Who::Administrator
        }
        View::ConsultationStart
        | View::ConsultationDashboard
        | View::ConsultationDetails
        | View::FollowupStart
        | View::FollowupDashboard
        | View::FollowupDetails
        | View::FollowupPlan
        | View::Statistics => Who::Employee,
    }
}

/// A view of the franchise's administration.
pub fn is_admin(view: View) -> bool {
    opened_by(view) == Who::Administrator
}

/// Whether this session is of the kind `who`.
pub fn is(scope: &Scope, who: Who) -> bool {
    match (scope.role, who) {
        (Role::Patient, Who::Patient) => scope.view == View::ConsultationAnswer,
        (Role::Employee, Who::Employee) => true,
        (Role::Employee, Who::Administrator) => is_admin(scope.view),
        _ => false,
    }
}

/// May this session open `view`? (See the module's documentation.)
pub fn may_open(scope: &Scope, view: View) -> bool {
    is(scope, opened_by(view))
}

/// Whether a patient session may see `c`: its own consultation (the one in
/// its scope, if any, of its own patient).
pub fn owns(scope: &Scope, c: &Consultation, asked: &ConsultationId) -> bool {
    scope.patient_id.as_ref().is_none_or(|p| *p == c.patient_id)
        && scope.consultation_id.as_ref().is_none_or(|s| s == asked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, Locale, UserId};

    fn scope(role: Role, view: View) -> Scope {
        Scope {
            account_id: AccountId::parse("a").unwrap(),
            user_id: UserId::parse("u").unwrap(),
            role,
            view,
            locale: Locale::En,
            patient_id: None,
            consultation_id: None,
            followup_id: None,
            prefill: None,
            key_id: None,
            key_expires_at: None,
        }
    }

    #[test]
    fn who_may_open_what() {
        let employee = scope(Role::Employee, View::ConsultationStart);
        let admin = scope(Role::Employee, View::FranchiseManagement);
        let patient = scope(Role::Patient, View::ConsultationAnswer);
        for v in View::ALL {
            assert_eq!(may_open(&patient, v), v == View::ConsultationAnswer);
            assert_eq!(
                may_open(&employee, v),
                v != View::ConsultationAnswer && !is_admin(v),
                "{v:?}"
            );
            assert_eq!(may_open(&admin, v), v != View::ConsultationAnswer, "{v:?}");
        }
    }
}
