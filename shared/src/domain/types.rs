//! Value types that can only be built by parsing, so that invalid data
//! cannot exist past the edge (zero-to-production's `SubscriberEmail`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A person's preferred language, as the seeds spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "FR")]
    Fr,
    #[serde(rename = "EN")]
    En,
}

impl Language {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "FR" | "fr" => Some(Language::Fr),
            "EN" | "en" => Some(Language::En),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Fr => "FR",
            Language::En => "EN",
        }
    }
}

/// The language of a page, as it appears in URLs (`en`, `fr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    En,
    Fr,
}

impl Locale {
    /// Accepts exactly `en` or `fr` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "en" => Some(Locale::En),
            "fr" => Some(Locale::Fr),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }
}

impl From<Language> for Locale {
    fn from(l: Language) -> Self {
        match l {
            Language::Fr => Locale::Fr,
            Language::En => Locale::En,
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A franchise's public key: lower-case letters, digits and `-`, 1 to 63
/// characters, starting with a letter or digit. It appears in URLs and in
/// every store key of tenant data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantKey(String);

impl TenantKey {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=63).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        TenantKey::parse(&s).ok_or_else(|| format!("invalid tenant key {s:?}"))
    }
}

impl From<TenantKey> for String {
    fn from(t: TenantKey) -> String {
        t.0
    }
}

impl fmt::Display for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A vendor's identifier for one of its users: 1 to 128 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub fn parse(s: &str) -> Option<Self> {
        let ok =
            !s.trim().is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control);
        ok.then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        UserId::parse(&s).ok_or_else(|| "invalid user id".to_owned())
    }
}

impl From<UserId> for String {
    fn from(u: UserId) -> String {
        u.0
    }
}

/// An e-mail address that passed a deliberately simple check: one `@`, a
/// non-empty local part of at most 64 characters, a dotted domain, no spaces,
/// at most 254 characters in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = s.split_once('@')?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        ok.then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Email::parse(&s).ok_or_else(|| "invalid e-mail".to_owned())
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

/// An origin allowed to frame our pages: `http(s)://host[:port]`, nothing
/// more (it is written into a CSP header and used as a postMessage target).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(String);

impl Origin {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().trim_end_matches('/');
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
        (host_ok && port_ok).then(|| Self(s.to_ascii_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Origin {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Origin::parse(&s).ok_or_else(|| format!("invalid origin {s:?}"))
    }
}

impl From<Origin> for String {
    fn from(o: Origin) -> String {
        o.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "alice.johnson@clinic.com",
            " x+y@sub.example.org ",
        ] {
            assert!(Email::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@b..co", "a@-b.co",
        ] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn tenant_keys() {
        assert!(TenantKey::parse("demo-2").is_some());
        for bad in ["", "-x", "Demo", "a/b", "a#b", &"a".repeat(64)] {
            assert!(TenantKey::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn origins() {
        assert_eq!(
            Origin::parse("https://Vendor.example.com/")
                .unwrap()
                .as_str(),
            "https://vendor.example.com"
        );
        assert!(Origin::parse("http://localhost:3000").is_some());
        for bad in [
            "*",
            "vendor.com",
            "https://a.com/path",
            "https://a.com; script-src *",
            "ftp://a.com",
            "https://a.com:0",
        ] {
            assert!(Origin::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn languages_and_locales() {
        assert_eq!(Language::parse("FR"), Some(Language::Fr));
        assert_eq!(Language::parse("DE"), None);
        assert_eq!(Locale::parse("EN"), Some(Locale::En));
        assert_eq!(Locale::parse("es"), None);
    }
}
