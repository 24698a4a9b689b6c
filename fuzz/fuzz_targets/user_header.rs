//! The `x-integration-user` header: base64 (standard or URL-safe, padded
//! or not) of a JSON object (`shared::http::wire::user_from_header`).
//! Properties: a user read from a header re-encodes (in each of the four
//! base64 forms) to a header that reads as the same user; a header that
//! reads as a user reads as an object too; the four encodings of one JSON
//! text read alike.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use shared::domain::IntegrationUser;
use shared::http::wire::{header_object, user_from_header};

fn encoded(u: &IntegrationUser) -> Value {
    let mut m = Map::new();
    m.insert("userId".into(), json!(u.user_id.as_str()));
    let mut opt = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    opt("firstName", u.first_name.as_deref());
    opt("lastName", u.last_name.as_deref());
    opt("email", u.email.as_ref().map(|e| e.as_str()));
    opt("licenseNumber", u.license_number.as_deref());
    opt(
        "preferredLanguage",
        u.preferred_language.map(|l| l.as_str()),
    );
    m.insert("provider".into(), json!(u.provider));
    Value::Object(m)
}

fuzz_target!(|data: &[u8]| {
    // As a header's text.
    if let Ok(raw) = std::str::from_utf8(data) {
        let object = header_object(raw);
        match user_from_header(raw) {
            Ok(user) => {
                assert!(object.is_ok(), "a user without an object");
                let json = encoded(&user).to_string();
                for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
                    let again = user_from_header(&engine.encode(&json))
                        .expect("a re-encoded user reads back");
                    assert_eq!(again, user);
                }
            }
            Err(e) => assert!(matches!(e, shared::Error::Invalid(_)), "{e:?}"),
        }
    }
    // As the JSON inside the header: every encoding reads alike.
    let forms: Vec<_> = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .map(|engine| user_from_header(&engine.encode(data)).map_err(|e| e.to_string()))
        .collect();
    for f in &forms[1..] {
        assert_eq!(f, &forms[0]);
    }
});
