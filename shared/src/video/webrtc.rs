//! The embedded default of the video port: browser WebRTC, peer to peer.
//! A room is the visit; the signalling travels over the visit's live
//! connection (`services::clinic::signal`). The join data is
//! `{provider: "webrtc", roomId, iceServers, signalling: {token,
//! expiresAt}}`: the ICE (STUN/TURN) servers come from the configuration
//! (`EMBEDCARE_ICE_SERVERS`, a JSON list of RTCIceServer; none by default,
//! which is enough on one machine), the token is an HMAC of the tenant,
//! the visit, the seat and the expiry (minutes), which the live connection
//! takes as a credential of that seat in that visit only.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{Attendee, Room, VideoError, VideoRooms};
use crate::clock::iso_ms;
use crate::crypto::{Secret, TagKey};
use crate::domain::{TenantKey, VisitId};

/// The purpose the signalling tokens' key is derived for.
const SIGNAL_PURPOSE: &str = "embedcare/video-signal/v1";
/// A signalling token's prefix (what tells it from a session token).
pub const SIGNAL_PREFIX: &str = "sig1.";
/// A signalling token lives this long (10 minutes): long enough to open
/// the socket, which then holds the seat.
pub const SIGNAL_TTL_MS: i64 = 10 * 60_000;

/// What a signalling token says.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalClaims {
    pub tenant: TenantKey,
    pub visit: VisitId,
    /// The seat on the live connection (opaque JSON here).
    pub seat: Value,
    pub expires_at: i64,
}

/// Makes and opens signalling tokens.
#[derive(Clone, Debug)]
pub struct SignalKey(TagKey);

impl SignalKey {
    pub fn new(secret: &Secret) -> Self {
        Self(secret.derive(SIGNAL_PURPOSE))
    }

    /// A token for `seat` in the visit, until `now + SIGNAL_TTL_MS`.
    pub fn issue(&self, room: Room<'_>, seat: &Value, now_ms: i64) -> (String, i64) {
        let expires_at = now_ms + SIGNAL_TTL_MS;
        let body = json!({"t": room.tenant, "v": room.visit, "s": seat, "e": expires_at});
        let payload = URL_SAFE_NO_PAD.encode(body.to_string());
        let mac = self
            .0
            .token(&[SIGNAL_PREFIX.as_bytes(), payload.as_bytes()]);
        (format!("{SIGNAL_PREFIX}{payload}.{mac}"), expires_at)
    }

    /// The claims of a genuine, unexpired token; `None` for anything else.
    pub fn open(&self, token: &str, now_ms: i64) -> Option<SignalClaims> {
        let rest = token.strip_prefix(SIGNAL_PREFIX)?;
        let (payload, mac) = rest.split_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        if !self
            .0
            .verify(&[SIGNAL_PREFIX.as_bytes(), payload.as_bytes()], &mac)
        {
            return None;
        }
        let body: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let expires_at = body["e"].as_i64()?;
        if expires_at <= now_ms {
            return None;
        }
        Some(SignalClaims {
            tenant: TenantKey::parse(body["t"].as_str()?)?,
            visit: VisitId::parse(body["v"].as_str()?)?,
            seat: body["s"].clone(),
            expires_at,
        })
    }
}

/// The ICE servers of `EMBEDCARE_ICE_SERVERS`: a JSON list of objects,
/// each with `urls` (a string or a list of strings: `stun:`, `turn:`,
/// `turns:`), optionally `username` and `credential`.
pub fn parse_ice_servers(text: &str) -> Result<Value, String> {
    let bad =
        || "EMBEDCARE_ICE_SERVERS must be a JSON list of {urls, username?, credential?}".to_owned();
    let v: Value = serde_json::from_str(text).map_err(|_| bad())?;
    let list = v.as_array().ok_or_else(bad)?;
    for s in list {
        let ok_url = |u: &Value| {
            u.as_str().is_some_and(|u| {
                ["stun:", "turn:", "turns:"]
                    .iter()
                    .any(|p| u.starts_with(p))
            })
        };
        let urls_ok = match &s["urls"] {
            Value::String(_) => ok_url(&s["urls"]),
            Value::Array(a) => !a.is_empty() && a.iter().all(ok_url),
            _ => false,
        };
        let extra_ok = ["username", "credential"]
            .iter()
            .all(|k| s[*k].is_null() || s[*k].is_string());
        if !s.is_object() || !urls_ok || !extra_ok {
            return Err(bad());
        }
    }
    Ok(v)
}

