//! The access model of the embedded app: what a browser session may open,
//! read and do. A session is what its launch was for — a role and a reach
//! (`domain::Reach`, recorded in the launch's scope) — and [`RULES`] is the
//! one table that says, for each (role, reach), which views it opens,
//! which ids it reads and which actions it takes. `docs/access.md`
//! explains it.
//!
//! Everything else follows from the table:
//! - a view the row does not open is the "not available in this session"
//!   page (403); an action it does not take is a `403`;
//! - an id outside the reach (a consultation of another patient, another
//!   consultation than the launch's, an id of another franchise) is the
//!   page's 404 state, or a `404` for an action — exactly like an unknown
//!   id, so nothing tells them apart;
//! - `?patientId=` can narrow what a view shows, never widen it: the
//!   patient asked for must be readable too;
//! - the links and the navigation bar show only what the row allows;
//! - the tenant in the path must be the session's: a session is looked up
//!   under the path's tenant, so another franchise's path does not find it.

use crate::domain::{ConsultationId, FollowupId, PatientId, Reach, Role, Scope, View};

/// The actions of the pages (`POST …/actions/{name}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    ConsultationCreate,
    ConsultationSend,
    ConsultationComplete,
    ConsultationArchive,
    ConsultationCancel,
    /// The patient's first action on the questionnaire: SENT → IN_PROGRESS.
    ConsultationOpen,
    ConsultationAnswer,
    FollowupCreate,
    FollowupMove,
    FollowupAnswer,
    FranchiseOnboard,
    FranchiseOffboard,
    /// A provider's moves of a visit, through the same service as the API.
    VisitStart,
    VisitAccept,
    VisitComplete,
    VisitNoShow,
    /// A provider's chat message in a started visit.
    VisitMessage,
    /// A provider's weekly hours and exceptions in one of their rooms.
    AvailabilitySet,
}

impl Act {
    pub const ALL: [Act; 18] = [
        Act::ConsultationCreate,
        Act::ConsultationSend,
        Act::ConsultationComplete,
        Act::ConsultationArchive,
        Act::ConsultationCancel,
        Act::ConsultationOpen,
        Act::ConsultationAnswer,
        Act::FollowupCreate,
        Act::FollowupMove,
        Act::FollowupAnswer,
        Act::FranchiseOnboard,
        Act::FranchiseOffboard,
        Act::VisitStart,
        Act::VisitAccept,
        Act::VisitComplete,
        Act::VisitNoShow,
        Act::VisitMessage,
        Act::AvailabilitySet,
    ];

    /// Its name in the path.
    pub fn name(self) -> &'static str {
        match self {
            Act::ConsultationCreate => "consultation.create",
            Act::ConsultationSend => "consultation.send",
            Act::ConsultationComplete => "consultation.complete",
            Act::ConsultationArchive => "consultation.archive",
            Act::ConsultationCancel => "consultation.cancel",
            Act::ConsultationOpen => "consultation.open",
            Act::ConsultationAnswer => "consultation.answer",
            Act::FollowupCreate => "followup.create",
            Act::FollowupMove => "followup.move",
            Act::FollowupAnswer => "followup.answer",
            Act::FranchiseOnboard => "franchise.onboard",
            Act::FranchiseOffboard => "franchise.offboard",
            Act::VisitStart => "visit.start",
            Act::VisitAccept => "visit.accept",
            Act::VisitComplete => "visit.complete",
            Act::VisitNoShow => "visit.no-show",
            Act::VisitMessage => "visit.message",
            Act::AvailabilitySet => "availability.set",
        }
    }

    pub fn parse(name: &str) -> Option<Act> {
        Act::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// The ids a session may read (besides what its views show without one:
/// the statistics' counts, the franchise's own record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    Nothing,
    /// The reach's patient, and that patient's consultations and follow-ups.
    ThePatient,
    /// The reach's consultation (and its patient, as shown on it).
    TheConsultation,
    /// The reach's follow-up (and its patient, as shown on it).
    TheFollowup,
    /// Every consultation of the franchise, and the list of any patient's.
    Consultations,
    /// Every follow-up of the franchise, and the list of any patient's.
    Followups,
    /// Every patient, consultation and follow-up of the franchise.
    Everything,
}

/// The reaches, as the table names them (`domain::Reach` without its ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Patient,
    Consultation,
    Followup,
    Consultations,
    Followups,
    Statistics,
    Franchise,
    Administration(View),
    Provider,
}

