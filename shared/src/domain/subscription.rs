//! What a vendor outside AWS subscribes to: event type names and the
//! patterns that pick them, webhook endpoints and their deliveries, and
//! event queues (the subscription stream). Pure: the secrets are kept
//! sealed here (`crypto` opens them), the addresses are `net`'s.
//!
//! An event type name is its bus detail type lower-cased with a dot
//! between the words: `Consultation Created` is `consultation.created`,
//! `Webhook Endpoint Disabled` is `webhook.endpoint.disabled`. A pattern is
//! an exact known name or `prefix.*` whose first word is a known family.

use serde::{Deserialize, Serialize};

use super::ids::EndpointId;
use super::types::TenantKey;

/// The families of event types (the first word of a name).
pub const FAMILIES: &[&str] = &["consultation", "followup", "franchise", "visit", "webhook"];

/// Every event type name a pattern may name exactly: those we publish and
/// those announced (a pattern for them is accepted before they exist).
pub const EVENT_TYPES: &[&str] = &[
    "consultation.created",
    "consultation.updated",
    "followup.created",
    "followup.updated",
    "franchise.onboarded",
    "franchise.offboarded",
    "franchise.reactivated",
    "visit.created",
    "visit.updated",
    "webhook.endpoint.disabled",
];

/// The most patterns an endpoint or a queue holds.
pub const MAX_PATTERNS: usize = 20;

string_value!(
    /// An event type name: `consultation.created`.
    EventTypeName,
    "event type"
);

impl EventTypeName {
    /// Lower-case words of letters (and `_`), two or more, joined by dots.
    pub fn parse(s: &str) -> Option<Self> {
        let words: Vec<&str> = s.split('.').collect();
        let ok = s.len() <= 100
            && words.len() >= 2
            && words
                .iter()
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        ok.then(|| Self(s.to_owned()))
    }

    /// The name of a bus detail type (`Consultation Created` →
    /// `consultation.created`).
    pub fn of_detail_type(detail_type: &str) -> Option<Self> {
        let name = detail_type
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .join(".");
        Self::parse(&name)
    }
}

string_value!(
    /// What an endpoint or a queue subscribes to: an exact event type name
    /// or `prefix.*`.
    TypePattern,
    "event type pattern"
);

impl TypePattern {
    /// What a pattern must be, for error messages.
    pub const RULE: &str = "each eventTypes entry is a known event type (consultation.created…) or prefix.* of a known family (consultation, followup, franchise, visit, webhook)";

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let ok = match s.strip_suffix(".*") {
            Some(prefix) => {
                let family = prefix.split('.').next().unwrap_or_default();
                FAMILIES.contains(&family)
                    && prefix.split('.').all(|w| {
                        !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    })
            }
            None => EVENT_TYPES.contains(&s),
        };
        ok.then(|| Self(s.to_owned()))
    }

    pub fn matches(&self, name: &EventTypeName) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => name.as_str().starts_with(prefix),
            None => self.0 == name.as_str(),
        }
    }
}

/// Whether any of `patterns` picks `name`.
pub fn picks(patterns: &[TypePattern], name: &EventTypeName) -> bool {
    patterns.iter().any(|p| p.matches(name))
}