/// WebRTC rooms: nothing to open or close; the join data.
pub struct WebRtcRooms {
    ice_servers: Value,
    key: SignalKey,
}

impl WebRtcRooms {
    pub fn new(ice_servers: Value, secret: &Secret) -> Self {
        Self {
            ice_servers,
            key: SignalKey::new(secret),
        }
    }

    pub fn key(&self) -> &SignalKey {
        &self.key
    }

    /// The join data of a seat (the room page's, and the API's).
    pub fn join_data(&self, room: Room<'_>, seat: Option<&Value>, now_ms: i64) -> Value {
        let signalling = seat.map(|s| {
            let (token, expires_at) = self.key.issue(room, s, now_ms);
            json!({"token": token, "expiresAt": iso_ms(expires_at)})
        });
        json!({
            "provider": "webrtc",
            "roomId": room.visit,
            "iceServers": self.ice_servers,
            "signalling": signalling,
        })
    }
}

#[async_trait]
impl VideoRooms for WebRtcRooms {
    fn provider(&self) -> &'static str {
        "webrtc"
    }

    async fn open(&self, _room: Room<'_>) -> Result<(), VideoError> {
        Ok(())
    }

    async fn join(
        &self,
        room: Room<'_>,
        attendee: Attendee<'_>,
        now_ms: i64,
    ) -> Result<Value, VideoError> {
        let mut data = self.join_data(room, attendee.seat, now_ms);
        data["participantId"] = json!(attendee.participant_id);
        Ok(data)
    }

    async fn close(&self, _room: Room<'_>) -> Result<(), VideoError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_in_its_visit_until_it_expires_and_not_once_changed() {
        let key = SignalKey::new(&Secret::ephemeral());
        let (t, v) = (
            TenantKey::parse("demo").unwrap(),
            VisitId::parse("v1").unwrap(),
        );
        let room = Room {
            tenant: &t,
            visit: &v,
        };
        let seat = json!({"kind": "PROVIDER", "userId": "u"});
        let (token, exp) = key.issue(room, &seat, 1_000);
        let claims = key.open(&token, 2_000).expect("opens");
        assert_eq!(
            (claims.visit, claims.seat, claims.expires_at),
            (v, seat, exp)
        );
        assert!(key.open(&token, exp).is_none(), "expired");
        let mut forged = token.clone();
        forged.insert(10, 'x');
        assert!(key.open(&forged, 2_000).is_none());
        let other = SignalKey::new(&Secret::ephemeral());
        assert!(
            other.open(&token, 2_000).is_none(),
            "another deployment's key"
        );
        assert!(key.open("demo.abc.def", 2_000).is_none());
    }

    #[test]
    fn ice_servers_are_checked() {
        assert!(parse_ice_servers("[]").is_ok());
        assert!(parse_ice_servers(r#"[{"urls":"stun:stun.example.org:3478"}]"#).is_ok());
        assert!(
            parse_ice_servers(
                r#"[{"urls":["turn:t.example.org"],"username":"u","credential":"c"}]"#
            )
            .is_ok()
        );
        for bad in [
            "{}",
            "[1]",
            r#"[{"urls":"http://x"}]"#,
            r#"[{"urls":[]}]"#,
            "nope",
        ] {
            assert!(parse_ice_servers(bad).is_err(), "{bad}");
        }
    }
}
