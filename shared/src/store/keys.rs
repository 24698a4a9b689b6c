//! The single-table key design, in one place: the key of every item type,
//! and every index partition and index sort key. Adapter-independent, so
//! the embedded store and DynamoDB hold exactly the same items;
//! `docs/data-model.md` lists every access path. No other module of the
//! crate writes a key format (a layout test keeps it so).
//!
//! Tenant data always has the franchise in its partition key (`T#{tenant}#…`);
//! account data has the account (`ACCOUNT#{account}#…`). Patient key values
//! are hashed before they become part of a key, so an identifier such as a
//! health-insurance number never appears in a key, a metric or a trace;
//! tokens and idempotency keys are hashed by their callers.
//!
//! One small function per item type and per list: they look alike by
//! design, each is one format.

use super::Key;
use crate::crypto::{KeyedDigest, digest_b64, hash_secret};
use crate::domain::clinic::RoomCode;
use crate::domain::subscription::QueueName;
use crate::domain::{
    AccountId, ConsultationId, EndpointId, EventId, FollowupId, IntakeId, KeyId, MessageId,
    ParticipantId, PatientId, TenantKey, UserId, VisitId,
};

pub fn account_key(account: &AccountId) -> Key {
    Key::new(format!("ACCOUNT#{account}"), "ACCOUNT")
}

pub fn api_key_key(key_id: &KeyId) -> Key {
    Key::new(format!("APIKEY#{key_id}"), "APIKEY")
}

/// gsi1 partition listing an account's keys (operator tooling).
pub fn account_keys_index(account: &AccountId) -> String {
    format!("ACCOUNT#{account}#KEYS")
}

/// gsi1 sort key of an API key in its account's list: by creation.
pub fn account_keys_sort(created_at: i64, key_id: &KeyId) -> String {
    created_sort(created_at, key_id.as_str())
}

/// gsi1 partition listing an account's franchises (operator tooling); the
/// sort key is the tenant key.
pub fn account_franchises_index(account: &AccountId) -> String {
    format!("ACCOUNT#{account}#FRANCHISES")
}

pub fn franchise_key(tenant: &TenantKey) -> Key {
    Key::new(format!("T#{tenant}"), "FRANCHISE")
}

pub fn user_key(account: &AccountId, user: &UserId) -> Key {
    Key::new(format!("ACCOUNT#{account}#USER#{user}"), "USER")
}

pub fn patient_key(tenant: &TenantKey, patient: &PatientId) -> Key {
    Key::new(format!("T#{tenant}#PATIENT#{patient}"), "PATIENT")
}

/// The index item of one patient key *value*, whatever its sub-system (see
/// `items::PatientKeyIndex` for what it holds), under its keyed hash.
pub fn patient_key_index(tenant: &TenantKey, digest: &KeyedDigest, key_value: &str) -> Key {
    Key::new(
        format!("T#{tenant}#PKEY#{}", digest.digest(key_value)),
        "PKEY",
    )
}

/// Where the index item of a key value was before patient keys were keyed
/// (a bare SHA-256): read and deleted by the re-keying migration only.
pub fn legacy_patient_key_index(tenant: &TenantKey, key_value: &str) -> Key {
    Key::new(format!("T#{tenant}#PKEY#{}", digest_b64(key_value)), "PKEY")
}

pub fn launch_key(tenant: &TenantKey, token_hash: &str) -> Key {
    Key::new(format!("T#{tenant}#LAUNCH#{token_hash}"), "LAUNCH")
}

pub fn session_key(tenant: &TenantKey, token_hash: &str) -> Key {
    Key::new(format!("T#{tenant}#SESSION#{token_hash}"), "SESSION")
}

pub fn consultation_key(tenant: &TenantKey, id: &ConsultationId) -> Key {
    Key::new(format!("T#{tenant}#CONSULTATION#{id}"), "CONSULTATION")
}

pub fn followup_key(tenant: &TenantKey, id: &FollowupId) -> Key {
    Key::new(format!("T#{tenant}#FOLLOWUP#{id}"), "FOLLOWUP")
}

