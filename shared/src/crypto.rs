//! Secrets: random tokens, their hashes, constant-time comparison, and the
//! API key format `ek_<keyId>_<secret>`.
//!
//! Launch tokens, session tokens and API key secrets are 256 random bits, so
//! a single SHA-256 is the right hash: a slow password hash protects
//! low-entropy secrets and would only add latency here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// 32 random bytes from the operating system, base64url without padding
/// (43 characters).
pub fn random_token() -> Result<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Lower-case hex of random bytes (used for public ids such as key ids).
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(hex(&buf))
}

/// SHA-256 of the input as lower-case hex: what we store instead of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// SHA-256, base64url: a compact, key-safe digest (e.g. of a patient key).
pub fn digest_b64(input: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes()))
}

/// Constant-time equality of two strings (of hashes).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// An API key as presented: the public key id and the secret.
#[derive(Clone)]
pub struct PresentedKey {
    pub key_id: String,
    pub secret: String,
}

impl std::fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Length of a key id in hex characters (64 bits).
pub const KEY_ID_LEN: usize = 16;

impl PresentedKey {
    /// Parses `ek_<keyId>_<secret>`. The secret is base64url and may itself
    /// contain `_`, so only the first two separators count.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.trim().strip_prefix("ek_")?;
        let (key_id, secret) = rest.split_once('_')?;
        let id_ok = key_id.len() == KEY_ID_LEN
            && key_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let secret_ok = (20..=128).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (id_ok && secret_ok).then(|| Self {
            key_id: key_id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// A new key: a random id and a random secret.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            key_id: random_hex(KEY_ID_LEN / 2)?,
            secret: random_token()?,
        })
    }

    /// The full key as the vendor sends it. Shown once, never stored.
    pub fn expose(&self) -> String {
        format!("ek_{}_{}", self.key_id, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back() {
        for _ in 0..50 {
            let k = PresentedKey::generate().unwrap();
            let p = PresentedKey::parse(&k.expose()).unwrap();
            assert_eq!(p.key_id, k.key_id);
            assert_eq!(p.secret, k.secret);
        }
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for raw in [
            "",
            "ek_",
            "ek_0123456789abcdef",
            "xk_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaa",
            "ek_0123456789ABCDEF_aaaaaaaaaaaaaaaaaaaaaaaa",
            "ek_0123_aaaaaaaaaaaaaaaaaaaaaaaa",
            "ek_0123456789abcdef_short",
            "ek_0123456789abcdef_aaaaaaaaaaaaaaaaaaaa aaaa",
        ] {
            assert!(PresentedKey::parse(raw).is_none(), "{raw:?} parsed");
        }
    }

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn ct_eq_compares_content() {
        assert!(ct_eq(&hash_secret("x"), &hash_secret("x")));
        assert!(!ct_eq(&hash_secret("x"), &hash_secret("y")));
        assert!(!ct_eq("ab", "abc"));
    }
}
