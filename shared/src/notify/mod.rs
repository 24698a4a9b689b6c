//! The notifier port: how a patient gets a consultation's answer link.
//! Amazon SES for e-mail in AWS (`ses.rs`); locally, a notifier that keeps
//! the messages so the demo can show them and open the patient's link
//! (`local.rs`). SMS may come later as another adapter.
//!
//! A message holds personal data (an address, a name, a link): it is never
//! logged, never put in an event.

#[cfg(feature = "local")]
pub mod local;
pub mod ses;

use async_trait::async_trait;

#[derive(Clone, PartialEq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The link inside the message (kept apart for the local notifier's page).
    pub link: String,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message").finish_non_exhaustive()
    }
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one message; its id at the provider, or why it failed.
    async fn send(&self, message: &Message) -> Result<String, String>;
}

/// The notifier of a deployment without a sender: it sends nothing and
/// says so.
pub struct NoNotifier;

#[async_trait]
impl Notifier for NoNotifier {
    async fn send(&self, _: &Message) -> Result<String, String> {
        Err("no e-mail sender is configured (EMBEDCARE_SES_SENDER)".into())
    }
}
