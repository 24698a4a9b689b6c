//! Secrets: random tokens, their hashes, constant-time comparison, the API
//! key format `ek_<keyId>_<secret>`, the deployment secret with the keyed
//! tags (HMAC-SHA256) and the sealing keys (AES-256-GCM) derived from it,
//! and the webhook secrets and signatures.
//!
//! Launch tokens, session tokens and API key secrets are 256 random bits, so
//! a single SHA-256 is the right hash: a slow password hash protects
//! low-entropy secrets and would only add latency here.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::KeyId;
use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(buf)
}

/// 32 random bytes from the operating system, base64url without padding
/// (43 characters).
pub fn random_token() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes(32)?))
}

/// Lower-case hex of random bytes (used for public ids such as key ids).
pub fn random_hex(bytes: usize) -> Result<String> {
    Ok(hex(&random_bytes(bytes)?))
}

/// SHA-256 of the input as lower-case hex: what we store instead of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// SHA-256, base64url: a compact, key-safe digest. Patient key values were
/// hashed so before they were keyed (`KeyedDigest`); only the migration
/// that re-keys them still computes it.
pub fn digest_b64(input: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes()))
}

/// The purpose of the key that hashes patient key values into store keys.
pub const PATIENT_KEY_PURPOSE: &str = "embedcare/patient-key/v1";

/// The keyed hash of patient key values in store keys: HMAC-SHA256 under a
/// key derived from the deployment secret, base64url. A health-insurance
/// number has few enough possible values that a bare SHA-256 of it, seen
/// in a table export, is reversed by trying them all; without the secret,
/// this one is not.
#[derive(Clone, Debug)]
pub struct KeyedDigest(TagKey);

impl KeyedDigest {
    pub fn new(secret: &Secret) -> Self {
        Self(secret.derive(PATIENT_KEY_PURPOSE))
    }

    pub fn digest(&self, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.0.tag(&[value.as_bytes()]))
    }
}

/// Constant-time equality of two strings (of hashes).
pub fn ct_eq(a: &str, b: &str) -> bool {
    ct_eq_bytes(a.as_bytes(), b.as_bytes())
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// The deployment secret: at least 32 bytes, never logged, never used
/// directly. Each use derives its own key from it with [`Secret::derive`]
/// (`embedcare/cursor/v1` for list cursors), so a later one (a keyed hash,
/// webhook secrets) cannot weaken another.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// A secret of these bytes, if there are enough of them.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Option<Self> {
        let bytes = bytes.into();
        (bytes.len() >= Self::MIN_LEN).then_some(Self(bytes))
    }

    /// A new random secret, as text (43 base64url characters), the form in
    /// which it is kept in a file or an environment variable.
    pub fn generate_text() -> Result<String> {
        random_token()
    }

    /// A random secret for a process that keeps it nowhere (tests): two
    /// UUID v4s, drawn from the operating system like every id we make.
    pub fn ephemeral() -> Self {
        let mut bytes = uuid::Uuid::new_v4().as_bytes().to_vec();
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self(bytes)
    }

    /// The key of one purpose: HMAC-SHA256(secret, purpose).
    pub fn derive(&self, purpose: &str) -> TagKey {
        TagKey(tag_with(&self.0, &[purpose.as_bytes()]))
    }

    /// The sealing key of one purpose (AES-256-GCM, keyed with
    /// HMAC-SHA256(secret, purpose)): for what we must read back, such as
    /// webhook signing secrets.
    pub fn sealing_key(&self, purpose: &str) -> SealKey {
        let key = tag_with(&self.0, &[purpose.as_bytes()]);
        SealKey(Aes256Gcm::new(&key.into()))
    }
}

/// Encrypts and decrypts small secrets, each bound to what it belongs to
/// (`aad`, e.g. the tenant and the endpoint: a sealed value copied to
/// another item does not open).
#[derive(Clone)]
pub struct SealKey(Aes256Gcm);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

const NONCE_LEN: usize = 12;

impl SealKey {
    /// base64url of a random 96-bit nonce followed by the ciphertext and
    /// its tag.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String> {
        let nonce = random_bytes(NONCE_LEN)?;
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| Error::internal("sealing failed"))?;
        let mut out = nonce;
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The plaintext of `sealed`, if it was sealed with this key and `aad`.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(NONCE_LEN);
        self.0
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
    }
}

/// A new webhook signing secret: `whsec_` and 32 random bytes (base64url).
/// Shown once; stored sealed.
pub fn webhook_secret() -> Result<String> {
    Ok(format!("whsec_{}", random_token()?))
}

