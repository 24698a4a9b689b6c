//! A visit's WebSocket frames (`shared::services::clinic::live::parse_frame`,
//! the reading `live::on_frame` acts on; a signal's by
//! `services::clinic::signal::read`) and the socket's subprotocol header
//! (`live::protocol_token`). Properties: a frame read is the one the text
//! says — its type, its chat text, a signal's `to` (a connection id of at
//! most 128 bytes) and `data` (an object); written back, it reads as
//! itself; a signal over `MAX_SIGNAL_BYTES` is refused (`413`); every
//! other refusal is a `400`; a bearer token is a non-empty part of the
//! header that was offered as `bearer.{token}`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use shared::Error;
use shared::services::clinic::live::{ClientFrame, parse_frame, protocol_token};
use shared::services::clinic::signal::MAX_SIGNAL_BYTES;

fn written(f: &ClientFrame) -> Value {
    match f {
        ClientFrame::Ping => json!({"type": "ping"}),
        ClientFrame::Sync => json!({"type": "sync"}),
        ClientFrame::Chat { text } => json!({"type": "chat", "text": text}),
        ClientFrame::Signal(s) => json!({"type": "signal", "to": s.to, "data": s.data}),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_frame(text) {
        Ok(frame) => {
            let v: Value = serde_json::from_str(text).expect("a frame read is JSON");
            match &frame {
                ClientFrame::Ping => assert_eq!(v["type"], "ping"),
                ClientFrame::Sync => assert_eq!(v["type"], "sync"),
                ClientFrame::Chat { text } => {
                    assert_eq!(v["type"], "chat");
                    assert_eq!(v["text"].as_str(), Some(text.as_str()));
                }
                ClientFrame::Signal(s) => {
                    assert_eq!(v["type"], "signal");
                    assert!(text.len() <= MAX_SIGNAL_BYTES);
                    assert!(
                        s.to.as_ref()
                            .is_none_or(|t| !t.is_empty() && t.len() <= 128)
                    );
                    assert_eq!(v["data"].as_object(), Some(&s.data));
                }
            }
            let again = written(&frame).to_string();
            if again.len() <= MAX_SIGNAL_BYTES {
                assert_eq!(parse_frame(&again).ok(), Some(frame));
            }
        }
        Err(Error::TooLarge(_)) => assert!(text.len() > MAX_SIGNAL_BYTES),
        Err(e) => assert!(matches!(e, Error::Invalid(_)), "{e:?}"),
    }
    if let Some(token) = protocol_token(text) {
        assert!(!token.is_empty());
        assert!(text.contains(&format!("bearer.{token}")));
    }
});
