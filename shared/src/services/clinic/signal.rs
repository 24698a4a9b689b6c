//! Video signalling over a visit's live connection (WebRTC's offers,
//! answers and ICE candidates; the server reads none of it): a client
//! frame `{"type": "signal", "to": connectionId?, "data": {…}}` (at most
//! [`MAX_SIGNAL_BYTES`], `data` an object) is relayed as `{"v": 1,
//! "type": "signal", "from": connectionId, "data": …}` to that connection
//! of the same visit, or to every other connection of the visit when `to`
//! is absent. A `to` that is not a connection of this visit is a `404`
//! (another visit's connections are never reached). Over any transport of
//! `delivery::connections` (the local registry, `PostToConnection` in
//! AWS); best effort, like the fan-out.

use futures_util::future::join_all;
use serde_json::{Map, Value, json};

use super::fanout;
use crate::app::App;
use crate::delivery::connections::SendError;
use crate::domain::clinic::LiveConnection;
use crate::error::{Error, Result};

/// A signal frame's largest size, as received (16 KB: an SDP offer with
/// its candidates fits).
pub const MAX_SIGNAL_BYTES: usize = 16 * 1024;

/// A `signal` frame, checked: to whom (`None`: every other connection of
/// the visit) and its `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub to: Option<String>,
    pub data: Map<String, Value>,
}

/// Reads a `signal` frame (its text `raw`, parsed as `frame`): at most
/// [`MAX_SIGNAL_BYTES`], `data` an object, `to` absent or a connection id.
pub fn read(frame: &Value, raw: &str) -> Result<Signal> {
    if raw.len() > MAX_SIGNAL_BYTES {
        return Err(Error::TooLarge(format!(
            "A signal frame is at most {} KB",
            MAX_SIGNAL_BYTES / 1024
        )));
    }
    let data = match &frame["data"] {
        Value::Object(d) => d.clone(),
        _ => return Err(Error::invalid("data must be an object")),
    };
    let to = match &frame["to"] {
        Value::Null => None,
        Value::String(s) if !s.is_empty() && s.len() <= 128 => Some(s.clone()),
        _ => return Err(Error::invalid("to must be a connection id")),
    };
    Ok(Signal { to, data })
}

/// Relays one `signal` frame of `c`, read by [`read`].
pub async fn relay(app: &App, c: &LiveConnection, s: &Signal) -> Result<()> {
    let to = s.to.as_deref();
    let Some(live) = app.visit_live.as_ref() else {
        return Ok(());
    };
    let others: Vec<LiveConnection> = fanout::connections(app, &c.tenant_key, &c.visit_id)
        .await?
        .into_iter()
        .filter(|o| o.connection_id != c.connection_id)
        .filter(|o| to.is_none_or(|t| o.connection_id == t))
        .collect();
    if to.is_some() && others.is_empty() {
        return Err(Error::not_found("No such connection in this visit"));
    }
    let text = fanout::frame(
        "signal",
        json!({"from": c.connection_id, "data": Value::Object(s.data.clone())}),
    );
    let sent = join_all(others.iter().map(|o| live.send(&o.connection_id, &text))).await;
    for (o, r) in others.iter().zip(sent) {
        match r {
            Ok(()) => {}
            Err(SendError::Gone) => {
                if let Err(e) = fanout::forget(app, o).await {
                    tracing::warn!(error = %e, "a gone live connection was not forgotten");
                }
            }
            Err(SendError::Failed(why)) => tracing::warn!(error = %why, "a signal was not relayed"),
        }
    }
    Ok(())
}