impl Kind {
    pub fn of(reach: &Reach) -> Kind {
        match reach {
            Reach::Patient { .. } => Kind::Patient,
            Reach::Consultation { .. } => Kind::Consultation,
            Reach::Followup { .. } => Kind::Followup,
            Reach::Consultations => Kind::Consultations,
            Reach::Followups => Kind::Followups,
            Reach::Statistics => Kind::Statistics,
            Reach::Franchise => Kind::Franchise,
            Reach::Administration { view } => Kind::Administration(*view),
            Reach::Provider { .. } => Kind::Provider,
        }
    }
}

/// One row of the table.
#[derive(Debug)]
pub struct Rule {
    pub role: Role,
    pub reach: Kind,
    pub opens: &'static [View],
    pub reads: Reads,
    pub does: &'static [Act],
}

use Act as A;
use View as V;

/// What an employee does to a consultation once it exists.
const CONSULTATION_MOVES: &[Act] = &[
    A::ConsultationSend,
    A::ConsultationComplete,
    A::ConsultationArchive,
    A::ConsultationCancel,
];
/// Everything an employee does to patients' care.
const CLINICAL_ACTS: &[Act] = &[
    A::ConsultationCreate,
    A::ConsultationSend,
    A::ConsultationComplete,
    A::ConsultationArchive,
    A::ConsultationCancel,
    A::FollowupCreate,
    A::FollowupMove,
];
/// The views about one patient's care.
const PATIENT_VIEWS: &[View] = &[
    V::ConsultationStart,
    V::ConsultationDashboard,
    V::ConsultationDetails,
    V::FollowupStart,
    V::FollowupPlan,
    V::FollowupDashboard,
    V::FollowupDetails,
];
/// Every employee view but the administration's.
const FRANCHISE_VIEWS: &[View] = &[
    V::ConsultationStart,
    V::ConsultationDashboard,
    V::ConsultationDetails,
    V::FollowupStart,
    V::FollowupPlan,
    V::FollowupDashboard,
    V::FollowupDetails,
    V::Statistics,
    V::VisitsStatistics,
];

const CONSULTATION_LIST: &[View] = &[V::ConsultationDashboard, V::ConsultationDetails];
/// The counts: of consultations and follow-ups, and of visits (a staff
/// user's launch, or the franchise's; never a provider's, whose reach is
/// their rooms, nor a patient's).
const STATISTICS: &[View] = &[V::Statistics, V::VisitsStatistics];
const FOLLOWUP_LIST: &[View] = &[V::FollowupDashboard, V::FollowupDetails];
const ONBOARDING: &[View] = &[V::FranchiseOnboarding, V::FranchiseManagement];
const OFFBOARDING: &[View] = &[V::FranchiseOffboarding, V::FranchiseManagement];
/// A provider's views, and what they do there: their rooms' visits are
/// checked by the views and actions themselves (`views/visits.rs`,
/// `actions.rs`: a room the session's user is not a provider of is a 404).
const PROVIDER_VIEWS: &[View] = &[V::VisitsWaitingRoom, V::VisitsSchedule];
const PROVIDER_ACTS: &[Act] = &[
    A::VisitStart,
    A::VisitAccept,
    A::VisitComplete,
    A::VisitNoShow,
    A::VisitMessage,
    A::AvailabilitySet,
];
/// What a patient does to their consultation.
const ANSWERING: &[Act] = &[A::ConsultationOpen, A::ConsultationAnswer];

const fn rule(
    role: Role,
    reach: Kind,
    opens: &'static [View],
    reads: Reads,
    does: &'static [Act],
) -> Rule {
    Rule {
        role,
        reach,
        opens,
        reads,
        does,
    }
}

const EMPLOYEE: Role = Role::Employee;
const PATIENT: Role = Role::Patient;

