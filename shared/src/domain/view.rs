//! The embedded views a launch can open: an area and a view slug, as they
//! appear in `/{locale}/embed/franchise/{tenantKey}/{area}/{view}`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    ConsultationStart,
    ConsultationDashboard,
    ConsultationDetails,
    ConsultationAnswer,
    FollowupStart,
    FollowupDashboard,
    FollowupDetails,
    FollowupPlan,
    FollowupAnswer,
    FranchiseManagement,
    FranchiseOnboarding,
    FranchiseOffboarding,
    Statistics,
    /// The provider's waiting room: the queue, eConsults to accept, today's
    /// appointments, and a started visit's room with its chat.
    VisitsWaitingRoom,
    /// The provider's schedule: today's appointments and the availability
    /// editor.
    VisitsSchedule,
    /// The statistics of the franchise's visits (charts).
    VisitsStatistics,
}

/// Who the redeemed session acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Employee,
    Patient,
}

/// What a view needs in its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// A patient, optionally (a filter).
    OptionalPatient,
    /// A patient, always.
    Patient,
    /// A consultation by id, or a patient (whose latest consultation it is).
    ConsultationOrPatient,
    /// A follow-up by id, or a patient.
    FollowupOrPatient,
    /// A follow-up by id, always.
    Followup,
}

impl View {
    pub const ALL: [View; 16] = [
        View::ConsultationStart,
        View::ConsultationDashboard,
        View::ConsultationDetails,
        View::ConsultationAnswer,
        View::FollowupStart,
        View::FollowupDashboard,
        View::FollowupDetails,
        View::FollowupPlan,
        View::FollowupAnswer,
        View::FranchiseManagement,
        View::FranchiseOnboarding,
        View::FranchiseOffboarding,
        View::Statistics,
        View::VisitsWaitingRoom,
        View::VisitsSchedule,
        View::VisitsStatistics,
    ];

    /// The `{area}/{view}` path segments.
    pub fn segments(self) -> (&'static str, &'static str) {
        match self {
            View::ConsultationStart => ("consultation", "start"),
            View::ConsultationDashboard => ("consultation", "dashboard"),
            View::ConsultationDetails => ("consultation", "details"),
            View::ConsultationAnswer => ("consultation", "answer"),
            View::FollowupStart => ("followup", "start"),
            View::FollowupDashboard => ("followup", "dashboard"),
            View::FollowupDetails => ("followup", "details"),
            View::FollowupPlan => ("followup", "plan"),
            View::FollowupAnswer => ("followup", "answer"),
            View::FranchiseManagement => ("administration", "franchise-management"),
            View::FranchiseOnboarding => ("administration", "franchise-onboarding"),
            View::FranchiseOffboarding => ("administration", "franchise-offboarding"),
            View::Statistics => ("statistics", "dashboard"),
            View::VisitsWaitingRoom => ("visits", "waiting-room"),
            View::VisitsSchedule => ("visits", "schedule"),
            View::VisitsStatistics => ("visits", "statistics"),
        }
    }

    pub fn from_segments(area: &str, view: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.segments() == (area, view))
    }

    pub fn role(self) -> Role {
        match self {
            View::ConsultationAnswer | View::FollowupAnswer => Role::Patient,
            _ => Role::Employee,
        }
    }

    /// A view of the franchise's administration (it changes the franchise
    /// itself, not a patient's care).
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            View::FranchiseManagement | View::FranchiseOnboarding | View::FranchiseOffboarding
        )
    }

    /// A provider's view (the patient side's visits): its session reaches
    /// the rooms its user is a provider of.
    pub fn is_provider(self) -> bool {
        matches!(self, View::VisitsWaitingRoom | View::VisitsSchedule)
    }

    pub fn needs(self) -> Needs {
        match self {
            View::ConsultationStart | View::FollowupStart | View::FollowupPlan => Needs::Patient,
            View::ConsultationDashboard | View::FollowupDashboard => Needs::OptionalPatient,
            View::ConsultationDetails | View::ConsultationAnswer => Needs::ConsultationOrPatient,
            View::FollowupDetails => Needs::FollowupOrPatient,
            View::FollowupAnswer => Needs::Followup,
            View::FranchiseManagement
            | View::FranchiseOnboarding
            | View::FranchiseOffboarding
            | View::Statistics
            | View::VisitsWaitingRoom
            | View::VisitsSchedule
            | View::VisitsStatistics => Needs::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip() {
        for v in View::ALL {
            let (a, s) = v.segments();
            assert_eq!(View::from_segments(a, s), Some(v));
        }
        assert_eq!(View::from_segments("consultation", "nope"), None);
    }
}
