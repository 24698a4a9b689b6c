//! The scheduler port: a one-shot timer per reminder of a scheduled visit
//! (24 hours and 1 hour before its start), created when the visit is
//! booked and deleted when it is cancelled or ends. Amazon EventBridge
//! Scheduler in AWS (`eventbridge.rs`: one schedule per reminder, invoking
//! the visit notifier with the reminder's payload); on one machine, the
//! reminder as an item of the store, sent by the local server's loop when
//! it is due (`store.rs`: a restart loses nothing).
//!
//! A reminder names a franchise, a visit and its kind: ids only, no
//! personal data (the notifier reads the rest when it is due).

pub mod eventbridge;
pub mod store;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::crypto::hash_secret;
pub use crate::domain::clinic::ReminderKind;
use crate::domain::{TenantKey, VisitId};

/// One reminder of one visit, due at `at` (epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub tenant: TenantKey,
    pub visit_id: VisitId,
    pub kind: ReminderKind,
    pub at: i64,
}

impl Reminder {
    /// What the timer hands the notifier when it fires: ids only.
    pub fn payload(&self) -> Value {
        json!({"reminder": {
            "tenantKey": self.tenant,
            "visitId": self.visit_id,
            "kind": self.kind.as_str(),
        }})
    }

    /// The reminder a timer's payload names, if it is one.
    pub fn of_payload(payload: &Value) -> Option<(TenantKey, VisitId, ReminderKind)> {
        let r = payload.get("reminder")?;
        Some((
            TenantKey::parse(r.get("tenantKey")?.as_str()?)?,
            VisitId::parse(r.get("visitId")?.as_str()?)?,
            ReminderKind::parse(r.get("kind")?.as_str()?)?,
        ))
    }
}

/// The name of a reminder's schedule: derived from its franchise, visit
/// and kind only, so that creating it twice makes one schedule, and a
/// deletion finds it without a lookup. (A hash: a tenant key and a visit
/// id together may be longer than a schedule name, and need not be read
/// from it.)
pub fn schedule_name(tenant: &TenantKey, visit: &VisitId, kind: ReminderKind) -> String {
    let digest = hash_secret(&format!("{tenant}\u{0}{visit}\u{0}{}", kind.as_str()));
    format!("visit-{}-{}", kind.as_str(), &digest[..40])
}

#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Arranges for `reminder` to be handed to the notifier at its time;
    /// arranging one that exists already is no error.
    async fn create(&self, reminder: &Reminder) -> Result<(), String>;

    /// Cancels a reminder; one that does not exist (never made, already
    /// sent) is no error.
    async fn delete(
        &self,
        tenant: &TenantKey,
        visit: &VisitId,
        kind: ReminderKind,
    ) -> Result<(), String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_and_names() {
        let r = Reminder {
            tenant: TenantKey::parse("demo").unwrap(),
            visit_id: VisitId::parse("v-1").unwrap(),
            kind: ReminderKind::HourBefore,
            at: 5,
        };
        let p = r.payload();
        assert_eq!(
            Reminder::of_payload(&p),
            Some((r.tenant.clone(), r.visit_id.clone(), r.kind))
        );
        assert_eq!(Reminder::of_payload(&json!({"detail-type": "x"})), None);
        let name = schedule_name(&r.tenant, &r.visit_id, r.kind);
        assert_eq!(name, schedule_name(&r.tenant, &r.visit_id, r.kind));
        assert!(name.starts_with("visit-1h-") && name.len() <= 64, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let other = schedule_name(&r.tenant, &r.visit_id, ReminderKind::DayBefore);
        assert_ne!(name, other);
        assert_eq!(ReminderKind::parse("24h"), Some(ReminderKind::DayBefore));
    }
}
