//! `Idempotency-Key` for the creating `POST`s of the v2 API: a retry with
//! the same key and the same request answers exactly what the first call
//! answered and creates nothing; the same key with another request is `422`.
//!
//! One record per franchise, API key and idempotency key
//! (`store::keys::idempotency_key`, under the SHA-256 of the idempotency
//! key: it is the vendor's and never stored), so that two keys of one
//! franchise (two vendors, or two systems of one) never answer each
//! other's retries; it holds the
//! fingerprint of the request (method, path, canonical JSON body, acting
//! user) and the response (status and body text), for 24 hours.
//!
//! The state machine, decided on what round trip 1 read (`next_action`):
//!
//! ```text
//!   ABSENT ──(the creation's transaction, record Put if NotExists)──▶ COMPLETED
//!   COMPLETED, same fingerprint       ──▶ Replay the stored response
//!   COMPLETED, another fingerprint    ──▶ Reject, 422
//!   COMPLETED, older than 24 h        ──▶ EXPIRED = ABSENT (the Put overwrites it)
//! ```
//!
//! Unlike Powertools there is no `INPROGRESS` state: the record is claimed
//! *and* completed by the same transaction that writes the patient, the
//! entity and its outbox event, so there is never a claim without its
//! response, and nothing to clean up after a crash or an error. Failures are
//! not recorded: a request that failed (a `400`, a lost race) wrote
//! nothing, so its retry is simply executed. Of concurrent duplicates
//! exactly one transaction lands (the record's `NotExists` condition); the
//! others are cancelled, read the record again, and replay it.
//!
//! Expiry is checked here too, at the same one-second granularity as the
//! store's `ttl`, so code and store never disagree about a record's life.
//!
//! Knows nothing of HTTP beyond "a status and a body"; depends on the store
//! port and its item helpers.

use serde_json::{Map, Value};

use crate::crypto::hash_secret;
use crate::domain::{KeyId, TenantKey};
use crate::error::{Error, Result};
use crate::store::{Item, Key, Write, items, keys};

/// How long a completed record answers retries.
pub const TTL_MS: i64 = 24 * 3600 * 1000;
/// The longest key a vendor may send.
pub const MAX_KEY_LEN: usize = 255;

/// A vendor's idempotency key: 1 to 255 printable ASCII characters.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Vendors sometimes put business identifiers in their keys.
        f.write_str("IdempotencyKey(..)")
    }
}

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self> {
        let ok = (1..=MAX_KEY_LEN).contains(&raw.len())
            && raw.bytes().all(|b| (0x20..0x7f).contains(&b))
            && !raw.trim().is_empty();
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} printable characters"
            )))
        }
    }
}

/// A response as it is stored and replayed: identical status and body.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    /// The JSON body, as text (a replay returns these very bytes).
    pub body: String,
}

/// What to do with a request, given what the store holds for its key.
#[derive(Debug, Clone, PartialEq)]
pub enum NextAction {
    /// No live record: execute, adding [`Idempotency::record_write`] to the
    /// creation's transaction.
    Execute,
    /// The same request completed before: answer this, change nothing.
    Replay(StoredResponse),
}

/// The idempotency of one request: its record key and fingerprint.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: Key,
    fingerprint: String,
}

impl Idempotency {
    /// `acting_user`: who the request acts as (the `x-integration-user`
    /// given, or the key's owner), so that the same body sent for another
    /// user is another request.
    pub fn new(
        tenant: &TenantKey,
        api_key: &KeyId,
        key: &IdempotencyKey,
        method: &str,
        path: &str,
        body: &Value,
        acting_user: &Value,
    ) -> Self {
        Self {
            key: record_key(tenant, api_key, key),
            fingerprint: fingerprint(method, path, body, acting_user),
        }
    }

    /// The record's key, to read in the request's first round trip.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Decides from the items of round trip 1 (the record among them, or not).
    pub fn next_action(&self, items: &[Item], now_ms: i64) -> Result<NextAction> {
        let Some(record) = items.iter().find(|i| i.key == self.key) else {
            return Ok(NextAction::Execute);
        };
        let expires_at = record.attrs.get("expiresAt").and_then(Value::as_i64);
        if expires_at.is_none_or(|e| expired(e, now_ms)) {
            return Ok(NextAction::Execute);
        }
        if record.get_str("fingerprint") != Some(self.fingerprint.as_str()) {
            return Err(Error::Unprocessable(
                "This Idempotency-Key was already used with another request".into(),
            ));
        }
        let status = record
            .attrs
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok());
        match (status, record.get_str("body")) {
            (Some(status), Some(body)) => Ok(NextAction::Replay(StoredResponse {
                status,
                body: body.to_owned(),
            })),
            _ => Err(Error::internal("idempotency record lacks its response")),
        }
    }

    /// The record of a completed request: put only if no live record exists,
    /// in the same transaction as what the request creates.
    pub fn record_write(&self, response: &StoredResponse, now_ms: i64) -> Write {
        // Whole seconds, so the store's `ttl` and `expiresAt` say the same.
        let expires_at = (now_ms + TTL_MS).div_euclid(1000) * 1000 + 1000;
        let mut attrs = Map::new();
        attrs.insert(items::TYPE.into(), "idempotency".into());
        attrs.insert("fingerprint".into(), self.fingerprint.clone().into());
        attrs.insert("status".into(), response.status.into());
        attrs.insert("body".into(), response.body.clone().into());
        attrs.insert("createdAt".into(), now_ms.into());
        attrs.insert("expiresAt".into(), expires_at.into());
        items::put_new(items::with_ttl(
            Item::new(self.key.clone(), attrs),
            expires_at,
        ))
    }
}