/// The access model: (role, reach) → what a session opens, reads, does.
/// A (role, reach) with no row reaches nothing.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    //   role      reach                                           opens                        reads                   does
    // The employee, as the vendor launched them.
    rule(EMPLOYEE, Kind::Patient,                                  PATIENT_VIEWS,               Reads::ThePatient,      CLINICAL_ACTS),
    rule(EMPLOYEE, Kind::Consultation,                             &[V::ConsultationDetails],   Reads::TheConsultation, CONSULTATION_MOVES),
    rule(EMPLOYEE, Kind::Followup,                                 &[V::FollowupDetails],       Reads::TheFollowup,     &[A::FollowupMove]),
    rule(EMPLOYEE, Kind::Consultations,                            CONSULTATION_LIST,           Reads::Consultations,   CONSULTATION_MOVES),
    rule(EMPLOYEE, Kind::Followups,                                FOLLOWUP_LIST,               Reads::Followups,       &[A::FollowupMove]),
    rule(EMPLOYEE, Kind::Statistics,                               STATISTICS,                  Reads::Nothing,         &[]),
    rule(EMPLOYEE, Kind::Franchise,                                FRANCHISE_VIEWS,             Reads::Everything,      CLINICAL_ACTS),
    // Administration: the view launched for, and the management page.
    rule(EMPLOYEE, Kind::Administration(V::FranchiseManagement),   &[V::FranchiseManagement],   Reads::Nothing,         &[]),
    rule(EMPLOYEE, Kind::Administration(V::FranchiseOnboarding),   ONBOARDING,                  Reads::Nothing,         &[A::FranchiseOnboard]),
    rule(EMPLOYEE, Kind::Administration(V::FranchiseOffboarding),  OFFBOARDING,                 Reads::Nothing,         &[A::FranchiseOffboard]),
    // The provider: their rooms' queues, eConsults, appointments, visits.
    rule(EMPLOYEE, Kind::Provider,                                 PROVIDER_VIEWS,              Reads::Nothing,         PROVIDER_ACTS),
    // The patient: their questionnaire, nothing else.
    rule(PATIENT,  Kind::Patient,                                  &[V::ConsultationAnswer],    Reads::ThePatient,      ANSWERING),
    rule(PATIENT,  Kind::Consultation,                             &[V::ConsultationAnswer],    Reads::TheConsultation, ANSWERING),
    rule(PATIENT,  Kind::Followup,                                 &[V::FollowupAnswer],        Reads::TheFollowup,     &[A::FollowupAnswer]),
];

/// Something a session may want to read.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A patient: their record, or their list (a dashboard's filter).
    Patient(&'a PatientId),
    /// A consultation, of its patient.
    Consultation(&'a ConsultationId, &'a PatientId),
    /// A follow-up, of its patient.
    Followup(&'a FollowupId, &'a PatientId),
    /// Every patient's consultations (a dashboard of all patients).
    AllConsultations,
    /// Every patient's follow-ups.
    AllFollowups,
}

/// What one session may do: its row of the table, with its reach.
#[derive(Debug, Clone)]
pub struct Access {
    rule: Option<&'static Rule>,
    reach: Option<Reach>,
}

impl Access {
    /// The access of a session of `scope`.
    pub fn of(scope: &Scope) -> Self {
        let reach = scope.reach();
        let rule = reach.as_ref().and_then(|r| {
            RULES
                .iter()
                .find(|rule| rule.role == scope.role && rule.reach == Kind::of(r))
        });
        Self { rule, reach }
    }

    pub fn may_open(&self, view: View) -> bool {
        self.rule.is_some_and(|r| r.opens.contains(&view))
    }

    pub fn may_do(&self, act: Act) -> bool {
        self.rule.is_some_and(|r| r.does.contains(&act))
    }

    /// May the session read `target`?
    pub fn may_read(&self, target: Target<'_>) -> bool {
        let (Some(rule), Some(reach)) = (self.rule, &self.reach) else {
            return false;
        };
        match (rule.reads, target) {
            (Reads::Everything, _) => true,
            (
                Reads::Consultations,
                Target::Patient(_) | Target::Consultation(..) | Target::AllConsultations,
            ) => true,
            (
                Reads::Followups,
                Target::Patient(_) | Target::Followup(..) | Target::AllFollowups,
            ) => true,
            (
                Reads::ThePatient,
                Target::Patient(p) | Target::Consultation(_, p) | Target::Followup(_, p),
            ) => reach.patient() == Some(p),
            (Reads::TheConsultation, Target::Consultation(c, _)) => {
                matches!(reach, Reach::Consultation { consultation_id } if consultation_id == c)
            }
            (Reads::TheFollowup, Target::Followup(f, _)) => {
                matches!(reach, Reach::Followup { followup_id } if followup_id == f)
            }
            _ => false,
        }
    }

