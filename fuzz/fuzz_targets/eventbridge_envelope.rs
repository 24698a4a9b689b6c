//! EventBridge envelopes and what rides in them: the patient notifier's
//! (`shared::lambda::eventbridge::sent_consultation`), the visit
//! notifier's (`services::clinic::reminders::visit_event`, a timer's
//! `schedule::Reminder::of_payload`), the dispatcher's SQS records
//! (`lambda::sqs::records_of`) and the event they carry
//! (`events::Published::parse`, its `createdAt` by
//! `clock::parse_iso_ms`). Properties: what is picked is what the envelope
//! says (its tenant key, its ids, its type, its status); a bad envelope is
//! a `400` (`Error::Invalid`); an event's instant written back by
//! `clock::iso_ms` reads as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::clock::{iso_ms, parse_iso_ms};
use shared::events::Published;
use shared::lambda::eventbridge::sent_consultation;
use shared::lambda::sqs::records_of;
use shared::schedule::Reminder;
use shared::services::clinic::reminders::visit_event;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let detail = &envelope["detail"];
    match sent_consultation(&envelope) {
        Ok(Some((tenant, id))) => {
            let t = envelope["detail-type"].as_str();
            assert!(matches!(
                t,
                Some("Consultation Created" | "Consultation Updated")
            ));
            assert_eq!(detail["status"], "SENT");
            assert_eq!(detail["tenantKey"].as_str(), Some(tenant.as_str()));
            assert_eq!(detail["data"]["consultationId"].as_str(), Some(id.as_str()));
        }
        Ok(None) => {}
        Err(e) => assert!(matches!(e, shared::Error::Invalid(_)), "{e:?}"),
    }
    match visit_event(&envelope) {
        Ok(Some(v)) => {
            let t = envelope["detail-type"].as_str();
            assert_eq!(t == Some("Visit Created"), v.created);
            assert_eq!(detail["tenantKey"].as_str(), Some(v.tenant.as_str()));
            assert_eq!(
                detail["data"]["visitId"].as_str(),
                Some(v.visit_id.as_str())
            );
            assert_eq!(detail["status"].as_str(), Some(v.status.as_str()));
        }
        Ok(None) => assert!(!matches!(
            envelope["detail-type"].as_str(),
            Some("Visit Created" | "Visit Updated")
        )),
        Err(e) => assert!(matches!(e, shared::Error::Invalid(_)), "{e:?}"),
    }
    if let Some((tenant, visit, kind)) = Reminder::of_payload(&envelope) {
        let r = &envelope["reminder"];
        assert_eq!(r["tenantKey"].as_str(), Some(tenant.as_str()));
        assert_eq!(r["visitId"].as_str(), Some(visit.as_str()));
        assert_eq!(r["kind"].as_str(), Some(kind.as_str()));
    }
    let mut envelopes = vec![envelope.clone()];
    for record in records_of(&envelope) {
        if let Ok(inner) = serde_json::from_str::<Value>(&record.body) {
            envelopes.push(inner);
        }
    }
    for e in envelopes {
        let detail_type = e["detail-type"].as_str().unwrap_or_default();
        if let Ok(p) = Published::parse(detail_type, e["detail"].clone()) {
            assert_eq!(e["detail"]["tenantKey"].as_str(), Some(p.tenant.as_str()));
            assert_eq!(e["detail"]["id"].as_str(), Some(p.id.as_str()));
            assert_eq!(p.detail, e["detail"]);
            assert_eq!(parse_iso_ms(&iso_ms(p.at)), Some(p.at), "{}", p.at);
        }
    }
    if let Some(s) = envelope.as_str() {
        if let Some(at) = parse_iso_ms(s) {
            assert_eq!(parse_iso_ms(&iso_ms(at)), Some(at), "{s}");
        }
    }
});
