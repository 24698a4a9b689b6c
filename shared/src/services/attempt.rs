//! One webhook attempt: the event's body (the bus event's `detail` as the
//! dispatcher received it, kept on the delivery: every attempt sends the
//! same bytes), signed with every live secret of the endpoint, `POST`ed once.
//! A `2xx` delivers it; anything else (another status, a redirect, a
//! timeout, a connection error) is retried with exponential backoff and
//! full jitter (the first retry within 30 s, at most an hour apart) for
//! three days from the first attempt, then the delivery has failed. A
//! `410 Gone` disables the endpoint at once; an endpoint whose deliveries
//! have all failed for three days is disabled too, and the franchise's
//! operator is told (an event `Webhook Endpoint Disabled`, an e-mail to the
//! franchise's contact address).
//!
//! At least once, and safe to repeat: an attempt is claimed by a
//! conditional write of the delivery's attempt count, so two copies of one
//! message make one request; a message of an older generation (before a
//! redelivery) does nothing.

use super::dispatch::Dispatcher;
use super::retry::conflict;
use super::webhooks::{self, delivery_item, signing_secrets};
use crate::app::App;
use crate::crypto::webhook_signature;
use crate::delivery::queue::Handled;
use crate::delivery::sender::Attempt;
use crate::domain::net::WebhookUrl;
use crate::domain::subscription::{
    EndpointStatus, RETRY_WINDOW_MS, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint,
    retry_delay_ms,
};
use crate::error::{Error, Result};
use crate::events::{Event, outbox};
use crate::metrics::Counter;
use crate::notify::Message;
use crate::store::{Cond, Key, Write, items, keys};

/// A message that arrives this much before its attempt is due is early.
const EARLY_MS: i64 = 1000;
/// How long a claimed attempt holds the delivery: a copy of its message
/// that comes meanwhile waits (so one attempt is one request); an attempt
/// that died with its process is taken over after it.
const LEASE_MS: i64 = crate::delivery::sender::TIMEOUT_MS as i64 + 5000;

fn random() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_or(0, |()| u64::from_le_bytes(b))
}

/// One attempt of the delivery at `key`, of `generation`.
pub async fn attempt(d: &Dispatcher, key: &Key, generation: u32) -> Result<Handled> {
    let app = d.app.as_ref();
    let Some(mut delivery) = super::find::<WebhookDelivery>(app, key).await? else {
        return Ok(Handled::Done);
    };
    if delivery.generation != generation || delivery.status != WebhookDeliveryStatus::Pending {
        return Ok(Handled::Done);
    }
    let now = app.now_ms();
    if let Some(next) = delivery.next_attempt_at
        && next - now > EARLY_MS
    {
        return Ok(Handled::Later(next - now));
    }
    let first = delivery.first_attempt_at.unwrap_or(now);
    if now - first >= RETRY_WINDOW_MS {
        finish(
            app,
            &mut delivery,
            WebhookDeliveryStatus::Failed,
            Some("expired"),
        )
        .await?;
        return Ok(Handled::Done);
    }
    let endpoint = super::find::<WebhookEndpoint>(
        app,
        &keys::webhook_endpoint_key(&delivery.tenant_key, &delivery.endpoint_id),
    )
    .await?;
    let Some(endpoint) = endpoint.filter(|e| e.status == EndpointStatus::Enabled) else {
        finish(
            app,
            &mut delivery,
            WebhookDeliveryStatus::Failed,
            Some("endpoint-disabled"),
        )
        .await?;
        return Ok(Handled::Done);
    };
    // Claim this attempt: one request per attempt, whoever else holds a copy.
    let claimed = delivery.attempts;
    delivery.attempts += 1;
    delivery.first_attempt_at = Some(first);
    delivery.last_attempt_at = Some(now);
    delivery.next_attempt_at = Some(now + LEASE_MS);
    delivery.updated_at = now;
    let claim = Cond::And(vec![
        Cond::AttrEq("generation".into(), generation.into()),
        Cond::AttrEq("attempts".into(), claimed.into()),
        Cond::AttrEq(
            "status".into(),
            WebhookDeliveryStatus::Pending.as_str().into(),
        ),
    ]);
    match put(app, &delivery, claim).await {
        Err(Error::Contention { .. }) => return Ok(Handled::Done),
        other => other?,
    }
    let body = delivery.body.clone();
    let secrets = signing_secrets(app, &endpoint);
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let signature = webhook_signature(&refs, now.div_euclid(1000), body.as_bytes());
    let headers = vec![
        ("embedcare-event-id", delivery.event_id.to_string()),
        ("embedcare-event-type", delivery.event_type.to_string()),
        ("embedcare-signature", signature),
    ];
    let result = match WebhookUrl::parse(&endpoint.url, app.config.webhook_allow_loopback) {
        Ok(url) => d.sender.post(&url, headers, body.into_bytes()).await,
        Err(_) => Attempt {
            status: None,
            error: Some("refused-address"),
            duration_ms: 0,
        },
    };
    record(d, delivery, &endpoint, &result).await
}

