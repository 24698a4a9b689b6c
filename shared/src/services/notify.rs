//! Sending a consultation to its patient: when a consultation becomes
//! `SENT`, the patient gets a long-lived, single-use answer link through the
//! notifier, and the delivery is recorded on the consultation.
//!
//! Driven by events (at least once): in AWS the `patient-notifier` function
//! is the target of a rule on `Consultation Created|Updated` with status
//! `SENT` (`lambda::eventbridge` reads its events); locally a subscriber of
//! the in-process bus. A delivery already recorded is not sent again, so a
//! repeated event sends nothing.
//!
//! Nothing is lost either. The delivery is claimed (`PENDING`) before the
//! send, with a version-checked write, so that of two runs at once one
//! sends. A run that finds a *fresh* claim of another fails, so that its
//! event is retried; a claim older than [`CLAIM_MS`] can only be a run
//! that died between its claim and its send (a crash, a timeout), and the
//! next run takes it over. (A run that dies after the provider accepted the
//! message but before it recorded `SENT` makes the patient get it twice:
//! at least once, as every event.)

use crate::app::App;
use crate::domain::{
    ConsultationId, ConsultationStatus, Delivery, DeliveryStatus, Locale, Reach, Role, Scope,
    TenantKey, View,
};
use crate::error::{Error, Result};
use crate::notify::{Message, Notifier};
use crate::services::{auth, consultations, launch, people};

/// How long a claimed (pending) delivery is its claimer's. Longer than a
/// run can last (the function's timeout is 30 s), so an older claim is a
/// dead run's; shorter than the retries of a failed invocation (Lambda
/// retries an asynchronous one after about one, then two more minutes), so
/// the last retry always takes a dead run's claim over.
pub const CLAIM_MS: i64 = 60 * 1000;

/// Sends the answer link of a `SENT` consultation to its patient, once.
pub async fn notify_patient(
    app: &App,
    notifier: &dyn Notifier,
    tenant: &TenantKey,
    id: &ConsultationId,
) -> Result<Option<Delivery>> {
    let c = consultations::consultation(app, tenant, id).await?;
    let now = app.now_ms();
    let done = c
        .delivery
        .as_ref()
        .is_some_and(|d| matches!(d.status, DeliveryStatus::Sent | DeliveryStatus::NoContact));
    if c.status != ConsultationStatus::Sent || done {
        return Ok(None);
    }
    let in_progress = || {
        // Not done, and maybe never will be: fail, so the event is retried.
        Error::Unavailable("another run is delivering this consultation's link".into())
    };
    if c.delivery
        .as_ref()
        .is_some_and(|d| d.status == DeliveryStatus::Pending && now - d.at < CLAIM_MS)
    {
        return Err(in_progress());
    }
    // Claim the delivery first (a version-checked write; a stale claim is
    // taken over the same way): of two runs at once, one sends and the
    // other fails here, to be retried.
    let claim = Delivery {
        channel: "email".into(),
        status: DeliveryStatus::Pending,
        at: now,
    };
    match consultations::record_delivery_at(app, &c, claim).await {
        Ok(_) => {}
        Err(Error::Conflict(_)) => return Err(in_progress()),
        Err(e) => return Err(e),
    }
    let patient = people::patient(app, tenant, &c.patient_id).await?;
    let franchise = auth::franchise(app, tenant)
        .await?
        .ok_or_else(|| Error::not_found("Franchise not found"))?;
    let Some(email) = patient.email.clone() else {
        let delivery = Delivery {
            channel: "none".into(),
            status: DeliveryStatus::NoContact,
            at: now,
        };
        consultations::record_delivery(app, tenant, id, delivery.clone()).await?;
        return Ok(Some(delivery));
    };
    let locale: Locale = patient
        .preferred_language
        .unwrap_or(franchise.language)
        .into();
    let scope = Scope {
        account_id: franchise.account_id.clone(),
        user_id: c.created_by.clone(),
        role: Role::Patient,
        view: View::ConsultationAnswer,
        locale,
        patient_id: Some(c.patient_id.clone()),
        consultation_id: Some(c.consultation_id.clone()),
        followup_id: None,
        prefill: None,
        reach: Some(Reach::Consultation {
            consultation_id: c.consultation_id.clone(),
        }),
        key_id: None,
        key_expires_at: None,
    };
    let (link, _) = launch::issue_link(app, tenant, scope, app.config.answer_link_ttl_s).await?;
    let days = app.config.answer_link_ttl_s / 86_400;
    let (subject, text) = match locale {
        Locale::Fr => (
            format!("{} : une consultation vous attend", franchise.name),
            format!(
                "Bonjour {},\n\n{} vous invite à répondre à une consultation en ligne.\n\nRépondre : {link}\n\nCe lien ne s'ouvre qu'une fois et reste valide {days} jours.\n",
                patient.first_name, franchise.name
            ),
        ),
        Locale::En => (
            format!("{}: a consultation is waiting for you", franchise.name),
            format!(
                "Hello {},\n\n{} invites you to answer an online consultation.\n\nAnswer: {link}\n\nThis link opens once and stays valid for {days} days.\n",
                patient.first_name, franchise.name
            ),
        ),
    };
    let message = Message {
        to: email.as_str().to_owned(),
        subject,
        text,
        link,
    };
    let status = match notifier.send(&message).await {
        Ok(_) => DeliveryStatus::Sent,
        Err(reason) => {
            // The provider's reason, never the message.
            tracing::warn!(%reason, "the patient could not be notified");
            DeliveryStatus::Failed
        }
    };
    let delivery = Delivery {
        channel: "email".into(),
        status,
        at: now,
    };
    consultations::record_delivery(app, tenant, id, delivery.clone()).await?;
    if status == DeliveryStatus::Failed {
        // Let the event be retried (EventBridge retries the target).
        return Err(Error::Unavailable("the notifier failed".into()));
    }
    Ok(Some(delivery))
}