pub fn outbox_key(tenant: &TenantKey, event: &EventId) -> Key {
    Key::new(format!("T#{tenant}#OUTBOX#{event}"), "OUTBOX")
}

// ---- the outbox's index ------------------------------------------------
//
// An outbox item not relayed yet is in gsi1 under one of a few write
// shards (so the stream of every franchise's events is not one hot
// partition); relaying it removes it from the index (a sparse index). A
// record that can never be delivered moves to the dead-letter shards. The
// one listing across franchises: for the operator's re-drive; the items
// hold ids and statuses only.

/// How many shards the outbox's index partitions are spread over.
pub const OUTBOX_SHARDS: u32 = 8;

/// Which of the outbox's index partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Written, not relayed yet.
    Pending,
    /// Given up on: never deliverable as it is (an operator looks at it).
    Dead,
}

/// gsi1 partition of shard `shard` of the outbox items in `state`.
pub fn outbox_index(state: OutboxState, shard: u32) -> String {
    let state = match state {
        OutboxState::Pending => "PENDING",
        OutboxState::Dead => "DEAD",
    };
    format!("OUTBOX#{state}#{shard}")
}

/// The shard of an outbox item: from its key, spread evenly.
pub fn outbox_shard(item: &Key) -> u32 {
    let digest = hash_secret(&item.pk);
    u32::from_str_radix(&digest[..4], 16).unwrap_or(0) % OUTBOX_SHARDS
}

/// gsi1 sort key of an outbox item: by creation, then its key.
pub fn outbox_sort(created_at: i64, item: &Key) -> String {
    format!("{created_at:013}#{}", item.pk)
}

/// The last gsi1 sort key of the items created at or before `at`.
pub fn outbox_sort_upto(at: i64) -> String {
    // `$` sorts right after the `#` that follows the instant.
    format!("{at:013}$")
}

/// The record of one idempotency key of one API key (`key_hash`: its
/// SHA-256; the key is the vendor's and never stored).
pub fn idempotency_key(tenant: &TenantKey, api_key: &KeyId, key_hash: &str) -> Key {
    Key::new(
        format!("T#{tenant}#IDEMPOTENCY#{api_key}#{key_hash}"),
        "IDEMPOTENCY",
    )
}

/// gsi2 partition of the event list: every outbox event of a franchise,
/// oldest first by the sort key [`events_sort`].
pub fn events_list(tenant: &TenantKey) -> String {
    format!("T#{tenant}#EVENTS")
}

/// gsi2 sort key of an outbox event in its franchise's list.
pub fn events_sort(created_at: i64, event: &EventId) -> String {
    created_sort(created_at, event.as_str())
}

// ---- subscriptions: webhook endpoints, deliveries, event queues -----------
//
// A franchise's endpoints and queues share one small partition, so that the
// dispatcher reads every subscription of an event's franchise with one
// Query (sort keys `ENDPOINT#…` and `QUEUE#…`).

/// The partition of a franchise's webhook endpoints and event queues.
pub fn subscriptions(tenant: &TenantKey) -> String {
    format!("T#{tenant}#SUBSCRIPTIONS")
}

/// Sort key prefixes of the subscriptions partition.
pub const ENDPOINT_PREFIX: &str = "ENDPOINT#";
pub const QUEUE_PREFIX: &str = "QUEUE#";

pub fn webhook_endpoint_key(tenant: &TenantKey, id: &EndpointId) -> Key {
    Key::new(
        format!("T#{tenant}#SUBSCRIPTIONS"),
        format!("{ENDPOINT_PREFIX}{id}"),
    )
}

pub fn event_queue_key(tenant: &TenantKey, queue: &QueueName) -> Key {
    Key::new(
        format!("T#{tenant}#SUBSCRIPTIONS"),
        format!("{QUEUE_PREFIX}{queue}"),
    )
}

/// The partition of one endpoint's deliveries, by the event's creation.
pub fn deliveries(tenant: &TenantKey, endpoint: &EndpointId) -> String {
    format!("T#{tenant}#WEBHOOK#{endpoint}#DELIVERIES")
}