/// Reads a list of patterns: 1 to [`MAX_PATTERNS`], each valid, no repeats
/// kept.
pub fn patterns(raw: &[String]) -> Result<Vec<TypePattern>, String> {
    if raw.is_empty() || raw.len() > MAX_PATTERNS {
        return Err(format!("eventTypes holds 1 to {MAX_PATTERNS} patterns"));
    }
    let mut out: Vec<TypePattern> = Vec::new();
    for r in raw {
        let p = TypePattern::parse(r)
            .ok_or_else(|| format!("eventTypes: {r:?} is not a pattern ({})", TypePattern::RULE))?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

// Alike the other small state enums by nature.
named_enum! {
    /// Whether an endpoint receives deliveries.
    EndpointStatus {
        Enabled = "enabled",
        Disabled = "disabled",
    }
}

/// One signing secret, sealed (encrypted with a key derived from the
/// deployment secret: signing needs it back). A rotated-out secret keeps
/// signing until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecret {
    pub sealed: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// A franchise's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    pub tenant_key: TenantKey,
    pub endpoint_id: EndpointId,
    pub url: String,
    pub event_types: Vec<TypePattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: EndpointStatus,
    /// Why it was disabled: `vendor` (a PATCH), `gone` (it answered 410),
    /// `failing` (three days of failed deliveries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// The live secret first, then rotated-out ones still signing.
    pub secrets: Vec<SealedSecret>,
    /// Since when every delivery has failed (cleared by a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl WebhookEndpoint {
    /// The secrets that sign at `now`.
    pub fn signing_secrets(&self, now: i64) -> impl Iterator<Item = &SealedSecret> {
        self.secrets
            .iter()
            .filter(move |s| s.expires_at.is_none_or(|t| t > now))
    }
}

/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;
/// How long deliveries are retried, and how long an endpoint may fail
/// before it is disabled.
pub const RETRY_WINDOW_MS: i64 = 3 * 24 * 3600 * 1000;
/// The first retry comes within this; each next one's bound doubles…
pub const FIRST_RETRY_MS: i64 = 30 * 1000;
/// …up to this.
pub const MAX_RETRY_MS: i64 = 3600 * 1000;

/// No retry comes sooner than this: a copy of the attempt's message (the
/// queues deliver at least once) handled just after the attempt then finds
/// the retry not yet due and waits, so one attempt stays one request. (A
/// one-second floor let a copy handled a second later make the retry at
/// once: seen as two requests of one attempt in `tests/lambda/events.rs`.)
pub const MIN_RETRY_MS: i64 = 5 * 1000;

/// The pause before retry `n` (1 for the first): "full jitter", a uniform
/// draw (`random` is any random number) below `min(MAX, FIRST · 2ⁿ⁻¹)`, at
/// least [`MIN_RETRY_MS`].
pub fn retry_delay_ms(n: u32, random: u64) -> i64 {
    let bound = FIRST_RETRY_MS
        .saturating_mul(1_i64 << n.saturating_sub(1).min(20))
        .min(MAX_RETRY_MS);
    let draw = (random % bound.unsigned_abs()) as i64;
    draw.max(MIN_RETRY_MS)
}

named_enum! {
    /// Where a delivery stands.
    WebhookDeliveryStatus {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

/// One event to one endpoint: its attempts so far. Never the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub tenant_key: TenantKey,
    pub endpoint_id: EndpointId,
    pub event_id: super::EventId,
    pub event_type: EventTypeName,
    /// The event's own creation instant (the deliveries list is ordered by it).
    pub event_at: i64,
    pub status: WebhookDeliveryStatus,
    pub attempts: u32,
    /// Bumped by a redelivery: attempts of an older generation stop.
    pub generation: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_attempt_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The last failure's kind: `status`, `timeout`, `connection`,
    /// `redirect`, `refused-address`, `endpoint-disabled`, `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The body every attempt sends, the same bytes each time (the bus
    /// event's `detail` as the dispatcher received it). Never shown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
}

string_value!(
    /// An event queue's name: 1 to 64 letters, digits, `-` or `_`.
    QueueName,
    "queue name"
);

impl QueueName {
    pub fn parse(s: &str) -> Option<Self> {
        super::ids::is_id(s).then(|| Self(s.to_owned()))
    }
}

/// A franchise's event queue: what the subscription stream delivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventQueue {
    pub tenant_key: TenantKey,
    pub queue_name: QueueName,
    /// Names this incarnation of the queue: its waiting events are under
    /// it, so a queue deleted and created again starts empty.
    pub queue_id: String,
    pub event_types: Vec<TypePattern>,
    pub created_at: i64,
    pub version: u64,
}

/// An event waiting in a queue until it is acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedEvent {
    pub tenant_key: TenantKey,
    pub queue_id: String,
    pub event_id: super::EventId,
    pub event_type: EventTypeName,
    /// The event's creation, epoch ms (the queue's order) and as written.
    pub event_at: i64,
    pub event_ts: String,
    /// The event body, the same as every other channel's.
    pub payload: serde_json::Value,
    /// The receipt of the last sending; an acknowledgement must name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
}

