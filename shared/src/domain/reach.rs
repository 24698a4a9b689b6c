//! What a launch may reach — and so the browser session it starts: one
//! patient, one consultation, one follow-up, one of the lists, the
//! statistics, one administration view, or the whole franchise when the
//! vendor asks for it explicitly (`scope: "franchise"`). Decided when the
//! launch is issued, from its view and ids, and recorded in its scope; what
//! each reach lets a session open, read and do is the one access table of
//! the embedded app (`http/pages/access.rs`).

use serde::{Deserialize, Serialize};

use super::clinic::RoomCode;
use super::ids::{ConsultationId, FollowupId, PatientId};
use super::view::{Role, View};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Reach {
    /// One patient: a start or plan view, a dashboard filtered to the
    /// patient, the details (or the answer view) asked for by patient key.
    Patient { patient_id: PatientId },
    /// One consultation: its details (or its answer view) by id.
    Consultation { consultation_id: ConsultationId },
    /// One follow-up: its details (or its answer view) by id.
    Followup { followup_id: FollowupId },
    /// The consultation list (a dashboard launched for no patient).
    Consultations,
    /// The follow-up list (a dashboard launched for no patient).
    Followups,
    /// The statistics.
    Statistics,
    /// Every employee view of the franchise: asked for by the vendor.
    Franchise,
    /// One administration view (and the franchise's management page).
    Administration { view: View },
    /// A provider's views: the rooms of the franchise the session's user
    /// is a provider of (checked on every read and action), opened on
    /// `room_code` when the launch named one.
    Provider {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room_code: Option<RoomCode>,
    },
}

impl Reach {
    /// The reach of a launch of `view` for these ids: the narrowest its
    /// view needs, or the franchise when the vendor asked for it (`wide`:
    /// for the employee's clinical views and statistics only; the patient's
    /// views and the administration views keep their own). `None`: the
    /// view needs an id it was not given, and reaches nothing.
    pub fn of_launch(
        view: View,
        patient: Option<&PatientId>,
        consultation: Option<&ConsultationId>,
        followup: Option<&FollowupId>,
        wide: bool,
    ) -> Option<Reach> {
        if view.is_admin() {
            return Some(Reach::Administration { view });
        }
        if view.is_provider() {
            return Some(Reach::Provider { room_code: None });
        }
        if wide && view.role() == Role::Employee {
            return Some(Reach::Franchise);
        }
        let patient = || {
            patient.map(|p| Reach::Patient {
                patient_id: p.clone(),
            })
        };
        let consultation = || {
            consultation.map(|c| Reach::Consultation {
                consultation_id: c.clone(),
            })
        };
        let followup = || {
            followup.map(|f| Reach::Followup {
                followup_id: f.clone(),
            })
        };
        match view {
            View::Statistics | View::VisitsStatistics => Some(Reach::Statistics),
            View::ConsultationDashboard => patient().or(Some(Reach::Consultations)),
            View::FollowupDashboard => patient().or(Some(Reach::Followups)),
            View::ConsultationDetails | View::ConsultationAnswer => consultation().or_else(patient),
            View::FollowupDetails => followup().or_else(patient),
            View::FollowupAnswer => followup(),
            View::ConsultationStart | View::FollowupStart | View::FollowupPlan => patient(),
            View::FranchiseManagement | View::FranchiseOnboarding | View::FranchiseOffboarding => {
                Some(Reach::Administration { view })
            }
            View::VisitsWaitingRoom | View::VisitsSchedule => {
                Some(Reach::Provider { room_code: None })
            }
        }
    }

    /// The patient this reach is about, when it is one patient.
    pub fn patient(&self) -> Option<&PatientId> {
        match self {
            Reach::Patient { patient_id } => Some(patient_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launch_reaches_what_its_view_needs_and_the_franchise_only_when_asked() {
        let p = PatientId::parse("p").unwrap();
        let c = ConsultationId::parse("c").unwrap();
        let f = FollowupId::parse("f").unwrap();
        let of = |view, p, c, f, wide| Reach::of_launch(view, p, c, f, wide);
        let one = Some(Reach::Patient {
            patient_id: p.clone(),
        });
        assert_eq!(
            of(View::ConsultationStart, Some(&p), None, None, false),
            one
        );
        assert_eq!(of(View::ConsultationStart, None, None, None, false), None);
        assert_eq!(
            of(View::ConsultationDashboard, Some(&p), None, None, false),
            one
        );
        assert_eq!(
            of(View::ConsultationDashboard, None, None, None, false),
            Some(Reach::Consultations)
        );
        assert_eq!(
            of(View::FollowupDashboard, None, None, None, false),
            Some(Reach::Followups)
        );
        // By id, narrower than by patient.
        assert_eq!(
            of(View::ConsultationDetails, Some(&p), Some(&c), None, false),
            Some(Reach::Consultation {
                consultation_id: c.clone()
            })
        );
        assert_eq!(
            of(View::FollowupAnswer, Some(&p), None, Some(&f), true),
            Some(Reach::Followup {
                followup_id: f.clone()
            })
        );
        assert_eq!(of(View::FollowupAnswer, Some(&p), None, None, false), None);
        // Asked for: the franchise, but never for a patient's or an
        // administration view.
        for v in View::ALL {
            let wide = of(v, Some(&p), Some(&c), Some(&f), true);
            if v.is_provider() {
                assert_eq!(wide, Some(Reach::Provider { room_code: None }), "{v:?}");
                continue;
            }
            match (v.role(), v.is_admin()) {
                (_, true) => assert_eq!(wide, Some(Reach::Administration { view: v })),
                (Role::Employee, false) => assert_eq!(wide, Some(Reach::Franchise), "{v:?}"),
                (Role::Patient, false) => assert_ne!(wide, Some(Reach::Franchise), "{v:?}"),
            }
        }
        // Stored as tagged JSON.
        let stored = serde_json::to_value(Reach::Followup {
            followup_id: f.clone(),
        })
        .unwrap();
        assert_eq!(
            stored,
            serde_json::json!({"kind": "followup", "followupId": "f"})
        );
        assert_eq!(
            serde_json::from_value::<Reach>(
                serde_json::json!({"kind": "administration", "view": "franchise-offboarding"})
            )
            .unwrap(),
            Reach::Administration {
                view: View::FranchiseOffboarding
            }
        );
    }
}
