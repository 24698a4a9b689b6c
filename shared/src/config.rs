//! The settings of a process, read from the environment the same way by
//! every Lambda function and by the local binary (the README lists every
//! variable), and the deployment secret.

use std::path::Path;

use crate::crypto::Secret;

/// The variable that holds the deployment secret (at least 32 characters).
pub const SECRET_VAR: &str = "EMBEDCARE_SECRET";
/// The variable of local mode's loopback exception for webhooks.
pub const LOOPBACK_VAR: &str = "EMBEDCARE_WEBHOOK_ALLOW_LOOPBACK";

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the embedded pages are served, e.g. `https://app.example.com`
    /// (no trailing slash). `EMBEDCARE_APP_BASE_URL`.
    pub app_base_url: String,
    /// Life of a launch URL. `EMBEDCARE_LAUNCH_TTL_SECONDS`, default 300.
    pub launch_ttl_s: i64,
    /// Life of a browser session. `EMBEDCARE_SESSION_TTL_SECONDS`, default 7200.
    pub session_ttl_s: i64,
    /// Life of a patient's answer link sent by e-mail (still single-use).
    /// `EMBEDCARE_ANSWER_LINK_TTL_SECONDS`, default 604800 (7 days).
    pub answer_link_ttl_s: i64,
    /// Staleness bound of the key and franchise caches.
    /// `EMBEDCARE_CACHE_TTL_SECONDS`, default 30, at most 60.
    pub cache_ttl_s: i64,
    /// Requests a second each API key may make (per instance).
    /// `EMBEDCARE_RATE_LIMIT_PER_SECOND`, default 50; 0: no limit.
    pub rate_limit_per_s: u32,
    /// The burst above that rate a key's bucket absorbs.
    /// `EMBEDCARE_RATE_LIMIT_BURST`, default 100.
    pub rate_limit_burst: u32,
    /// The deployment secret (`EMBEDCARE_SECRET`); the same in every
    /// function of a deployment, so that what one seals another opens.
    pub secret: Secret,
    /// Local mode's exception to the webhook rules: `http` to 127.0.0.1,
    /// localhost or [::1] (`EMBEDCARE_WEBHOOK_ALLOW_LOOPBACK=1`; the local
    /// binary sets it, no template does). Off, a webhook goes to public
    /// `https` addresses only.
    pub webhook_allow_loopback: bool,
    /// The room pages' ICE (STUN/TURN) servers, a JSON list of
    /// RTCIceServer. `EMBEDCARE_ICE_SERVERS`, default `[]` (one machine
    /// needs none).
    pub ice_servers: serde_json::Value,
    /// The visits' live socket as the browser reaches it, when it is not
    /// this origin's `/v2/visits/{visitId}/live` (in AWS: the visit-live
    /// WebSocket API's `wss://{api}.execute-api.{region}.amazonaws.com/{stage}`,
    /// asked with `?visitId=`). `EMBEDCARE_VISIT_LIVE_URL`.
    pub visit_live_url: Option<String>,
}

impl Config {
    /// Defaults, with a random secret of this process only (tests).
    pub fn new(app_base_url: impl Into<String>) -> Self {
        Self {
            app_base_url: app_base_url.into().trim_end_matches('/').to_owned(),
            launch_ttl_s: 300,
            session_ttl_s: 7200,
            answer_link_ttl_s: 7 * 24 * 3600,
            cache_ttl_s: 30,
            rate_limit_per_s: 50,
            rate_limit_burst: 100,
            secret: Secret::ephemeral(),
            webhook_allow_loopback: false,
            ice_servers: serde_json::json!([]),
            visit_live_url: None,
        }
    }

    /// Reads the variables; `default_base_url` applies when
    /// `EMBEDCARE_APP_BASE_URL` is unset. Invalid numbers are errors, and
    /// so is a missing secret: a Lambda function must be given one.
    pub fn from_env(default_base_url: &str) -> Result<Self, String> {
        let secret = secret_from_env()?.ok_or_else(|| format!("{SECRET_VAR} must be set"))?;
        Self::with_secret(default_base_url, secret)
    }

    /// As [`Config::from_env`], but without `EMBEDCARE_SECRET` the secret
    /// is the one kept in `{data_dir}/secret`, made on first use (the local
    /// binary: one machine, one secret that survives restarts).
    pub fn from_env_or_data_dir(default_base_url: &str, data_dir: &Path) -> Result<Self, String> {
        let secret = match secret_from_env()? {
            Some(s) => s,
            None => secret_file(&data_dir.join("secret"))?,
        };
        Self::with_secret(default_base_url, secret)
    }