    /// The one patient the session is about, when its reach is one patient
    /// (its views show that patient, whatever the query asks).
    pub fn patient(&self) -> Option<&PatientId> {
        self.reach.as_ref().and_then(Reach::patient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, Locale, UserId};

    fn id<T: crate::domain::ids::Id>(s: &str) -> T {
        T::parse(s).unwrap()
    }

    fn scope(view: View, reach: Option<Reach>) -> Scope {
        Scope {
            account_id: id::<AccountId>("a"),
            user_id: UserId::parse("u").unwrap(),
            role: view.role(),
            view,
            locale: Locale::En,
            patient_id: None,
            consultation_id: None,
            followup_id: None,
            prefill: None,
            reach,
            key_id: None,
            key_expires_at: None,
        }
    }

    #[test]
    fn every_launch_opens_its_own_view_and_a_patient_nothing_of_the_employee() {
        let (p, c, f) = (id("p"), id("c"), id("f"));
        for view in View::ALL {
            for wide in [false, true] {
                let reach = Reach::of_launch(view, Some(&p), Some(&c), Some(&f), wide);
                let access = Access::of(&scope(view, reach));
                assert!(access.may_open(view), "{view:?} (wide: {wide})");
                for other in View::ALL {
                    if access.may_open(other) {
                        assert_eq!(other.role(), view.role(), "{view:?} opens {other:?}");
                        assert_eq!(
                            other.is_admin(),
                            view.is_admin(),
                            "{view:?} opens {other:?}"
                        );
                    }
                }
            }
        }
        // One row per (role, reach).
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[..i] {
                assert!(a.role != b.role || a.reach != b.reach, "{a:?} twice");
            }
            for act in a.does {
                let patient_act = matches!(
                    act,
                    A::ConsultationOpen | A::ConsultationAnswer | A::FollowupAnswer
                );
                assert_eq!(patient_act, a.role == Role::Patient, "{a:?}");
            }
        }
    }

    #[test]
    fn the_franchise_is_offboarded_only_from_its_offboarding_view() {
        for view in View::ALL {
            let access = Access::of(&scope(view, Reach::of_launch(view, None, None, None, true)));
            assert_eq!(
                access.may_do(A::FranchiseOffboard),
                view == V::FranchiseOffboarding,
                "{view:?}"
            );
            assert_eq!(
                access.may_do(A::FranchiseOnboard),
                view == V::FranchiseOnboarding,
                "{view:?}"
            );
        }
    }

    #[test]
    fn ids_inside_the_reach_only_and_a_scope_that_names_nothing_reaches_nothing() {
        let (p, q) = (id::<PatientId>("p"), id::<PatientId>("q"));
        let (c, d) = (id::<ConsultationId>("c"), id::<ConsultationId>("d"));
        let one_patient = Access::of(&scope(
            V::ConsultationStart,
            Some(Reach::Patient {
                patient_id: p.clone(),
            }),
        ));
        assert!(one_patient.may_read(Target::Patient(&p)));
        assert!(!one_patient.may_read(Target::Patient(&q)));
        assert!(one_patient.may_read(Target::Consultation(&d, &p)));
        assert!(!one_patient.may_read(Target::Consultation(&c, &q)));
        assert!(!one_patient.may_read(Target::AllConsultations));
        let one = Access::of(&scope(
            V::ConsultationDetails,
            Some(Reach::Consultation {
                consultation_id: c.clone(),
            }),
        ));
        assert!(one.may_read(Target::Consultation(&c, &p)));
        assert!(!one.may_read(Target::Consultation(&d, &p)));
        assert!(!one.may_read(Target::Patient(&p)));
        let list = Access::of(&scope(V::ConsultationDashboard, Some(Reach::Consultations)));
        assert!(list.may_read(Target::AllConsultations) && list.may_read(Target::Patient(&q)));
        assert!(!list.may_read(Target::AllFollowups));
        // A stored scope without a reach: what its view and ids give; a
        // patient's that names neither a patient nor a consultation reaches
        // nothing (it does not fail open).
        let nothing = Access::of(&scope(V::ConsultationAnswer, None));
        for view in View::ALL {
            assert!(!nothing.may_open(view));
        }
        assert!(!nothing.may_read(Target::Consultation(&c, &p)));
        assert!(!nothing.may_do(A::ConsultationAnswer));
        let mut legacy = scope(V::ConsultationAnswer, None);
        legacy.consultation_id = Some(c.clone());
        let legacy = Access::of(&legacy);
        assert!(legacy.may_read(Target::Consultation(&c, &q)));
        assert!(!legacy.may_read(Target::Consultation(&d, &q)));
    }
}
