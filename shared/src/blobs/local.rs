//! Blobs as files under the data directory (the local server, the tests on
//! the embedded store): each blob a file at its key's path, its content
//! type in a side file beside it (`{file}.type`, a name no key can reach).
//! Written to a temporary file and renamed, so a reader never sees half a
//! blob.
//!
//! Its URL is the local server's `GET /blobs/{key}?expires={ms}&signature=…`,
//! the signature an HMAC-SHA256 over the key and the expiry under a key
//! derived from the deployment secret (`embedcare/blob-url/v1`), checked
//! in constant time: a forged or altered URL is refused (`403`), so is an
//! expired one, and a key that is not a path of ids never reaches the
//! file system (`404`).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Blobs, Presigned, is_key};
use crate::crypto::{Secret, TagKey};
use crate::error::{Error, Result};

/// The purpose the URLs' signing key is derived for.
const URL_KEY: &str = "embedcare/blob-url/v1";

/// The local server's route of the blobs (`{*key}`: the rest of the path).
pub const LOCAL_BLOBS_ROUTE: &str = "/blobs/{*key}";

pub struct LocalBlobs {
    dir: PathBuf,
    base_url: String,
    key: TagKey,
}

/// Why a local URL does not serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not signed by us, altered, or expired.
    Forbidden,
    /// No such blob (or no such key).
    NotFound,
}

/// What a local URL serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

impl LocalBlobs {
    /// Blobs under `dir`, their URLs under `base_url` (the local server's).
    pub fn new(dir: impl Into<PathBuf>, base_url: &str, secret: &Secret) -> Self {
        Self {
            dir: dir.into(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: secret.derive(URL_KEY),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        if !is_key(key) {
            return Err(Error::internal("a blob key that is not a path of ids"));
        }
        Ok(self.dir.join(key))
    }

    fn signature(&self, key: &str, expires: i64) -> String {
        self.key
            .token(&[b"GET", key.as_bytes(), expires.to_string().as_bytes()])
    }

    /// The blob a URL's parts name, if its signature holds and it has not
    /// expired at `now_ms`.
    pub async fn open(
        &self,
        key: &str,
        expires: Option<&str>,
        signature: Option<&str>,
        now_ms: i64,
    ) -> Result<Served, Refused> {
        if !is_key(key) {
            return Err(Refused::NotFound);
        }
        let (Some(expires), Some(signature)) = (expires, signature) else {
            return Err(Refused::Forbidden);
        };
        let at: i64 = expires.parse().map_err(|_| Refused::Forbidden)?;
        let tag = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Refused::Forbidden)?;
        // The canonical text of the expiry is what was signed.
        let canonical = at.to_string();
        let parts: [&[u8]; 3] = [b"GET", key.as_bytes(), canonical.as_bytes()];
        if canonical != expires || !self.key.verify(&parts, &tag) {
            return Err(Refused::Forbidden);
        }
        if now_ms >= at {
            return Err(Refused::Forbidden);
        }
        let path = self.dir.join(key);
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|_| Refused::NotFound)?;
        let content_type = tokio::fs::read_to_string(type_file(&path))
            .await
            .map_err(|_| Refused::NotFound)?;
        Ok(Served {
            bytes,
            content_type,
        })
    }
}

fn type_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".type");
    PathBuf::from(name)
}

fn io(e: std::io::Error) -> Error {
    Error::Unavailable(format!("the blob directory: {}", e.kind()))
}

/// Writes `bytes` to `path` through a temporary file beside it.
async fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let tmp = PathBuf::from(tmp);
    tokio::fs::write(&tmp, bytes).await.map_err(io)?;
    if let Err(e) = tokio::fs::rename(&tmp, path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io(e));
    }
    Ok(())
}