    fn with_secret(default_base_url: &str, secret: Secret) -> Result<Self, String> {
        let base =
            std::env::var("EMBEDCARE_APP_BASE_URL").unwrap_or_else(|_| default_base_url.to_owned());
        let mut c = Config::new(base);
        c.secret = secret;
        c.launch_ttl_s = env_num("EMBEDCARE_LAUNCH_TTL_SECONDS", c.launch_ttl_s, 10, 86_400)?;
        c.session_ttl_s = env_num("EMBEDCARE_SESSION_TTL_SECONDS", c.session_ttl_s, 60, 86_400)?;
        c.cache_ttl_s = env_num("EMBEDCARE_CACHE_TTL_SECONDS", c.cache_ttl_s, 0, 60)?;
        c.webhook_allow_loopback = env_num(LOOPBACK_VAR, 0, 0, 1)? == 1;
        if let Ok(text) = std::env::var("EMBEDCARE_ICE_SERVERS")
            && !text.trim().is_empty()
        {
            c.ice_servers = crate::video::webrtc::parse_ice_servers(&text)?;
        }
        c.visit_live_url = live_url(std::env::var("EMBEDCARE_VISIT_LIVE_URL").ok())?;
        c.rate_limit_per_s = env_num(
            "EMBEDCARE_RATE_LIMIT_PER_SECOND",
            c.rate_limit_per_s.into(),
            0,
            100_000,
        )? as u32;
        c.rate_limit_burst = env_num(
            "EMBEDCARE_RATE_LIMIT_BURST",
            c.rate_limit_burst.into(),
            1,
            100_000,
        )? as u32;
        c.answer_link_ttl_s = env_num(
            "EMBEDCARE_ANSWER_LINK_TTL_SECONDS",
            c.answer_link_ttl_s,
            300,
            30 * 24 * 3600,
        )?;
        Ok(c)
    }
}

/// `EMBEDCARE_VISIT_LIVE_URL`: a `wss://` (or, on a laptop, `ws://`) URL
/// without a query.
fn live_url(raw: Option<String>) -> Result<Option<String>, String> {
    let Some(raw) = raw.map(|s| s.trim().trim_end_matches('/').to_owned()) else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Ok(None);
    }
    match url::Url::parse(&raw) {
        Ok(u)
            if matches!(u.scheme(), "wss" | "ws") && u.query().is_none() && u.host().is_some() =>
        {
            Ok(Some(raw))
        }
        _ => Err(format!(
            "EMBEDCARE_VISIT_LIVE_URL must be a wss:// URL without a query, not {raw:?}"
        )),
    }
}

/// A whole-number variable within bounds, or its default when unset.
pub(crate) fn env_num(name: &str, default: i64, min: i64, max: i64) -> Result<i64, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(s) => match s.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{name} must be a whole number from {min} to {max}, not {s:?}"
            )),
        },
    }
}

/// `EMBEDCARE_SECRET`, if set; too short is an error (never quoted).
fn secret_from_env() -> Result<Option<Secret>, String> {
    match std::env::var(SECRET_VAR) {
        Err(_) => Ok(None),
        Ok(text) => Secret::new(text.into_bytes()).map(Some).ok_or_else(|| {
            format!(
                "{SECRET_VAR} must be at least {} characters",
                Secret::MIN_LEN
            )
        }),
    }
}

/// The secret kept in `path`, or a new one written there (32 random bytes,
/// base64url, readable by its owner only).
fn secret_file(path: &Path) -> Result<Secret, String> {
    let shown = path.display();
    if !path.exists() {
        let text = Secret::generate_text().map_err(|e| e.to_string())?;
        write_private(path, &text).map_err(|e| format!("{shown}: {e}"))?;
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    Secret::new(text.trim().as_bytes().to_vec())
        .ok_or_else(|| format!("{shown} must hold at least {} characters", Secret::MIN_LEN))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_secret_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let a = secret_file(&path).unwrap();
        let b = secret_file(&path).unwrap();
        let tag = |s: &Secret| s.derive("t").tag(&[b"x"]);
        assert_eq!(tag(&a), tag(&b), "the same secret after a restart");
        assert_eq!(std::fs::read_to_string(&path).unwrap().len(), 43);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(
            live_url(Some("wss://a.example.org/live".into()))
                .unwrap()
                .is_some()
        );
        assert!(live_url(Some("https://a.example.org".into())).is_err());
        assert!(live_url(Some("wss://a.example.org/?visitId=x".into())).is_err());
        assert!(secret_file(&path).is_err());
    }
}