/// As the store judges a `ttl`: expired once its second has begun.
fn expired(expires_at_ms: i64, now_ms: i64) -> bool {
    items::ttl_of(expires_at_ms).as_i64().unwrap_or(0) <= now_ms.div_euclid(1000)
}

pub fn record_key(tenant: &TenantKey, api_key: &KeyId, key: &IdempotencyKey) -> Key {
    keys::idempotency_key(tenant, api_key, &hash_secret(&key.0))
}

/// SHA-256 of the canonical JSON of `{method, path, body, user}`: equal for
/// the same request whatever the order of its fields or its whitespace.
pub fn fingerprint(method: &str, path: &str, body: &Value, acting_user: &Value) -> String {
    let mut request = Map::new();
    request.insert("method".into(), method.to_ascii_uppercase().into());
    request.insert("path".into(), path.into());
    request.insert("body".into(), body.clone());
    request.insert("user".into(), acting_user.clone());
    let mut text = String::new();
    canonical(&Value::Object(request), &mut text);
    hash_secret(&text)
}

/// JSON with object members sorted by name, no whitespace.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tenant() -> TenantKey {
        TenantKey::parse("demo").unwrap()
    }

    fn api_key() -> KeyId {
        KeyId::parse("0123456789abcdef").unwrap()
    }

    fn idem(body: Value) -> Idempotency {
        let key = IdempotencyKey::parse("order-42").unwrap();
        Idempotency::new(
            &tenant(),
            &api_key(),
            &key,
            "post",
            "/v2/x",
            &body,
            &json!({"userId": "u"}),
        )
    }

    fn stored(i: &Idempotency, now: i64) -> Item {
        let Write::Put { item, .. } = i.record_write(
            &StoredResponse {
                status: 201,
                body: "{\"a\":1}".into(),
            },
            now,
        ) else {
            panic!("a put")
        };
        item
    }

    #[test]
    fn keys_are_printable_and_bounded() {
        for bad in ["", " ", "a\nb", "é", &"k".repeat(256)] {
            assert!(
                matches!(IdempotencyKey::parse(bad), Err(Error::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("3f1c-2d4e uuid:1").is_ok());
    }

    #[test]
    fn the_fingerprint_ignores_field_order_but_not_content() {
        let a = fingerprint(
            "POST",
            "/p",
            &json!({"a": 1, "b": {"c": [1, 2], "d": null}}),
            &json!(null),
        );
        let b = fingerprint(
            "post",
            "/p",
            &json!({"b": {"d": null, "c": [1, 2]}, "a": 1}),
            &json!(null),
        );
        assert_eq!(a, b);
        for other in [
            fingerprint(
                "POST",
                "/q",
                &json!({"a": 1, "b": {"c": [1, 2], "d": null}}),
                &json!(null),
            ),
            fingerprint(
                "POST",
                "/p",
                &json!({"a": 1, "b": {"c": [2, 1], "d": null}}),
                &json!(null),
            ),
            fingerprint(
                "POST",
                "/p",
                &json!({"a": 1, "b": {"c": [1, 2], "d": null}}),
                &json!("u"),
            ),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn the_state_machine() {
        let now = 1_767_225_600_123;
        let first = idem(json!({"x": 1}));
        assert_eq!(first.next_action(&[], now).unwrap(), NextAction::Execute);
        let record = stored(&first, now);
        assert_eq!(
            record.key,
            keys::idempotency_key(&tenant(), &api_key(), &hash_secret("order-42"))
        );
        let items = [record.clone()];
        assert!(matches!(
            first.next_action(&items, now + 1000).unwrap(),
            NextAction::Replay(StoredResponse { status: 201, .. })
        ));
        let other = idem(json!({"x": 2}));
        assert!(matches!(
            other.next_action(&items, now),
            Err(Error::Unprocessable(_))
        ));
        // Expired, as the store would judge its ttl.
        let ttl = record.ttl().unwrap();
        assert!(ttl * 1000 >= now + TTL_MS);
        assert!(matches!(
            first.next_action(&items, ttl * 1000 - 1).unwrap(),
            NextAction::Replay(_)
        ));
        assert_eq!(
            first.next_action(&items, ttl * 1000).unwrap(),
            NextAction::Execute
        );
        assert_eq!(
            other.next_action(&items, ttl * 1000).unwrap(),
            NextAction::Execute
        );
        assert!(record.is_expired(ttl));
        assert!(!record.is_expired(ttl - 1));
    }
}
