//! Events: every change of state of a consultation, a follow-up, a
//! franchise or a webhook endpoint (disabled by us) becomes one event, written in the same transaction as the change
//! (the transactional outbox, `outbox.rs`), then relayed to the bus from the
//! table's stream (`relay.rs`). Delivery is at least once and never lost;
//! consumers deduplicate on `id`. The page where the change happened posts
//! the same body (same `id`) to the host as a browser message.
//!
//! Events carry identifiers, statuses and timestamps only: never names,
//! contact details, patient keys or answers, nor a consultation's reason
//! (health information too: a consumer that needs it reads the consultation
//! through the API). Their JSON Schemas are in
//! `events/schemas/`.
//!
//! The bus is a port (`EventBus`): EventBridge in AWS (`eventbridge.rs`), an
//! in-process bus on the local server (`local.rs`). Vendors outside AWS get
//! the same bodies, with the same ids, as webhooks, on the subscription
//! stream and in the event list (`services::dispatch`); there an event's
//! type is its detail type's name (`EventTypeName`: `consultation.created`).

pub mod eventbridge;
#[cfg(feature = "local")]
pub mod local;
pub mod outbox;
pub mod redrive;
pub mod relay;

use async_trait::async_trait;
use serde::Serialize;

use crate::clock::iso_ms;
use crate::domain::clinic::{RoomCode, Visit, VisitStatus, VisitType};
use crate::domain::subscription::EventTypeName;
use crate::domain::{
    Consultation, ConsultationId, ConsultationStatus, DueDate, EndpointId, EventId, Followup,
    FollowupId, FollowupStatus, FranchiseStatus, PatientId, TenantKey, VisitId,
};

/// The `source` of every event on the bus.
pub const SOURCE: &str = "embedcare";

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Consultation,
    Followup,
    Franchise,
    Webhook,
    Visit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Create,
    Update,
}

/// An event body: `{id, createdAt, eventType, operation, status, tenantKey,
/// data}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: EventId,
    pub created_at: String,
    pub event_type: Kind,
    pub operation: Operation,
    /// The status after the change.
    pub status: &'static str,
    pub tenant_key: TenantKey,
    pub data: Data,
    /// `created_at` in epoch milliseconds (not part of the body).
    #[serde(skip)]
    pub created_ms: i64,
}

/// The `data` of an event, by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Data {
    Consultation(ConsultationData),
    Followup(FollowupData),
    Franchise(FranchiseData),
    Webhook(WebhookData),
    Visit(VisitData),
}

