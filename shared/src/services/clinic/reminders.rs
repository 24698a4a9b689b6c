//! The patient's messages about a scheduled visit: its link by e-mail at
//! booking, and reminders 24 hours and 1 hour before its start.
//!
//! Driven by the visit's events (at least once, in no order): `Visit
//! Created` of a scheduled visit sends the booking's message and arranges
//! the reminders still ahead with the scheduler (`schedule`: EventBridge
//! Scheduler in AWS, the store locally); `Visit Updated` that takes it out
//! of `SCHEDULED` (cancelled, started, ended) cancels them. A reminder
//! that fires is sent only while the visit is still scheduled and ahead.
//!
//! Each message is claimed before it is sent (a record in the visit's
//! partition, like a consultation's delivery, `services::notify`): of two
//! runs at once one sends, the other fails to be retried; a claim older
//! than [`CLAIM_MS`] is a dead run's and is taken over; a message sent is
//! never sent again. What is sent holds personal data: never logged.

use serde::Serialize;
use serde_json::Value;

use super::visits;
use crate::app::App;
use crate::domain::clinic::hours::local_label;
use crate::domain::clinic::{ReminderKind, Visit, VisitStatus, VisitType};
use crate::domain::{Franchise, Locale, TenantKey, VisitId, links};
use crate::error::{Error, Result};
use crate::notify::{Message, Notifier};
use crate::schedule::{Reminder, Scheduler};
use crate::services::{auth, people};
use crate::store::clinic_items::{NoticeState, notice_of, notice_put, notice_release};
use crate::store::keys;

/// How long a claimed message is its claimer's (as a consultation's
/// delivery: longer than a run, shorter than the retries).
pub const CLAIM_MS: i64 = crate::services::notify::CLAIM_MS;

/// Which message of a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Booked,
    Reminder(ReminderKind),
}

impl Notice {
    fn record(self) -> &'static str {
        match self {
            Notice::Booked => "booked",
            Notice::Reminder(k) => k.as_str(),
        }
    }
}

/// What a visit event made the notifier do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "done")]
pub enum Reaction {
    /// Not a scheduled visit's event, or nothing left to do.
    Ignored,
    /// A booking: its message sent (`sent`: false without an address, or
    /// sent before), `reminders` arranged.
    Booked { sent: bool, reminders: u32 },
    /// Out of `SCHEDULED`: its reminders cancelled.
    Unscheduled,
}

/// A visit event as the notifier reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitEvent {
    pub created: bool,
    pub tenant: TenantKey,
    pub visit_id: VisitId,
    pub visit_type: VisitType,
    pub status: VisitStatus,
}

/// The visit an EventBridge envelope (`{detail-type, detail}`) is about;
/// `None` for any other event.
pub fn visit_event(envelope: &Value) -> Result<Option<VisitEvent>> {
    let created = match envelope["detail-type"].as_str() {
        Some("Visit Created") => true,
        Some("Visit Updated") => false,
        _ => return Ok(None),
    };
    let d = &envelope["detail"];
    let bad = || Error::invalid("a visit event without its tenantKey, visitId, type or status");
    Ok(Some(VisitEvent {
        created,
        tenant: d["tenantKey"]
            .as_str()
            .and_then(TenantKey::parse)
            .ok_or_else(bad)?,
        visit_id: d["data"]["visitId"]
            .as_str()
            .and_then(VisitId::parse)
            .ok_or_else(bad)?,
        visit_type: d["data"]["type"]
            .as_str()
            .and_then(VisitType::parse)
            .ok_or_else(bad)?,
        status: d["status"]
            .as_str()
            .and_then(VisitStatus::parse)
            .ok_or_else(bad)?,
    }))
}

/// Reacts to one bus event (anything but a scheduled visit's is ignored).
pub async fn on_visit_event(
    app: &App,
    scheduler: &dyn Scheduler,
    notifier: &dyn Notifier,
    envelope: &Value,
) -> Result<Reaction> {
    let Some(e) = visit_event(envelope)? else {
        return Ok(Reaction::Ignored);
    };
    if e.visit_type != VisitType::Scheduled {
        return Ok(Reaction::Ignored);
    }
    if e.status != VisitStatus::Scheduled {
        for kind in ReminderKind::ALL {
            scheduler
                .delete(&e.tenant, &e.visit_id, kind)
                .await
                .map_err(Error::Unavailable)?;
        }
        return Ok(Reaction::Unscheduled);
    }
    if !e.created {
        return Ok(Reaction::Ignored);
    }
    // Events come in no order: the visit as it is now decides.
    let Some(v) = scheduled(app, &e.tenant, &e.visit_id).await? else {
        return Ok(Reaction::Ignored);
    };
    let now = app.now_ms();
    let mut arranged = 0;
    for kind in ReminderKind::ALL {
        let at = v.start.unwrap_or(now) - kind.before_ms();
        if at <= now {
            continue;
        }
        let reminder = Reminder {
            tenant: e.tenant.clone(),
            visit_id: e.visit_id.clone(),
            kind,
            at,
        };
        scheduler
            .create(&reminder)
            .await
            .map_err(Error::Unavailable)?;
        arranged += 1;
    }
    let sent = deliver(app, notifier, &v, Notice::Booked).await?;
    Ok(Reaction::Booked {
        sent,
        reminders: arranged,
    })
}

