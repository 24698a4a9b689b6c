//! Live connections (WebSockets), as a port: send a text frame to a
//! connection by its id, close it, ask whether it is still there. Written
//! for any WebSocket route set (the subscription stream today, live visits
//! next): it knows frames, not what they say.
//!
//! Adapters: API Gateway's Management API in AWS (`apigw.rs`:
//! `PostToConnection`, `DeleteConnection`, `GetConnection`; a close there
//! cannot carry a code, so a caller that must say why sends a frame first),
//! and [`LocalConnections`], the local server's registry of axum WebSocket
//! senders.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::mpsc;

/// Why a frame was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The connection is gone (closed, or never was).
    Gone,
    /// The service failed; the connection may still be there.
    Failed(String),
}

#[async_trait]
pub trait Connections: Send + Sync {
    /// Sends one text frame.
    async fn send(&self, connection_id: &str, text: &str) -> Result<(), SendError>;
    /// Closes the connection (with `code` where the adapter can say one).
    async fn close(&self, connection_id: &str, code: u16, reason: &str) -> Result<(), SendError>;
    /// Whether the connection is still open.
    async fn is_live(&self, connection_id: &str) -> Result<bool, SendError>;
}

/// The connections of a process that serves none: nothing is live.
pub struct NoConnections;

#[async_trait]
impl Connections for NoConnections {
    async fn send(&self, _: &str, _: &str) -> Result<(), SendError> {
        Err(SendError::Gone)
    }
    async fn close(&self, _: &str, _: u16, _: &str) -> Result<(), SendError> {
        Ok(())
    }
    async fn is_live(&self, _: &str) -> Result<bool, SendError> {
        Ok(false)
    }
}

/// What the local server's socket task is told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    Text(String),
    Close(u16, String),
}

/// The local server's live connections: each socket task registers a
/// sender under its connection id and writes what arrives on it.
#[derive(Default)]
pub struct LocalConnections {
    open: Mutex<HashMap<String, mpsc::UnboundedSender<Outbound>>>,
}

impl LocalConnections {
    /// A new connection: its id (unique in this process's life and across
    /// restarts) and what its socket task must write.
    pub fn open(&self) -> (String, mpsc::UnboundedReceiver<Outbound>) {
        let id = format!("local-{}", uuid::Uuid::new_v4().simple());
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().insert(id.clone(), tx);
        (id, rx)
    }

    /// The socket of `id` is closed.
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Outbound>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn post(&self, id: &str, what: Outbound) -> Result<(), SendError> {
        let tx = self.lock().get(id).cloned().ok_or(SendError::Gone)?;
        tx.send(what).map_err(|_| SendError::Gone)
    }
}

#[async_trait]
impl Connections for LocalConnections {
    async fn send(&self, connection_id: &str, text: &str) -> Result<(), SendError> {
        self.post(connection_id, Outbound::Text(text.to_owned()))
    }

    async fn close(&self, connection_id: &str, code: u16, reason: &str) -> Result<(), SendError> {
        let r = self.post(connection_id, Outbound::Close(code, reason.to_owned()));
        self.forget(connection_id);
        match r {
            Err(SendError::Gone) => Ok(()),
            other => other,
        }
    }

    async fn is_live(&self, connection_id: &str) -> Result<bool, SendError> {
        Ok(self
            .lock()
            .get(connection_id)
            .is_some_and(|tx| !tx.is_closed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_reach_the_socket_task_until_it_is_gone() {
        let c = LocalConnections::default();
        let (id, mut rx) = c.open();
        assert!(c.is_live(&id).await.unwrap());
        c.send(&id, "hello").await.unwrap();
        assert_eq!(rx.recv().await, Some(Outbound::Text("hello".into())));
        c.close(&id, 4409, "taken").await.unwrap();
        assert_eq!(rx.recv().await, Some(Outbound::Close(4409, "taken".into())));
        assert!(!c.is_live(&id).await.unwrap());
        assert_eq!(c.send(&id, "x").await, Err(SendError::Gone));
        assert_eq!(c.send("local-nope", "x").await, Err(SendError::Gone));
    }
}