/// One event's delivery to one endpoint: the same key however often the
/// event arrives, so that a repeated event writes nothing new.
pub fn delivery_key(
    tenant: &TenantKey,
    endpoint: &EndpointId,
    event_at: i64,
    event: &EventId,
) -> Key {
    Key::new(
        format!("T#{tenant}#WEBHOOK#{endpoint}#DELIVERIES"),
        created_sort(event_at, event.as_str()),
    )
}

/// The claim of an event queue by its one live connection, beside the
/// queue (so the dispatcher's one Query sees which queues are connected).
pub fn queue_claim_key(tenant: &TenantKey, queue: &QueueName) -> Key {
    Key::new(
        format!("T#{tenant}#SUBSCRIPTIONS"),
        format!("{CLAIM_PREFIX}{queue}"),
    )
}

pub const CLAIM_PREFIX: &str = "CLAIM#";

/// The partition of one incarnation of an event queue (`queue_id`): its
/// waiting events, in order of creation (sort keys [`QUEUED_PREFIX`]
/// `{eventAt:013}#{eventId}`).
pub fn queued_events(tenant: &TenantKey, queue_id: &str) -> String {
    format!("T#{tenant}#QUEUE#{queue_id}")
}

pub const QUEUED_PREFIX: &str = "E#";

pub fn queued_event_key(tenant: &TenantKey, queue_id: &str, event_at: i64, event: &EventId) -> Key {
    Key::new(
        format!("T#{tenant}#QUEUE#{queue_id}"),
        format!("{QUEUED_PREFIX}{}", created_sort(event_at, event.as_str())),
    )
}

/// The queued event a sort key of its queue's partition names (a receipt
/// carries it).
pub fn queued_event_at(tenant: &TenantKey, queue_id: &str, sort: &str) -> Option<Key> {
    sort.starts_with(QUEUED_PREFIX)
        .then(|| Key::new(format!("T#{tenant}#QUEUE#{queue_id}"), sort))
}

/// A live connection of the WebSocket API, by the id API Gateway gave it:
/// whose queue it holds (its later frames carry nothing else).
pub fn connection_key(connection_id: &str) -> Key {
    Key::new(format!("WSCONN#{connection_id}"), "WSCONN")
}

/// A visit's live connection (the visit-live WebSocket API, or the local
/// server's socket), by its id: who holds it and for which visit (its
/// later frames carry nothing else). Beside the stream's record, under
/// another sort key.
pub fn live_record_key(connection_id: &str) -> Key {
    Key::new(format!("WSCONN#{connection_id}"), "LIVE")
}

// ---- the patient side: rooms, providers, visits ---------------------------

/// The index item of an origin some franchise allows (`digest`: of the
/// origin): the only item outside a tenant's keys that a browser's
/// preflight reaches, since a preflight carries no token. It names the
/// franchises that allow the origin, nothing else.
pub fn cors_origin_key(origin: &str) -> Key {
    Key::new(format!("CORS#{}", digest_b64(origin)), "CORS")
}

pub fn room_key(tenant: &TenantKey, code: &RoomCode) -> Key {
    Key::new(format!("T#{tenant}#ROOM#{code}"), "ROOM")
}

/// gsi1 partition: a franchise's rooms (sort key: the code).
pub fn rooms_index(tenant: &TenantKey) -> String {
    format!("T#{tenant}#ROOMS")
}

pub fn provider_key(tenant: &TenantKey, user: &UserId) -> Key {
    Key::new(
        format!("T#{tenant}#PROVIDER#{}", digest_b64(user.as_str())),
        "PROVIDER",
    )
}

/// gsi1 partition: a franchise's providers (sort key: the user id).
pub fn providers_index(tenant: &TenantKey) -> String {
    format!("T#{tenant}#PROVIDERS")
}

/// A provider's availability in one room: the provider's partition holds
/// one item per room.
pub fn availability_key(tenant: &TenantKey, user: &UserId, room: &RoomCode) -> Key {
    Key::new(
        format!("T#{tenant}#AVAIL#{}", digest_b64(user.as_str())),
        format!("ROOM#{room}"),
    )
}

