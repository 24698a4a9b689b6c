//! The patient side's resources as JSON (camelCase, ISO instants).

use serde_json::{Value, json};

use crate::app::App;
use crate::clock::iso_ms;
use crate::domain::clinic::{Availability, ChatMessage, Intake, Provider, Room, Visit};
use crate::domain::links;
use crate::services::clinic::slots::Slot;
use crate::services::clinic::visits;

fn iso(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |m| iso_ms(m).into())
}

/// A room; without a key, its public fields only.
pub fn room(r: &Room, public: bool, open: bool) -> Value {
    let mut v = json!({
        "code": r.code,
        "name": r.name,
        "visitTypes": r.visit_types,
        "durations": r.durations,
        "hours": r.hours,
        "open": open,
        "closedMessage": r.closed_message,
    });
    if !public {
        v["providerIds"] = json!(r.provider_ids);
        v["oneTimeLinks"] = json!(r.one_time_links);
        v["relatedPersonInvites"] = json!(r.related_person_invites);
        v["createdAt"] = iso_ms(r.created_at).into();
        v["updatedAt"] = iso_ms(r.updated_at).into();
        v["version"] = json!(r.version);
    }
    v
}

pub fn provider(p: &Provider) -> Value {
    json!({
        "userId": p.user_id,
        "displayName": p.display_name,
        "title": p.title,
        "languages": p.languages,
        "version": p.version,
    })
}

pub fn availability(a: &Availability) -> Value {
    json!({
        "providerId": a.provider_id,
        "roomCode": a.room_code,
        "weekly": a.weekly,
        "exceptions": a.exceptions,
        "updatedAt": iso_ms(a.updated_at),
        "version": a.version,
    })
}

pub fn slot(s: &Slot) -> Value {
    json!({"providerId": s.provider_id, "start": iso_ms(s.start), "end": iso_ms(s.end)})
}

pub fn intake(i: &Intake) -> Value {
    json!({
        "intakeId": i.intake_id,
        "patientId": i.patient_id,
        "reasonForVisit": i.reason_for_visit,
        "type": i.visit_type,
        "roomCode": i.room_code,
        "providerId": i.provider_id,
        "phone": i.phone,
        "location": i.location,
        "concerns": i.concerns,
        "custom": i.custom,
        "createdAt": iso_ms(i.created_at),
        "updatedAt": iso_ms(i.updated_at),
        "version": i.version,
    })
}

/// A visit; `live`: its place in the queue and estimated wait now.
pub fn visit(app: &App, v: &Visit, live: Option<(u64, u64)>) -> Value {
    let code = visits::join_code(app, v);
    let (position, wait) = match live {
        Some((p, w)) => (json!(p), json!(w)),
        None => (
            json!(v.queue_position.filter(|_| v.in_queue())),
            Value::Null,
        ),
    };
    json!({
        "visitId": v.visit_id,
        "code": code,
        "joinUrl": format!("{}{}", app.config.app_base_url, links::clinic_join(&code)),
        "type": v.visit_type,
        "status": v.status,
        "roomCode": v.room_code,
        "patientId": v.patient_id,
        "providerId": v.provider_id,
        "intakeId": v.intake_id,
        "start": iso(v.start),
        "end": iso(v.end),
        "actualStart": iso(v.actual_start),
        "actualEnd": iso(v.actual_end),
        "queuePosition": position,
        "estimatedWaitMinutes": wait,
        "durations": v.durations.map(|d| json!({
            "waitingSeconds": d.waiting_ms / 1000,
            "visitSeconds": d.visit_ms / 1000,
            "disconnectedSeconds": d.disconnected_ms / 1000,
        })),
        "fulfilledAt": v.fulfilment.as_ref().map(|f| iso_ms(f.at)),
        "fulfilledBy": v.fulfilment.as_ref().map(|f| json!({"type": f.by, "id": f.by_id})),
        "createdAt": iso_ms(v.created_at),
        "updatedAt": iso_ms(v.updated_at),
        "version": v.version,
    })
}

pub fn message(m: &ChatMessage) -> Value {
    crate::services::clinic::fanout::message_json(m)
}
