//! The `Embedcare-Signature` header of a webhook delivery: the verifier
//! the README gives vendors (its Rust block, which is
//! `tests/http/verify.rs`, compiled here as it is) over arbitrary headers,
//! bodies and clocks, and the header `shared::crypto::webhook_signature`
//! writes. Properties: a header written for a body verifies for that body
//! with each of its secrets, at its own `t` and within the tolerance; it
//! fails for another body, another secret, or a `t` out of tolerance; an
//! arbitrary header verifies for no secret it was not made with.
#![no_main]

#[path = "../../tests/http/verify.rs"]
mod verify;

use libfuzzer_sys::fuzz_target;
use shared::crypto::webhook_signature;
use verify::verify_embedcare_signature;

fn i64_at(data: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    for (i, x) in b.iter_mut().enumerate() {
        *x = data.get(at + i).copied().unwrap_or(0);
    }
    i64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    let now = i64_at(data, 0);
    let tolerance = i64_at(data, 8);
    let rest = data.get(16..).unwrap_or_default();
    let (header, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let header = String::from_utf8_lossy(header);
    let secrets = ["whsec_fuzz_a", "whsec_fuzz_b"];
    // An arbitrary header (made with no key of ours) verifies nothing.
    assert!(
        !verify_embedcare_signature(body, &header, &secrets, tolerance, now),
        "a forged signature verified"
    );
    // A header written for this body, at `now`.
    let written = webhook_signature(&secrets, now, body);
    for secret in secrets {
        assert!(verify_embedcare_signature(
            body,
            &written,
            &[secret],
            0,
            now
        ));
        assert!(verify_embedcare_signature(
            body,
            &written,
            &[secret],
            300,
            now.saturating_add(300)
        ));
        if let Some(late) = now.checked_add(301) {
            assert!(!verify_embedcare_signature(
                body,
                &written,
                &[secret],
                300,
                late
            ));
        }
    }
    assert!(!verify_embedcare_signature(
        body,
        &written,
        &["whsec_other"],
        300,
        now
    ));
    let mut other = body.to_vec();
    other.push(b'x');
    assert!(!verify_embedcare_signature(
        &other, &written, &secrets, 300, now
    ));
    // The verifier reads any header the arbitrary way round too.
    let _ = verify_embedcare_signature(body, &format!("{header},{written}"), &secrets, 300, now);
});