/// A visit's event: ids, type, room, statuses and version only (never the
/// reason for the visit, names or concerns).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitData {
    pub visit_id: VisitId,
    pub patient_id: PatientId,
    pub provider_id: Option<crate::domain::UserId>,
    #[serde(rename = "type")]
    pub visit_type: VisitType,
    pub room_code: RoomCode,
    pub previous_status: Option<VisitStatus>,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsultationData {
    pub consultation_id: ConsultationId,
    pub patient_id: PatientId,
    pub previous_status: Option<ConsultationStatus>,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowupData {
    pub followup_id: FollowupId,
    pub patient_id: PatientId,
    pub consultation_id: Option<ConsultationId>,
    pub previous_status: Option<FollowupStatus>,
    pub version: u64,
    pub due_date: DueDate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FranchiseData {
    pub previous_status: FranchiseStatus,
    pub version: u64,
}

/// A webhook endpoint we disabled: it answered `410 Gone` (`reason`
/// `gone`), or its deliveries failed for days (`failing`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookData {
    pub endpoint_id: EndpointId,
    pub reason: &'static str,
    pub version: u64,
}

/// The status of a `Webhook Endpoint Disabled` event.
pub const ENDPOINT_DISABLED: &str = "disabled";

impl Event {
    /// EventBridge's `detail-type`: `Consultation Created`, `Followup Updated`…
    pub fn detail_type(&self) -> String {
        let verb = match self.operation {
            Operation::Create => "Created",
            Operation::Update => "Updated",
        };
        let reactivated = matches!(&self.data, Data::Franchise(d)
            if d.previous_status == FranchiseStatus::Offboarded);
        match self.event_type {
            Kind::Franchise if reactivated => "Franchise Reactivated".into(),
            Kind::Franchise if self.status == FranchiseStatus::Offboarded.as_str() => {
                "Franchise Offboarded".into()
            }
            Kind::Franchise => "Franchise Onboarded".into(),
            Kind::Webhook => "Webhook Endpoint Disabled".into(),
            Kind::Followup => format!("Followup {verb}"),
            Kind::Consultation => format!("Consultation {verb}"),
            Kind::Visit => format!("Visit {verb}"),
        }
    }

    fn new(
        kind: Kind,
        created: bool,
        status: &'static str,
        tenant: &TenantKey,
        data: Data,
        now: i64,
    ) -> Self {
        Self {
            id: EventId::generate(),
            created_at: iso_ms(now),
            event_type: kind,
            operation: if created {
                Operation::Create
            } else {
                Operation::Update
            },
            status,
            tenant_key: tenant.clone(),
            data,
            created_ms: now,
        }
    }

    /// The event's type name for vendors: `consultation.created`…
    pub fn type_name(&self) -> Option<EventTypeName> {
        EventTypeName::of_detail_type(&self.detail_type())
    }

    /// A consultation was created (`previous` is `None`) or changed.
    pub fn consultation(c: &Consultation, previous: Option<ConsultationStatus>, now: i64) -> Self {
        let data = Data::Consultation(ConsultationData {
            consultation_id: c.consultation_id.clone(),
            patient_id: c.patient_id.clone(),
            previous_status: previous,
            version: c.version,
        });
        let created = previous.is_none();
        Self::new(
            Kind::Consultation,
            created,
            c.status.as_str(),
            &c.tenant_key,
            data,
            now,
        )
    }

    /// A follow-up was created (`previous` is `None`) or changed.
    pub fn followup(f: &Followup, previous: Option<FollowupStatus>, now: i64) -> Self {
        let data = Data::Followup(FollowupData {
            followup_id: f.followup_id.clone(),
            patient_id: f.patient_id.clone(),
            consultation_id: f.consultation_id.clone(),
            previous_status: previous,
            version: f.version,
            due_date: f.due_date,
        });
        let created = previous.is_none();
        Self::new(
            Kind::Followup,
            created,
            f.status.as_str(),
            &f.tenant_key,
            data,
            now,
        )
    }

    /// A visit was created (`previous` is `None`) or changed.
    pub fn visit(v: &Visit, previous: Option<VisitStatus>, now: i64) -> Self {
        let data = Data::Visit(VisitData {
            visit_id: v.visit_id.clone(),
            patient_id: v.patient_id.clone(),
            provider_id: v.provider_id.clone(),
            visit_type: v.visit_type,
            room_code: v.room_code.clone(),
            previous_status: previous,
            version: v.version,
        });
        Self::new(
            Kind::Visit,
            previous.is_none(),
            v.status.as_str(),
            &v.tenant_key,
            data,
            now,
        )
    }

    /// A franchise onboarded (`ONBOARDED`), offboarded (`OFFBOARDED`), or
    /// reactivated by the operator (from `OFFBOARDED`).
    pub fn franchise(
        tenant: &TenantKey,
        status: FranchiseStatus,
        previous: FranchiseStatus,
        version: u64,
        now: i64,
    ) -> Self {
        let data = Data::Franchise(FranchiseData {
            previous_status: previous,
            version,
        });
        Self::new(Kind::Franchise, false, status.as_str(), tenant, data, now)
    }

    /// A webhook endpoint was disabled by us (`reason`: `gone`, `failing`).
    pub fn endpoint_disabled(
        tenant: &TenantKey,
        endpoint_id: &EndpointId,
        reason: &'static str,
        version: u64,
        now: i64,
    ) -> Self {
        let data = Data::Webhook(WebhookData {
            endpoint_id: endpoint_id.clone(),
            reason,
            version,
        });
        Self::new(Kind::Webhook, false, ENDPOINT_DISABLED, tenant, data, now)
    }
}

/// An event as published (from the bus, the outbox or a queue): what every
/// channel to vendors needs of it, and its body untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub tenant: TenantKey,
    pub id: EventId,
    pub type_name: EventTypeName,
    /// `createdAt`, in epoch milliseconds.
    pub at: i64,
    pub detail: serde_json::Value,
}