/// The partition of a provider's booked calendar cells (sort key: the
/// cell's start, [`cell_sort`]): one query lists a range.
pub fn cells_partition(tenant: &TenantKey, user: &UserId) -> String {
    format!("T#{tenant}#CELLS#{}", digest_b64(user.as_str()))
}

/// The sort key of a calendar cell: its start in epoch milliseconds.
pub fn cell_sort(start_ms: i64) -> String {
    format!("{start_ms:013}")
}

pub fn cell_key(tenant: &TenantKey, user: &UserId, start_ms: i64) -> Key {
    Key::new(cells_partition(tenant, user), cell_sort(start_ms))
}

pub fn intake_key(tenant: &TenantKey, id: &IntakeId) -> Key {
    Key::new(format!("T#{tenant}#INTAKE#{id}"), "INTAKE")
}

/// A visit's partition: the visit itself, its chat messages and its
/// live connections.
pub fn visit_partition(tenant: &TenantKey, id: &VisitId) -> String {
    format!("T#{tenant}#VISIT#{id}")
}

pub fn visit_key(tenant: &TenantKey, id: &VisitId) -> Key {
    Key::new(visit_partition(tenant, id), "VISIT")
}

/// The sort key prefix of a visit's live connections.
pub const LIVE_PREFIX: &str = "LIVE#";

/// One live connection of a visit, in its partition: the visit's
/// connections are one `Query` (`begins_with LIVE#`).
pub fn live_connection_key(tenant: &TenantKey, visit: &VisitId, connection_id: &str) -> Key {
    Key::new(
        visit_partition(tenant, visit),
        format!("{LIVE_PREFIX}{connection_id}"),
    )
}

/// The sort key prefix of a visit's chat messages.
pub const MESSAGE_PREFIX: &str = "MSG#";

/// A chat message, in its visit's partition, by time.
pub fn message_key(tenant: &TenantKey, visit: &VisitId, at: i64, id: &MessageId) -> Key {
    Key::new(
        visit_partition(tenant, visit),
        format!("{MESSAGE_PREFIX}{at:013}#{id}"),
    )
}

/// The sort key after which a visit's messages are newer than `at`.
pub fn message_after(at: i64) -> String {
    format!("{MESSAGE_PREFIX}{at:013}#~")
}

/// The sort key prefix of a visit's participants (in its partition).
pub const PARTICIPANT_PREFIX: &str = "PART#";

/// A participant of a visit, in the visit's partition.
pub fn participant_key(tenant: &TenantKey, visit: &VisitId, id: &ParticipantId) -> Key {
    Key::new(
        visit_partition(tenant, visit),
        format!("{PARTICIPANT_PREFIX}{id}"),
    )
}

/// The partition of a franchise's own concerns (beside the bundled
/// catalogue): a few dozen items, read whole.
pub fn concerns_partition(tenant: &TenantKey) -> String {
    format!("T#{tenant}#CONCERNS")
}

/// One of a franchise's own concerns, by its code.
pub fn concern_key(tenant: &TenantKey, code: &str) -> Key {
    Key::new(concerns_partition(tenant), format!("CONCERN#{code}"))
}

/// A guest join code's item (`code_hash`: the SHA-256 of the code).
pub fn join_code_key(tenant: &TenantKey, code_hash: &str) -> Key {
    Key::new(format!("T#{tenant}#JOIN#{code_hash}"), "JOIN")
}

/// A patient-side token (SSO, session, guest), by its id.
pub fn clinic_token_key(tenant: &TenantKey, token_id: &str) -> Key {
    Key::new(format!("T#{tenant}#PTOKEN#{token_id}"), "PTOKEN")
}

/// The index keys of a visit:
/// - gsi1 `T#{tenant}#PROV#{provider}#V` / `{start or createdAt:013}#{id}`:
///   a provider's visits by time (once it has a provider);
/// - gsi2 `T#{tenant}#ROOM#{code}#Q` / `{ticket:012}` while it waits in
///   the queue, or `T#{tenant}#ROOM#{code}#E` / `{createdAt:013}#{id}`
///   while an eConsult waits for a provider (sparse: nothing otherwise);
/// - gsi3 `T#{tenant}#P#{patientId}` / `V#{createdAt:013}#{id}`: a
///   patient's (beside their consultations and follow-ups).
pub fn provider_visits(tenant: &TenantKey, user: &UserId) -> String {
    format!("T#{tenant}#PROV#{}#V", digest_b64(user.as_str()))
}

