//! Value types that can only be built by parsing, so that invalid data
//! cannot exist past the edge.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

/// A person's preferred language, as the vendor API spells it (`FR`, `EN`).
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

string_value!(
    /// A franchise's public key: lower-case letters, digits and `-`, 1 to 63
    /// characters, starting with a letter or digit. It appears in URLs and in
    /// every store key of tenant data.
    TenantKey,
    "tenant key"
);

impl TenantKey {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=63).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned()))
    }
}

string_value!(
    /// A vendor's identifier for one of its users: 1 to 128 printable
    /// characters, not blank.
    UserId,
    "user id"
);

impl UserId {
    pub fn parse(s: &str) -> Option<Self> {
        let ok =
            !s.trim().is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control);
        ok.then(|| Self(s.to_owned()))
    }
}

string_value!(
    /// An e-mail address a mail server takes (schema `EmailAddress` of
    /// openapi/openapi.json, whose pattern is this rule): an ASCII dot-atom
    /// local part (letters, digits and ``!#$%&'*+/=?^_`{|}~-``, single dots
    /// between, at most 64 of them), `@`, a domain of two or more labels of
    /// letters, digits and `-` (neither first nor last, 1 to 63 long), the
    /// last starting with a letter (an internationalized domain in its
    /// `xn--` form); at most 254 characters in all.
    Email,
    "e-mail"
);

impl Email {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() > 254 {
            return None;
        }
        let (local, domain) = s.split_once('@')?;
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        let local_ok = local
            .split('.')
            .all(|w| !w.is_empty() && w.chars().all(atext))
            && local.chars().filter(|c| *c != '.').count() <= 64;
        let label = |l: &str| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| label(l))
            && labels
                .last()
                .is_some_and(|t| t.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()));
        (local_ok && domain_ok).then(|| Self(s.to_owned()))
    }
}

string_value!(
    /// An origin allowed to frame our pages: `http(s)://host[:port]`, nothing
    /// more (it is written into a CSP header and used as a postMessage target).
    Origin,
    "origin"
);

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

    /// Whether a franchise may be given this origin: `https://`, or
    /// `http://` on this machine only (`localhost`, `127.0.0.1`): a page of
    /// health data is never framed over plain HTTP across a network. Checked
    /// when an origin is added, not when a stored one is read.
    pub fn is_secure(&self) -> bool {
        match self.0.strip_prefix("http://") {
            None => true,
            Some(rest) => {
                let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
                host == "localhost" || host == "127.0.0.1" || host.ends_with(".localhost")
            }
        }
    }
}

string_value!(
    /// A telephone number: 7 to 15 digits, with spaces, dashes, dots,
    /// brackets and a leading `+` allowed.
    Phone,
    "phone number"
);

impl Phone {
    /// What a phone number must be, for error messages.
    pub const RULE: &str =
        "must hold 7 to 15 digits (spaces, dashes, dots, brackets and a leading + allowed)";

    pub fn parse(s: &str) -> Option<Self> {
        let body = s.strip_prefix('+').unwrap_or(s);
        let digits = body.bytes().filter(u8::is_ascii_digit).count();
        let ok = (7..=15).contains(&digits)
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.' | b'(' | b')'));
        ok.then(|| Self(s.to_owned()))
    }
}

/// Text as it is kept and compared: Unicode NFC, so that one name or key
/// typed on two systems (a precomposed `é`, or `e` and a combining accent)
/// is one value.
pub fn nfc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect()
}

/// An invisible character that changes what text means without showing:
/// the bidirectional controls (which reorder what a name displays) and the
/// zero-width characters (which make two keys that look the same differ).
/// Refused in names and keys.
pub fn is_hidden_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// A calendar date written `YYYY-MM-DD`, the only way dates are written.
pub fn parse_date(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).ok()
}

/// A date of birth: a date from 1900 on, and not after today. Serialized
/// `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BirthDate(Date);

impl BirthDate {
    /// What a date of birth must be, for error messages.
    pub const RULE: &str = "must be a past date written YYYY-MM-DD";

    /// `s` as a date of birth, given today's date.
    pub fn parse(s: &str, today: Date) -> Option<Self> {
        Self::parse_any(s).filter(|d| d.0 <= today)
    }

    /// A stored date of birth: checked when it was given, not again.
    fn parse_any(s: &str) -> Option<Self> {
        parse_date(s).filter(|d| d.year() >= 1900).map(Self)
    }
}

impl TryFrom<String> for BirthDate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        BirthDate::parse_any(&s).ok_or_else(|| "invalid date of birth".to_owned())
    }
}

impl From<BirthDate> for String {
    fn from(d: BirthDate) -> String {
        d.to_string()
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
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
            "o'neil@xn--caf-dma.ca",
            &format!("{}@b.co", "a.".repeat(63) + "a"),
        ] {
            assert!(Email::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.co",
            "a@@b.co",
            "a b@c.co",
            "a@b..co",
            "a@-b.co",
            "a@b-.co",
            ".a@b.co",
            "a.@b.co",
            "a..b@c.co",
            "é@b.co",
            "a@é.co",
            "a@b.0c",
            "\u{1c}a@b.co",
            &format!("{}@b.co", "a".repeat(65)),
            &format!("a@{}.co", "b".repeat(64)),
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
        for (o, secure) in [
            ("https://vendor.example.com", true),
            ("http://localhost:3000", true),
            ("http://127.0.0.1:8080", true),
            ("http://app.localhost", true),
            ("http://vendor.example.com", false),
            ("http://127.0.0.1.example.com", false),
            ("http://localhost.example.com:3000", false),
        ] {
            assert_eq!(Origin::parse(o).unwrap().is_secure(), secure, "{o}");
        }
    }

    #[test]
    fn phones_and_birth_dates() {
        assert!(Phone::parse("514-555-0100").is_some());
        assert!(Phone::parse("+1 (514) 555.0100").is_some());
        for bad in ["12", "phone", "+", &"1".repeat(16)] {
            assert!(Phone::parse(bad).is_none(), "{bad}");
        }
        let today = parse_date("2026-11-21").unwrap();
        assert_eq!(
            BirthDate::parse("1958-03-14", today).unwrap().to_string(),
            "1958-03-14"
        );
        for bad in ["2030-01-01", "1990-02-30", "1899-12-31", "14/03/1958"] {
            assert!(BirthDate::parse(bad, today).is_none(), "{bad}");
        }
        let d = BirthDate::parse("1958-03-14", today).unwrap();
        assert_eq!(serde_json::to_value(d).unwrap(), "1958-03-14");
    }

    #[test]
    fn text_is_nfc_and_hidden_controls_are_known() {
        assert_eq!(nfc("Ame\u{301}lie"), "Am\u{e9}lie");
        assert_eq!(nfc("Am\u{e9}lie"), "Am\u{e9}lie");
        for c in [
            '\u{202E}', '\u{2066}', '\u{200B}', '\u{200D}', '\u{FEFF}', '\u{200F}',
        ] {
            assert!(is_hidden_control(c), "{c:?}");
        }
        for c in ['a', 'é', ' ', '-', '\u{301}', 'ß'] {
            assert!(!is_hidden_control(c), "{c:?}");
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
