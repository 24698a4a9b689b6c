// Verifies an `Embedcare-Signature` header (Cargo: hmac = "0.12", sha2 = "0.10").
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `header` signs `raw_body` (the request's exact bytes) with one of
/// `secrets` (during a rotation, the old and the new one), and its `t` is
/// within `tolerance_s` seconds of `now` (Unix seconds; 300 is right).
pub fn verify_embedcare_signature(
    raw_body: &[u8],
    header: &str,
    secrets: &[&str],
    tolerance_s: i64,
    now: i64,
) -> bool {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("t=") {
            t = v.parse::<i64>().ok();
        } else if let Some(v) = part.strip_prefix("v1=") {
            signatures.extend(decode_hex(v));
        }
    }
    let Some(t) = t else { return false };
    // `abs_diff`: no overflow, whatever `t` the header holds.
    let fresh = u64::try_from(tolerance_s).is_ok_and(|tol| now.abs_diff(t) <= tol);
    if !fresh {
        return false;
    }
    secrets.iter().any(|secret| {
        signatures.iter().any(|signature| {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
                return false;
            };
            mac.update(format!("{t}.").as_bytes());
            mac.update(raw_body);
            mac.verify_slice(signature).is_ok() // a constant-time comparison
        })
    })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
