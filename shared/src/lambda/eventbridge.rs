//! The patient notifier's input: an EventBridge event (`{source,
//! detail-type, detail}`), delivered by the rule on consultations that
//! became `SENT` (the local server hands its in-process bus's events the
//! same way). Other events are ignored.

use serde_json::Value;

use crate::app::App;
use crate::domain::{ConsultationId, ConsultationStatus, Delivery, TenantKey};
use crate::error::{Error, Result};
use crate::notify::Notifier;
use crate::services::notify;

/// Reacts to one bus event: a consultation that became `SENT` gets its
/// patient notified (once); anything else is ignored.
pub async fn on_event(
    app: &App,
    notifier: &dyn Notifier,
    envelope: &Value,
) -> Result<Option<Delivery>> {
    match sent_consultation(envelope)? {
        Some((tenant, id)) => notify::notify_patient(app, notifier, &tenant, &id).await,
        None => Ok(None),
    }
}

/// The consultation a `Consultation Created|Updated` event with status
/// `SENT` is about; `None` for any other event.
pub fn sent_consultation(envelope: &Value) -> Result<Option<(TenantKey, ConsultationId)>> {
    let detail_type = envelope["detail-type"].as_str().unwrap_or_default();
    let detail = &envelope["detail"];
    if !matches!(detail_type, "Consultation Created" | "Consultation Updated")
        || detail["status"] != ConsultationStatus::Sent.as_str()
    {
        return Ok(None);
    }
    let tenant = detail["tenantKey"]
        .as_str()
        .and_then(TenantKey::parse)
        .ok_or_else(|| Error::invalid("event without a valid tenantKey"))?;
    let id = detail["data"]["consultationId"]
        .as_str()
        .and_then(ConsultationId::parse)
        .ok_or_else(|| Error::invalid("event without a consultationId"))?;
    Ok(Some((tenant, id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_sent_consultations_are_picked() {
        let sent = json!({"detail-type": "Consultation Updated", "detail": {"status": "SENT",
            "tenantKey": "demo", "data": {"consultationId": "c1"}}});
        let (tenant, id) = sent_consultation(&sent).unwrap().unwrap();
        assert_eq!((tenant.as_str(), id.as_str()), ("demo", "c1"));
        let draft = json!({"detail-type": "Consultation Created", "detail": {"status": "DRAFT"}});
        assert!(sent_consultation(&draft).unwrap().is_none());
        let other = json!({"detail-type": "Followup Created", "detail": {"status": "SENT"}});
        assert!(sent_consultation(&other).unwrap().is_none());
        let bad = json!({"detail-type": "Consultation Created", "detail": {"status": "SENT", "tenantKey": "Bad!"}});
        assert!(matches!(sent_consultation(&bad), Err(Error::Invalid(_))));
    }
}