/// The `Embedcare-Signature` header of a delivery sent at `t` (Unix
/// seconds): `t={t},v1={hex}[,v1={hex}…]`, each `v1` the hex HMAC-SHA256,
/// keyed with one of `secrets` (the whole `whsec_…` text), of `{t}.{body}`.
pub fn webhook_signature(secrets: &[&str], t: i64, body: &[u8]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        // HMAC takes a key of any length: `new_from_slice` cannot fail.
        let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()) else {
            continue;
        };
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        header.push_str(",v1=");
        header.push_str(&hex(&mac.finalize().into_bytes()));
    }
    header
}

/// A key derived for one purpose; it only makes and checks tags.
#[derive(Clone)]
pub struct TagKey([u8; 32]);

impl std::fmt::Debug for TagKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TagKey(..)")
    }
}

impl TagKey {
    /// HMAC-SHA256 of `parts`, each prefixed with its length so that no two
    /// different lists of parts have the same input.
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        tag_with(&self.0, parts)
    }

    /// The tag of `parts` as a token: base64url without padding (43
    /// characters, the shape of [`random_token`]'s).
    pub fn token(&self, parts: &[&[u8]]) -> String {
        URL_SAFE_NO_PAD.encode(self.tag(parts))
    }

    /// Whether `tag` is the tag of `parts` (in constant time).
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        ct_eq_bytes(&self.tag(parts), tag)
    }
}

fn tag_with(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn ct_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// An API key as presented: the public key id and the secret.
#[derive(Clone)]
pub struct PresentedKey {
    pub key_id: KeyId,
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
        if !(id_ok && secret_ok) {
            return None;
        }
        Some(Self {
            key_id: KeyId::parse(key_id)?,
            secret: secret.to_owned(),
        })
    }

    /// A new key: a random id and a random secret.
    pub fn generate() -> Result<Self> {
        let key_id = KeyId::parse(&random_hex(KEY_ID_LEN / 2)?)
            .ok_or_else(|| Error::internal("a generated key id is not an id"))?;
        Ok(Self {
            key_id,
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
    fn tags_depend_on_the_key_the_purpose_and_every_part() {
        let secret = Secret::new(vec![7u8; 32]).unwrap();
        let k = secret.derive("a");
        let t = k.tag(&[b"x", b"y"]);
        assert!(k.verify(&[b"x", b"y"], &t));
        assert!(!k.verify(&[b"xy"], &t), "parts are delimited");
        assert!(!k.verify(&[b"x", b"z"], &t));
        assert!(!secret.derive("b").verify(&[b"x", b"y"], &t));
        assert!(!Secret::ephemeral().derive("a").verify(&[b"x", b"y"], &t));
        assert!(!k.verify(&[b"x", b"y"], &t[..31]));
        assert!(Secret::new(vec![0u8; 31]).is_none());
        assert_eq!(format!("{secret:?}"), "Secret(..)");
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let secret = Secret::ephemeral();
        let k = secret.sealing_key("embedcare/test/v1");
        let sealed = k.seal(b"whsec_abc", b"demo/e1").unwrap();
        assert_eq!(
            k.open(&sealed, b"demo/e1").as_deref(),
            Some(&b"whsec_abc"[..])
        );
        assert_eq!(k.open(&sealed, b"demo/e2"), None, "bound to its context");
        assert_eq!(secret.sealing_key("other").open(&sealed, b"demo/e1"), None);
        assert_eq!(
            Secret::ephemeral()
                .sealing_key("embedcare/test/v1")
                .open(&sealed, b"demo/e1"),
            None
        );
        assert_ne!(
            k.seal(b"whsec_abc", b"demo/e1").unwrap(),
            sealed,
            "a fresh nonce each time"
        );
        assert_eq!(k.open("AAAA", b""), None);
        assert!(!sealed.contains("abc"));
    }

    #[test]
    fn webhook_signatures_are_stripe_style() {
        let s = webhook_secret().unwrap();
        assert!(s.starts_with("whsec_") && s.len() == 49);
        // HMAC-SHA256("whsec_test", "1700000000.{}"), computed with Python's hmac.
        assert_eq!(
            webhook_signature(&["whsec_test"], 1_700_000_000, b"{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        let two = webhook_signature(&["whsec_a", "whsec_b"], 5, b"x");
        assert_eq!(two.matches(",v1=").count(), 2);
    }

    #[test]
    fn ct_eq_compares_content() {
        assert!(ct_eq(&hash_secret("x"), &hash_secret("x")));
        assert!(!ct_eq(&hash_secret("x"), &hash_secret("y")));
        assert!(!ct_eq("ab", "abc"));
    }
}