pub fn visit_time_sort(at: i64, id: &VisitId) -> String {
    created_sort(at, id.as_str())
}

pub fn room_queue(tenant: &TenantKey, code: &RoomCode) -> String {
    format!("T#{tenant}#ROOM#{code}#Q")
}

pub fn ticket_sort(ticket: u64) -> String {
    format!("{ticket:012}")
}

pub fn room_econsults(tenant: &TenantKey, code: &RoomCode) -> String {
    format!("T#{tenant}#ROOM#{code}#E")
}

/// The gsi3 sort key prefix of a patient's visits.
pub const PATIENT_VISITS_PREFIX: &str = "V#";

pub fn patient_visit_sort(created_at: i64, id: &VisitId) -> String {
    format!(
        "{PATIENT_VISITS_PREFIX}{}",
        created_sort(created_at, id.as_str())
    )
}

/// A time-driven task of a visit (its lapse, a local reminder), in its
/// visit's partition; `kind` names it (`DueTask`).
pub fn due_key(tenant: &TenantKey, visit: &VisitId, kind: &str) -> Key {
    Key::new(visit_partition(tenant, visit), format!("DUE#{kind}"))
}

/// The record of one message sent to a visit's patient (`what`: the
/// booking, a reminder), in its visit's partition: claimed before the
/// send, so that an event or a timer delivered twice sends once.
pub fn notice_key(tenant: &TenantKey, visit: &VisitId, what: &str) -> Key {
    Key::new(visit_partition(tenant, visit), format!("NOTICE#{what}"))
}

/// gsi1 partition of the tasks due in one hour (UTC), every franchise
/// together (like the outbox's, the one other listing across franchises;
/// its items hold ids only): the sweeper and the local timer read the
/// hours that passed, by index, never by scan. The sort key is the
/// instant, then the item.
pub fn due_hour(at_ms: i64) -> String {
    format!("DUE#{}", at_ms.div_euclid(3_600_000))
}

pub fn due_sort(at_ms: i64, tenant: &TenantKey, visit: &VisitId, kind: &str) -> String {
    format!("{at_ms:013}#{tenant}#{visit}#{kind}")
}

/// The last gsi1 sort key of the tasks due at or before `at`.
pub fn due_sort_upto(at_ms: i64) -> String {
    // `$` sorts right after the `#` that follows the instant.
    format!("{at_ms:013}$")
}

/// A visit's statistics row: in its month's partition (UTC,
/// `T#{tenant}#VSTAT#{yyyy-mm}`), by its time as in gsi1.
pub fn visit_stat_key(tenant: &TenantKey, at: i64, id: &VisitId) -> Key {
    Key::new(visit_stats_month(tenant, at), visit_time_sort(at, id))
}

/// The month partition of the statistics rows of the instant `at`.
pub fn visit_stats_month(tenant: &TenantKey, at: i64) -> String {
    format!("T#{tenant}#VSTAT#{}", &crate::clock::iso_ms(at.max(0))[..7])
}

/// The sort bounds of the rows from `from` to `to`, inclusive.
pub fn visit_stats_range(from: i64, to: i64) -> (String, String) {
    (
        format!("{:013}", from.max(0)),
        format!("{:013}~", to.max(0)),
    )
}

// ---- the lists of consultations and follow-ups ----------------------------

/// Which of the two listed entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    Consultations,
    Followups,
}

impl Listed {
    fn letter(self) -> &'static str {
        match self {
            Listed::Consultations => "C",
            Listed::Followups => "F",
        }
    }
}

/// The index keys of a listed item, newest first in each list:
/// - gsi1 `T#{tenant}#C` (or `#F`) / `{createdAt:013}#{id}`: a franchise's;
/// - gsi2 `T#{tenant}#C#{status}` (or `#F#…`) / the same: by status;
/// - gsi3 `T#{tenant}#P#{patientId}` / `C#{createdAt:013}#{id}` (or `F#…`): a patient's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListKeys {
    pub all: (String, String),
    pub by_status: (String, String),
    pub by_patient: (String, String),
}

