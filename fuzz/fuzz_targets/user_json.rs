//! The body's `user` (`shared::http::wire::integration_user`, the same
//! reader as the header's). Properties: a body's user reads the same when
//! sent base64-encoded in the `x-integration-user` header instead; both
//! at once are refused; anything refused is a `400` (`Error::Invalid`).
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::http::wire::{USER_HEADER, integration_user};

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let none = HeaderMap::new();
    let from_body = integration_user(&none, Some(&body));
    if let Err(e) = &from_body {
        assert!(matches!(e, shared::Error::Invalid(_)), "{e:?}");
    }
    let Some(Value::Object(user)) = body.get("user") else {
        return;
    };
    let header = STANDARD.encode(Value::Object(user.clone()).to_string());
    let mut headers = HeaderMap::new();
    headers.insert(
        USER_HEADER,
        HeaderValue::from_str(&header).expect("base64 is a header value"),
    );
    let from_header = integration_user(&headers, None);
    match (&from_body, &from_header) {
        (Ok(b), Ok(h)) => assert_eq!(b, h),
        (Err(_), Err(_)) => {}
        _ => panic!("body {from_body:?} but header {from_header:?}"),
    }
    assert!(
        integration_user(&headers, Some(&body)).is_err(),
        "both at once"
    );
});
