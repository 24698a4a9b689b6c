//! The video port on Amazon Chime SDK meetings (feature `chime`; the
//! `visits` function only): `CreateMeeting` with `ClientRequestToken` =
//! the visit's id (Chime answers the same meeting again for the same
//! token, so opening is idempotent and a join can ensure the meeting
//! without a stored id), `ExternalMeetingId` = the visit's id too (a
//! random id: no personal data); `CreateAttendee` with `ExternalUserId` =
//! the participant's id (no names); `DeleteMeeting` at the end (a meeting
//! already gone is fine). The stack grants `chime:CreateMeeting`,
//! `chime:CreateAttendee` and `chime:DeleteMeeting` only.
//!
//! The join data is what Chime's client libraries take:
//! `{provider: "chime", meeting: {MeetingId, ExternalMeetingId,
//! MediaRegion, MediaPlacement}, attendee: {AttendeeId, ExternalUserId,
//! JoinToken}}`.

use async_trait::async_trait;
use aws_sdk_chimesdkmeetings::Client;
use aws_sdk_chimesdkmeetings::error::ProvideErrorMetadata;
use aws_sdk_chimesdkmeetings::types::{Attendee as ChimeAttendee, Meeting};
use serde_json::{Value, json};

use super::{Attendee, Room, VideoError, VideoRooms};

pub struct ChimeRooms {
    client: Client,
    media_region: String,
}

impl ChimeRooms {
    /// `media_region`: where the meetings' media are hosted (the stack's
    /// region).
    pub fn new(client: Client, media_region: impl Into<String>) -> Self {
        Self {
            client,
            media_region: media_region.into(),
        }
    }

    /// The visit's meeting: created, or the one its token made before.
    async fn meeting(&self, room: Room<'_>) -> Result<Meeting, VideoError> {
        let out = self
            .client
            .create_meeting()
            .client_request_token(room.visit.as_str())
            .external_meeting_id(room.visit.as_str())
            .media_region(&self.media_region)
            .send()
            .await
            .map_err(|e| failed("CreateMeeting", &e))?;
        out.meeting
            .ok_or_else(|| VideoError("CreateMeeting answered no meeting".into()))
    }
}

fn failed<E: ProvideErrorMetadata + std::fmt::Debug>(
    what: &str,
    e: &aws_sdk_chimesdkmeetings::error::SdkError<E>,
) -> VideoError {
    let code = e
        .as_service_error()
        .and_then(|s| s.code())
        .unwrap_or("no service error");
    VideoError(format!("{what} failed: {code}"))
}

fn meeting_json(m: &Meeting) -> Value {
    let p = m.media_placement();
    json!({
        "MeetingId": m.meeting_id(),
        "ExternalMeetingId": m.external_meeting_id(),
        "MediaRegion": m.media_region(),
        "MediaPlacement": p.map(|p| json!({
            "AudioHostUrl": p.audio_host_url(),
            "AudioFallbackUrl": p.audio_fallback_url(),
            "SignalingUrl": p.signaling_url(),
            "TurnControlUrl": p.turn_control_url(),
            "ScreenDataUrl": p.screen_data_url(),
            "ScreenViewingUrl": p.screen_viewing_url(),
            "ScreenSharingUrl": p.screen_sharing_url(),
            "EventIngestionUrl": p.event_ingestion_url(),
        })),
    })
}

fn attendee_json(a: &ChimeAttendee) -> Value {
    json!({
        "AttendeeId": a.attendee_id(),
        "ExternalUserId": a.external_user_id(),
        "JoinToken": a.join_token(),
    })
}

#[async_trait]
impl VideoRooms for ChimeRooms {
    fn provider(&self) -> &'static str {
        "chime"
    }

    async fn open(&self, room: Room<'_>) -> Result<(), VideoError> {
        self.meeting(room).await.map(|_| ())
    }

    async fn join(
        &self,
        room: Room<'_>,
        attendee: Attendee<'_>,
        _now_ms: i64,
    ) -> Result<Value, VideoError> {
        let m = self.meeting(room).await?;
        let id = m
            .meeting_id()
            .ok_or_else(|| VideoError("CreateMeeting answered no meeting id".into()))?;
        let out = self
            .client
            .create_attendee()
            .meeting_id(id)
            .external_user_id(attendee.participant_id.as_str())
            .send()
            .await
            .map_err(|e| failed("CreateAttendee", &e))?;
        let a = out
            .attendee
            .ok_or_else(|| VideoError("CreateAttendee answered no attendee".into()))?;
        Ok(json!({
            "provider": "chime",
            "participantId": attendee.participant_id,
            "meeting": meeting_json(&m),
            "attendee": attendee_json(&a),
        }))
    }

    async fn close(&self, room: Room<'_>) -> Result<(), VideoError> {
        let m = self.meeting(room).await?;
        let Some(id) = m.meeting_id() else {
            return Ok(());
        };
        match self.client.delete_meeting().meeting_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(failed("DeleteMeeting", &e)),
        }
    }
}