pub fn list_keys(
    tenant: &TenantKey,
    listed: Listed,
    status: &str,
    patient: &PatientId,
    created_at: i64,
    id: &str,
) -> ListKeys {
    let at = created_sort(created_at, id);
    ListKeys {
        all: (tenant_list(tenant, listed), at.clone()),
        by_status: (status_list(tenant, listed, status), at.clone()),
        by_patient: (
            patient_list(tenant, patient),
            format!("{}{at}", patient_list_prefix(listed)),
        ),
    }
}

/// gsi1 partition: every consultation (or follow-up) of a franchise.
pub fn tenant_list(tenant: &TenantKey, listed: Listed) -> String {
    format!("T#{tenant}#{}", listed.letter())
}

/// gsi2 partition: those of a franchise with one status.
pub fn status_list(tenant: &TenantKey, listed: Listed, status: &str) -> String {
    format!("T#{tenant}#{}#{status}", listed.letter())
}

/// gsi3 partition: everything of one patient (consultations and follow-ups
/// apart by the sort key's prefix, [`patient_list_prefix`]).
pub fn patient_list(tenant: &TenantKey, patient: &PatientId) -> String {
    format!("T#{tenant}#P#{patient}")
}

/// The gsi3 sort key prefix of one kind of a patient's items.
pub fn patient_list_prefix(listed: Listed) -> String {
    format!("{}#", listed.letter())
}

/// `{createdAt:013}#{id}`: sorts by creation, then id.
fn created_sort(created_at: i64, id: &str) -> String {
    format!("{created_at:013}#{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_data_is_under_its_tenant() {
        let t = TenantKey::parse("demo").unwrap();
        let p = PatientId::parse("p1").unwrap();
        let c = ConsultationId::parse("c1").unwrap();
        assert_eq!(consultation_key(&t, &c).pk, "T#demo#CONSULTATION#c1");
        assert_eq!(patient_key(&t, &p).pk, "T#demo#PATIENT#p1");
        let digest = KeyedDigest::new(&crate::crypto::Secret::ephemeral());
        let index = patient_key_index(&t, &digest, "RAMQ 123");
        assert!(index.pk.starts_with("T#demo#PKEY#"));
        assert!(!index.pk.contains("RAMQ"));
        assert_ne!(index, legacy_patient_key_index(&t, "RAMQ 123"));
        let other = KeyedDigest::new(&crate::crypto::Secret::ephemeral());
        assert_ne!(index, patient_key_index(&t, &other, "RAMQ 123"), "keyed");
        let k = list_keys(&t, Listed::Followups, "PLANNED", &p, 5, "f1");
        assert_eq!(k.all, ("T#demo#F".into(), "0000000000005#f1".into()));
        assert_eq!(k.by_status.0, "T#demo#F#PLANNED");
        assert_eq!(
            k.by_patient,
            ("T#demo#P#p1".into(), "F#0000000000005#f1".into())
        );
    }

    #[test]
    fn outbox_items_spread_over_the_shards_and_sort_by_creation() {
        let t = TenantKey::parse("demo").unwrap();
        let mut shards = std::collections::HashSet::new();
        for _ in 0..200 {
            let item = outbox_key(&t, &EventId::generate());
            let shard = outbox_shard(&item);
            assert!(shard < OUTBOX_SHARDS);
            assert_eq!(shard, outbox_shard(&item), "stable");
            shards.insert(shard);
        }
        assert_eq!(shards.len(), OUTBOX_SHARDS as usize, "every shard used");
        let item = outbox_key(&t, &EventId::generate());
        let sort = outbox_sort(5, &item);
        assert!(sort.as_str() <= outbox_sort_upto(5).as_str());
        assert!(sort.as_str() > outbox_sort_upto(4).as_str());
        assert_eq!(outbox_index(OutboxState::Dead, 3), "OUTBOX#DEAD#3");
    }
}
