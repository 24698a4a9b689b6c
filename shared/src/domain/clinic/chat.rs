//! The text chat of a visit: messages stored per visit, seen only by the
//! visit's patient, provider and guests.

use serde::{Deserialize, Serialize};

use crate::domain::ids::{MessageId, VisitId};

/// A message holds at most this many characters.
pub const MAX_TEXT: usize = 2000;

named_enum! {
    /// Who wrote a message.
    Author {
        Patient = "PATIENT",
        Provider = "PROVIDER",
        Guest = "GUEST",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub visit_id: VisitId,
    pub message_id: MessageId,
    pub author: Author,
    /// The name shown beside the message.
    pub author_name: String,
    pub text: String,
    pub at: i64,
}

/// A message's text, trimmed: 1 to [`MAX_TEXT`] characters, no control
/// characters but line breaks and tabs.
pub fn message_text(raw: &str) -> Option<String> {
    let t = raw.trim();
    let ok = !t.is_empty()
        && t.chars().count() <= MAX_TEXT
        && !t
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    ok.then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn texts() {
        assert_eq!(super::message_text("  hi \n"), Some("hi".into()));
        assert!(super::message_text("   ").is_none());
        assert!(super::message_text(&"x".repeat(2001)).is_none());
        assert!(super::message_text(&"é".repeat(2000)).is_some());
        assert!(super::message_text("a\u{7}b").is_none());
    }
}
