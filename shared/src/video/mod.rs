//! Video rooms, as a port: a visit's meeting (opened when the provider
//! starts the visit, closed when it ends) and the join data of one of its
//! participants. It knows meetings and attendees, not who may join: the
//! services decide that (`services::clinic::video`).
//!
//! Adapters:
//! - [`webrtc::WebRtcRooms`], the embedded default: browsers peer to peer,
//!   signalling over the visit's live connection; the join data is the
//!   room (the visit's id), the ICE servers of the configuration
//!   (`EMBEDCARE_ICE_SERVERS`) and a short-lived signalling token (HMAC);
//!   nothing to open or close.
//! - `chime::ChimeRooms` (feature `chime`, the `visits` function only):
//!   Amazon Chime SDK meetings — `CreateMeeting` (idempotent: its
//!   `ClientRequestToken` is the visit's id, so a join can ensure it too),
//!   `CreateAttendee` (`ExternalUserId`: the participant's id), and
//!   `DeleteMeeting`. No name, no contact detail reaches Chime.
//!
//! Join data is the JSON the API answers (`GET
//! /v2/visits/{visitId}/participants/{participantId}/video-key`), with
//! `provider` naming the adapter.

#[cfg(feature = "chime")]
pub mod chime;
pub mod webrtc;

use async_trait::async_trait;
use serde_json::Value;

use crate::domain::{ParticipantId, TenantKey, VisitId};

/// A visit's video room.
#[derive(Debug, Clone, Copy)]
pub struct Room<'a> {
    pub tenant: &'a TenantKey,
    pub visit: &'a VisitId,
}

/// Who joins: the participant's id (the only thing an adapter is told of
/// them) and, for the signalling token of WebRTC, the seat the token's
/// holder takes on the visit's live connection (opaque JSON here).
#[derive(Debug, Clone, Copy)]
pub struct Attendee<'a> {
    pub participant_id: &'a ParticipantId,
    pub seat: Option<&'a Value>,
}

/// Why the video service failed (the cause, for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoError(pub String);

impl std::fmt::Display for VideoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[async_trait]
pub trait VideoRooms: Send + Sync {
    /// `webrtc` or `chime`.
    fn provider(&self) -> &'static str;
    /// Opens the visit's meeting, or finds the one open (idempotent).
    async fn open(&self, room: Room<'_>) -> Result<(), VideoError>;
    /// The join data of one attendee (the meeting ensured first).
    async fn join(
        &self,
        room: Room<'_>,
        attendee: Attendee<'_>,
        now_ms: i64,
    ) -> Result<Value, VideoError>;
    /// Ends the visit's meeting (nothing to do when there is none).
    async fn close(&self, room: Room<'_>) -> Result<(), VideoError>;
}