/// The visit, if it is still scheduled and ahead.
async fn scheduled(app: &App, tenant: &TenantKey, id: &VisitId) -> Result<Option<Visit>> {
    let v: Option<Visit> = crate::services::find(app, &keys::visit_key(tenant, id)).await?;
    let now = app.now_ms();
    Ok(v.filter(|v| v.status == VisitStatus::Scheduled && v.start.is_some_and(|s| s > now)))
}

/// A reminder whose time has come: sent once, if the visit is still
/// scheduled and ahead. True when it was sent now.
pub async fn send_reminder(
    app: &App,
    notifier: &dyn Notifier,
    tenant: &TenantKey,
    id: &VisitId,
    kind: ReminderKind,
) -> Result<bool> {
    match scheduled(app, tenant, id).await? {
        Some(v) => deliver(app, notifier, &v, Notice::Reminder(kind)).await,
        None => Ok(false),
    }
}

/// Sends `notice` of `v` to its patient once (claimed first). True when it
/// was sent now; false when it had been, or the patient has no address.
async fn deliver(app: &App, notifier: &dyn Notifier, v: &Visit, notice: Notice) -> Result<bool> {
    let (tenant, id, what) = (&v.tenant_key, &v.visit_id, notice.record());
    let now = app.now_ms();
    let busy = || Error::Unavailable("another run is sending this visit's message".into());
    let record = app.store.get(&keys::notice_key(tenant, id, what)).await?;
    let replaces = match record.as_ref().and_then(notice_of) {
        Some((NoticeState::Sent, _)) => return Ok(false),
        Some((NoticeState::Pending, at)) if now - at < CLAIM_MS => return Err(busy()),
        Some((NoticeState::Pending, at)) => Some(at),
        None => None,
    };
    let claim = notice_put(tenant, id, what, NoticeState::Pending, now, replaces);
    match app.store.write(claim).await {
        Err(e) if e.is_condition_failure() => return Err(busy()),
        other => other?,
    }
    let done = notice_put(tenant, id, what, NoticeState::Sent, now, Some(now));
    let patient = people::patient(app, tenant, &v.patient_id).await?;
    let franchise = auth::franchise(app, tenant)
        .await?
        .ok_or_else(|| Error::not_found("Franchise not found"))?;
    let Some(email) = patient.email.clone() else {
        app.store.write(done).await?;
        return Ok(false);
    };
    let locale: Locale = patient
        .preferred_language
        .unwrap_or(franchise.language)
        .into();
    let link = visits::appointment_token(app, v)
        .map(|t| links::appointment_url(&app.config.app_base_url, id.as_str(), &t));
    let (subject, text) = compose(
        notice,
        locale,
        &franchise,
        &patient.first_name,
        v,
        link.as_deref(),
    );
    let message = Message {
        to: email.as_str().to_owned(),
        subject,
        text,
        link: link.unwrap_or_default(),
    };
    match notifier.send(&message).await {
        Ok(_) => {
            app.store.write(done).await?;
            Ok(true)
        }
        Err(reason) => {
            // The provider's reason, never the message.
            tracing::warn!(%reason, notice = what, "a visit's patient could not be notified");
            let _ = app.store.write(notice_release(tenant, id, what, now)).await;
            Err(Error::Unavailable("the notifier failed".into()))
        }
    }
}

/// The subject and text of a message, in the patient's language.
fn compose(
    notice: Notice,
    locale: Locale,
    franchise: &Franchise,
    first_name: &str,
    v: &Visit,
    link: Option<&str>,
) -> (String, String) {
    let zone = &franchise.time_zone;
    let when = v.start.map(|s| local_label(s, zone)).unwrap_or_default();
    let name = &franchise.name;
    match locale {
        Locale::Fr => {
            let subject = match notice {
                Notice::Booked => format!("{name} : votre rendez-vous du {when}"),
                Notice::Reminder(ReminderKind::DayBefore) => {
                    format!("{name} : votre rendez-vous demain ({when})")
                }
                Notice::Reminder(ReminderKind::HourBefore) => {
                    format!("{name} : votre rendez-vous dans une heure ({when})")
                }
            };
            let lead = match notice {
                Notice::Booked => "Votre rendez-vous est réservé",
                Notice::Reminder(_) => "Un rappel : votre rendez-vous a lieu",
            };
            let join = match link {
                Some(l) => {
                    format!("Rejoignez-le par ce lien (il s'ouvre 15 minutes avant le début) : {l}")
                }
                None => format!("Rejoignez-le depuis le portail patient de {name}."),
            };
            let text = format!(
                "Bonjour {first_name},\n\n{lead} avec {name} le {when} (heure de {zone}).\n\n{join}\n"
            );
            (subject, text)
        }
        Locale::En => {
            let subject = match notice {
                Notice::Booked => format!("{name}: your appointment on {when}"),
                Notice::Reminder(ReminderKind::DayBefore) => {
                    format!("{name}: your appointment tomorrow ({when})")
                }
                Notice::Reminder(ReminderKind::HourBefore) => {
                    format!("{name}: your appointment in one hour ({when})")
                }
            };
            let lead = match notice {
                Notice::Booked => "Your appointment is booked",
                Notice::Reminder(_) => "A reminder: your appointment is",
            };
            let join = match link {
                Some(l) => {
                    format!("Join it from this link (it opens 15 minutes before the start): {l}")
                }
                None => format!("Join it from {name}'s patient portal."),
            };
            let text = format!(
                "Hello {first_name},\n\n{lead} with {name} on {when} ({zone} time).\n\n{join}\n"
            );
            (subject, text)
        }
    }
}