impl Published {
    /// Reads an event of `detail_type` with body `detail`; says what is
    /// missing from one that is not ours.
    pub fn parse(detail_type: &str, detail: serde_json::Value) -> Result<Self, String> {
        let type_name = EventTypeName::of_detail_type(detail_type)
            .ok_or_else(|| format!("detail type {detail_type:?} is not an event type"))?;
        let tenant = detail["tenantKey"]
            .as_str()
            .and_then(TenantKey::parse)
            .ok_or("an event without a valid tenantKey")?;
        let id = detail["id"]
            .as_str()
            .and_then(EventId::parse)
            .ok_or("an event without a valid id")?;
        let at = detail["createdAt"]
            .as_str()
            .and_then(crate::clock::parse_iso_ms)
            .ok_or("an event without a valid createdAt")?;
        Ok(Self {
            tenant,
            id,
            type_name,
            at,
            detail,
        })
    }

    /// The body as sent on every channel: the bus's very bytes (the JSON
    /// of `detail`, as the relay writes it).
    pub fn body(&self) -> String {
        self.detail.to_string()
    }
}

/// One entry for the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEntry {
    pub detail_type: String,
    /// The event body, as JSON text.
    pub detail: String,
}

/// The bus port. `put` takes at most ten entries (EventBridge's limit) and
/// says, entry by entry, which failed (`Some(reason)`).
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn put(&self, entries: &[BusEntry]) -> std::result::Result<Vec<Option<String>>, String>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;
    use serde_json::json;

    #[test]
    fn bodies_keep_their_shape() {
        let c = Consultation {
            tenant_key: TenantKey::parse("demo").unwrap(),
            consultation_id: ConsultationId::parse("c1").unwrap(),
            patient_id: PatientId::parse("p1").unwrap(),
            created_by: UserId::parse("u").unwrap(),
            reason_code: None,
            status: ConsultationStatus::Sent,
            answers: vec![],
            summary: None,
            metadata: None,
            delivery: None,
            created_at: 0,
            updated_at: 0,
            sent_at: None,
            answered_at: None,
            version: 2,
        };
        let e = Event::consultation(&c, Some(ConsultationStatus::Draft), 0);
        let body = serde_json::to_value(&e).unwrap();
        assert_eq!(body["eventType"], "consultation");
        assert_eq!(body["operation"], "update");
        assert_eq!(body["status"], "SENT");
        assert_eq!(
            body["data"],
            json!({"consultationId": "c1", "patientId": "p1", "previousStatus": "DRAFT", "version": 2})
        );
        assert_eq!(e.detail_type(), "Consultation Updated");
        let tenant = TenantKey::parse("demo").unwrap();
        let f = Event::franchise(
            &tenant,
            FranchiseStatus::Offboarded,
            FranchiseStatus::Onboarded,
            3,
            0,
        );
        assert_eq!(f.detail_type(), "Franchise Offboarded");
        assert_eq!(
            serde_json::to_value(&f).unwrap()["data"],
            json!({"previousStatus": "ONBOARDED", "version": 3})
        );
        let back = Event::franchise(
            &tenant,
            FranchiseStatus::Onboarded,
            FranchiseStatus::Offboarded,
            4,
            0,
        );
        assert_eq!(back.detail_type(), "Franchise Reactivated");
    }
}