#[async_trait]
impl Blobs for LocalBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        // The type first: a blob file is only ever beside its type.
        write_whole(&type_file(&path), content_type.as_bytes()).await?;
        write_whole(&path, &bytes).await
    }

    async fn presign_get(&self, key: &str, now_ms: i64, ttl_ms: i64) -> Result<Presigned> {
        self.path(key)?;
        let expires_at = now_ms + ttl_ms;
        let signature = self.signature(key, expires_at);
        Ok(Presigned {
            url: format!(
                "{}/blobs/{key}?expires={expires_at}&signature={signature}",
                self.base_url
            ),
            expires_at,
        })
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        for p in [path.clone(), type_file(&path)] {
            match tokio::fs::remove_file(&p).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }

    fn local(&self) -> Option<&LocalBlobs> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str) -> (String, String, String) {
        let (path, q) = url.split_once('?').unwrap();
        let key = path.split_once("/blobs/").unwrap().1.to_owned();
        let mut e = String::new();
        let mut s = String::new();
        for pair in q.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            match k {
                "expires" => e = v.to_owned(),
                "signature" => s = v.to_owned(),
                _ => panic!("{k}"),
            }
        }
        (key, e, s)
    }

    #[tokio::test]
    async fn a_signed_url_serves_until_it_expires_and_only_as_signed() {
        let dir = tempfile::tempdir().unwrap();
        let secret = Secret::ephemeral();
        let blobs = LocalBlobs::new(dir.path().join("blobs"), "http://127.0.0.1:3000/", &secret);
        let key = "t/demo/visits/v1/s1";
        blobs
            .put(key, b"\x89PNG...".to_vec(), "image/png")
            .await
            .unwrap();
        let p = blobs.presign_get(key, 1_000, 300_000).await.unwrap();
        assert_eq!(p.expires_at, 301_000);
        assert!(
            p.url
                .starts_with("http://127.0.0.1:3000/blobs/t/demo/visits/v1/s1?")
        );
        let (k, e, s) = query(&p.url);
        let served = blobs.open(&k, Some(&e), Some(&s), 300_999).await.unwrap();
        assert_eq!(served.bytes, b"\x89PNG...");
        assert_eq!(served.content_type, "image/png");
        let refused = |r: Result<Served, Refused>| r.unwrap_err();
        assert_eq!(
            refused(blobs.open(&k, Some(&e), Some(&s), 301_000).await),
            Refused::Forbidden
        );
        let later = (e.parse::<i64>().unwrap() + 60_000).to_string();
        assert_eq!(
            refused(blobs.open(&k, Some(&later), Some(&s), 2_000).await),
            Refused::Forbidden
        );
        assert_eq!(
            refused(
                blobs
                    .open(&k, Some(&format!("0{e}")), Some(&s), 2_000)
                    .await
            ),
            Refused::Forbidden
        );
        assert_eq!(
            refused(
                blobs
                    .open("t/demo/visits/v1/s2", Some(&e), Some(&s), 2_000)
                    .await
            ),
            Refused::Forbidden
        );
        let mut forged = s.clone().into_bytes();
        forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            refused(blobs.open(&k, Some(&e), Some(&forged), 2_000).await),
            Refused::Forbidden
        );
        assert_eq!(
            refused(blobs.open(&k, Some(&e), None, 2_000).await),
            Refused::Forbidden
        );
        assert_eq!(
            refused(blobs.open("t/../secret", Some(&e), Some(&s), 2_000).await),
            Refused::NotFound
        );
        let other = LocalBlobs::new(dir.path().join("blobs"), "http://x", &Secret::ephemeral());
        assert_eq!(
            refused(other.open(&k, Some(&e), Some(&s), 2_000).await),
            Refused::Forbidden,
            "another secret"
        );
        blobs.delete(key).await.unwrap();
        blobs.delete(key).await.unwrap();
        assert_eq!(
            refused(blobs.open(&k, Some(&e), Some(&s), 2_000).await),
            Refused::NotFound
        );
        assert!(blobs.put("../x", vec![], "image/png").await.is_err());
    }
}
