//! The local notifier: keeps every message in memory, in order, so the local
//! server can list them (`/dev/messages`) and the demo can open the
//! patient's link.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{Message, Notifier};

#[derive(Default)]
pub struct LocalNotifier {
    sent: Mutex<Vec<(String, Message)>>,
}

impl LocalNotifier {
    /// Every message sent so far, oldest first, with its id.
    pub fn messages(&self) -> Vec<(String, Message)> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl Notifier for LocalNotifier {
    async fn send(&self, message: &Message) -> Result<String, String> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let id = format!("local-{}", sent.len() + 1);
        sent.push((id.clone(), message.clone()));
        Ok(id)
    }
}