async fn put(app: &App, d: &WebhookDelivery, cond: Cond) -> Result<()> {
    Ok(app
        .store
        .write(Write::Put {
            item: delivery_item(d)?,
            cond: Some(cond),
        })
        .await?)
}

/// Ends a delivery (`delivered` or `failed`).
async fn finish(
    app: &App,
    d: &mut WebhookDelivery,
    status: WebhookDeliveryStatus,
    error: Option<&str>,
) -> Result<()> {
    let was = Cond::AttrEq("attempts".into(), d.attempts.into());
    d.status = status;
    d.error = error.map(str::to_owned);
    d.next_attempt_at = None;
    d.updated_at = app.now_ms();
    match put(app, d, was).await {
        Err(Error::Contention { .. }) => Ok(()),
        other => other,
    }
}

/// What an attempt's outcome does to the delivery and the endpoint.
async fn record(
    d: &Dispatcher,
    mut delivery: WebhookDelivery,
    endpoint: &WebhookEndpoint,
    result: &Attempt,
) -> Result<Handled> {
    let app = d.app.as_ref();
    let now = app.now_ms();
    app.metrics().count(Counter::WebhookDeliveries, 1);
    if !result.is_success() {
        app.metrics().count(Counter::WebhookFailures, 1);
    }
    delivery.next_attempt_at = None;
    delivery.response_code = result.status;
    delivery.duration_ms = Some(result.duration_ms);
    if result.is_success() {
        finish(app, &mut delivery, WebhookDeliveryStatus::Delivered, None).await?;
        if endpoint.failing_since.is_some() {
            mark_failing(app, endpoint, None).await?;
        }
        return Ok(Handled::Done);
    }
    let error = match (result.status, result.error) {
        (Some(s), _) if (300..400).contains(&s) => "redirect",
        (Some(_), _) => "status",
        (None, Some(e)) => e,
        (None, None) => "connection",
    };
    tracing::info!(
        endpoint = %delivery.endpoint_id, event = %delivery.event_id, attempt = delivery.attempts,
        status = ?result.status, error, "webhook attempt failed"
    );
    if result.status == Some(410) {
        finish(
            app,
            &mut delivery,
            WebhookDeliveryStatus::Failed,
            Some("gone"),
        )
        .await?;
        disable(d, endpoint, "gone").await?;
        return Ok(Handled::Done);
    }
    let failing_since = match endpoint.failing_since {
        Some(t) => t,
        None => {
            mark_failing(app, endpoint, Some(now)).await?;
            now
        }
    };
    // Three days from the first attempt; the last one comes just before.
    let first = delivery.first_attempt_at.unwrap_or(now);
    let deadline = first + RETRY_WINDOW_MS;
    let given_up = now + EARLY_MS >= deadline;
    // Failing for three days running: this long, or this delivery's whole
    // window with no success since it began.
    if now - failing_since >= RETRY_WINDOW_MS || (given_up && failing_since <= first) {
        finish(
            app,
            &mut delivery,
            WebhookDeliveryStatus::Failed,
            Some(error),
        )
        .await?;
        disable(d, endpoint, "failing").await?;
        return Ok(Handled::Done);
    }
    if given_up {
        finish(
            app,
            &mut delivery,
            WebhookDeliveryStatus::Failed,
            Some(error),
        )
        .await?;
        return Ok(Handled::Done);
    }
    let delay = retry_delay_ms(delivery.attempts, random()).min(deadline - EARLY_MS - now);
    let was = Cond::AttrEq("attempts".into(), delivery.attempts.into());
    delivery.error = Some(error.to_owned());
    delivery.next_attempt_at = Some(now + delay);
    delivery.updated_at = now;
    match put(app, &delivery, was).await {
        Err(Error::Contention { .. }) => Ok(Handled::Done),
        Err(e) => Err(e),
        Ok(()) => Ok(Handled::Later(delay)),
    }
}

