//! What a vendor may prefill in a launch, kept in its scope (never in the
//! URL) for the view it opens: the start view's reason and metadata, the
//! follow-up plan's fields. Stored as `{"consultation": {…}}` or
//! `{"followup": {…}}`.

use serde::{Deserialize, Serialize};

use super::consultation::Metadata;
use super::followup::{DueDate, Frequency};
use super::reasons::ReasonCode;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Prefill {
    Consultation(ConsultationPrefill),
    Followup(FollowupPrefill),
}

/// A consultation to start: its reason (preselected) and the vendor's
/// metadata (given to the consultation the launch's patient gets).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsultationPrefill {
    #[serde(default)]
    pub reason: Option<ReasonCode>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

/// The fields of a follow-up plan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowupPrefill {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<DueDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<Frequency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefills_are_stored_as_they_always_were() {
        let c = Prefill::Consultation(ConsultationPrefill {
            reason: ReasonCode::known("uti"),
            metadata: None,
        });
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"consultation": {"reason": "uti", "metadata": null}})
        );
        let f = Prefill::Followup(FollowupPrefill {
            due_date: DueDate::parse("2026-03-01"),
            frequency: Some(Frequency::Weekly),
            ..FollowupPrefill::default()
        });
        let stored = serde_json::to_value(&f).unwrap();
        assert_eq!(
            stored,
            json!({"followup": {"dueDate": "2026-03-01", "frequency": "weekly"}})
        );
        assert_eq!(serde_json::from_value::<Prefill>(stored).unwrap(), f);
        let old = json!({"consultation": {"reason": null, "metadata": {"order": 1}}});
        assert!(matches!(
            serde_json::from_value::<Prefill>(old).unwrap(),
            Prefill::Consultation(ConsultationPrefill {
                reason: None,
                metadata: Some(_)
            })
        ));
    }
}