/// The one live connection of a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueClaim {
    pub connection_id: String,
    pub queue_id: String,
    pub connected_at: i64,
    pub last_ping_at: i64,
}

/// A live connection, by its id: whose queue it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionRecord {
    pub connection_id: String,
    pub tenant_key: TenantKey,
    pub queue_name: QueueName,
    pub connected_at: i64,
}

/// Whether `s` can be a connection id (API Gateway's are base64-like,
/// the local server's `local-{hex}`).
pub fn is_connection_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'+' | b'/'))
}

/// How long an unacknowledged event waits in a queue.
pub const QUEUE_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;
/// An event sent and not acknowledged is sent again after this.
pub const REDELIVERY_MS: i64 = 30 * 1000;
/// A connection without a PING for this long is closed.
pub const IDLE_MS: i64 = 10 * 60 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> EventTypeName {
        EventTypeName::parse(s).unwrap()
    }

    #[test]
    fn names_come_from_detail_types() {
        assert_eq!(
            EventTypeName::of_detail_type("Consultation Created").unwrap(),
            "consultation.created"
        );
        assert_eq!(
            EventTypeName::of_detail_type("Webhook Endpoint Disabled").unwrap(),
            "webhook.endpoint.disabled"
        );
        assert!(EventTypeName::of_detail_type("Nope").is_none());
        for t in EVENT_TYPES {
            assert!(EventTypeName::parse(t).is_some(), "{t}");
            assert!(FAMILIES.contains(&t.split('.').next().unwrap()));
        }
    }

    #[test]
    fn patterns_pick_names() {
        let all = TypePattern::parse("consultation.*").unwrap();
        assert!(all.matches(&name("consultation.created")));
        assert!(!all.matches(&name("followup.created")));
        assert!(!all.matches(&name("consultationx.created")));
        let one = TypePattern::parse("visit.updated").unwrap();
        assert!(one.matches(&name("visit.updated")) && !one.matches(&name("visit.created")));
        assert!(
            TypePattern::parse("webhook.endpoint.*")
                .unwrap()
                .matches(&name("webhook.endpoint.disabled"))
        );
        for bad in [
            "*",
            "nope.*",
            "consultation.deleted",
            "Consultation.*",
            "consultation.",
            ".*",
            "consultation.**",
        ] {
            assert!(TypePattern::parse(bad).is_none(), "{bad}");
        }
        assert!(patterns(&[]).is_err());
        let p = patterns(&["consultation.*".into(), "consultation.*".into()]).unwrap();
        assert_eq!(p.len(), 1);
        assert!(
            patterns(&["pharmacy.*".into()])
                .unwrap_err()
                .contains("pharmacy")
        );
    }

    #[test]
    fn retries_back_off_with_full_jitter() {
        // The first retry within 30 s; the bounds double up to an hour.
        for r in [0, 1, 29_999, 123_456_789, u64::MAX] {
            let d = retry_delay_ms(1, r);
            assert!((MIN_RETRY_MS..FIRST_RETRY_MS).contains(&d), "{d}");
            assert!(retry_delay_ms(3, r) < 120_000);
            assert!(retry_delay_ms(40, r) < MAX_RETRY_MS);
        }
        assert_eq!(retry_delay_ms(2, 45_000), 45_000);
        assert_eq!(retry_delay_ms(30, 1_800_000), 1_800_000);
    }
}