/// Sets (or clears) since when the endpoint's deliveries all fail. A lost
/// race is fine: another attempt wrote the same fact.
async fn mark_failing(app: &App, endpoint: &WebhookEndpoint, since: Option<i64>) -> Result<()> {
    let mut e = endpoint.clone();
    let expected = e.version;
    e.failing_since = since;
    e.version += 1;
    e.updated_at = app.now_ms();
    match webhooks::save(app, &e, expected).await {
        Err(Error::Contention { .. }) => Ok(()),
        other => other,
    }
}

/// Disables an endpoint (`reason`: `gone`, `failing`) with its event, in
/// one transaction; then tells the franchise's operator by e-mail. Only the
/// attempt that disabled it sends the e-mail.
async fn disable(d: &Dispatcher, endpoint: &WebhookEndpoint, reason: &'static str) -> Result<()> {
    let app = d.app.as_ref();
    let now = app.now_ms();
    let fresh = webhooks::endpoint(app, &endpoint.tenant_key, &endpoint.endpoint_id).await?;
    if fresh.status != EndpointStatus::Enabled {
        return Ok(());
    }
    let mut e = fresh;
    let expected = e.version;
    e.status = EndpointStatus::Disabled;
    e.disabled_reason = Some(reason.to_owned());
    e.version += 1;
    e.updated_at = now;
    let event = Event::endpoint_disabled(&e.tenant_key, &e.endpoint_id, reason, e.version, now);
    let change = Write::Put {
        item: items::item_of(
            keys::webhook_endpoint_key(&e.tenant_key, &e.endpoint_id),
            &e,
            "webhookEndpoint",
        )?,
        cond: Some(items::at_version(expected)),
    };
    let writes = outbox::with_event(change, &event, now)?;
    match conflict(app.store.transact(writes).await.map_err(Into::into), "") {
        Err(Error::Conflict(_)) => return Ok(()),
        other => other?,
    }
    tracing::warn!(endpoint = %e.endpoint_id, reason, "webhook endpoint disabled");
    tell_operator(d, &e, reason).await;
    Ok(())
}

/// The e-mail to the franchise's contact address (none set: only the log
/// and the event say it).
async fn tell_operator(d: &Dispatcher, e: &WebhookEndpoint, reason: &str) {
    let franchise = match super::auth::franchise(&d.app, &e.tenant_key).await {
        Ok(Some(f)) => f,
        _ => return,
    };
    let Some(to) = franchise.contact_email else {
        tracing::warn!(endpoint = %e.endpoint_id, "no contact e-mail for the franchise: nobody was told");
        return;
    };
    let why = match reason {
        "gone" => "it answered 410 Gone".to_owned(),
        _ => "every delivery to it failed for three days".to_owned(),
    };
    let text = format!(
        "Hello,\n\nThe webhook endpoint {} of {} ({}) was disabled: {why}.\n\
         Its events are still in the event list (GET /v2/events) for 30 days. \
         Enable it again with PATCH /v2/webhook-endpoints/{} {{\"status\": \"enabled\"}}, \
         then redeliver what it missed (POST /v2/events/{{eventId}}/redeliver).\n",
        e.endpoint_id, franchise.name, e.url, e.endpoint_id
    );
    let message = Message {
        to: to.as_str().to_owned(),
        subject: format!("{}: a webhook endpoint was disabled", franchise.name),
        text,
        link: e.url.clone(),
    };
    if let Err(reason) = d.notifier.send(&message).await {
        tracing::warn!(%reason, "the operator could not be told");
    }
}
