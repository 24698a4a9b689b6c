//! Where a webhook may go: its URL (`https` only, loopback `http` only in
//! local mode) and the addresses that are never reachable from us, whether
//! written as an IP literal or resolved from a host name — private,
//! loopback, link-local, unique-local, carrier-grade NAT, multicast,
//! unspecified, documentation and benchmarking ranges, and the cloud
//! metadata addresses. Pure: resolving a name is the services' business
//! (`delivery::resolver`); this only says which addresses are refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Why an address is refused, or `None` when it is a public address.
pub fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let why = if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(169, 254, 170, 2) {
        "a cloud metadata address"
    } else if a == 0 || ip.is_unspecified() {
        "an unspecified address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_private() {
        "a private address"
    } else if ip.is_link_local() {
        "a link-local address"
    } else if a == 100 && (64..128).contains(&b) {
        "a carrier-grade NAT address"
    } else if ip.is_multicast() || a >= 240 || ip.is_broadcast() {
        "a multicast or reserved address"
    } else if (a, b, c) == (192, 0, 2) || (a, b, c) == (198, 51, 100) || (a, b, c) == (203, 0, 113)
    {
        "a documentation address"
    } else if a == 198 && (b == 18 || b == 19) {
        "a benchmarking address"
    } else if (a, b, c) == (192, 0, 0) || (a, b, c) == (192, 88, 99) {
        "a reserved address"
    } else {
        return None;
    };
    Some(why)
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // An IPv4 address inside IPv6 (mapped, NAT64, 6to4) is judged as itself.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return refused_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return refused_v4(embedded_v4(s[1], s[2]));
    }
    let why = if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        "a cloud metadata address"
    } else if ip.is_unspecified() {
        "an unspecified address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "a unique-local address"
    } else if s[0] & 0xffc0 == 0xfe80 || s[0] & 0xffc0 == 0xfec0 {
        "a link-local address"
    } else if s[0] & 0xff00 == 0xff00 {
        "a multicast address"
    } else if s[0] == 0x2001 && s[1] == 0xdb8 {
        "a documentation address"
    } else if s[0..4] == [0x100, 0, 0, 0] || s[0..6] == [0, 0, 0, 0, 0, 0] {
        "a reserved address"
    } else {
        return None;
    };
    Some(why)
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The host names that local mode lets a webhook reach over `http`.
pub fn is_loopback_name(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1")
}

/// The host of a webhook URL: a name to resolve, or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

/// A webhook URL that passed the rules: absolute, `https` (or `http` to a
/// loopback host when `allow_loopback`), no user name or password, no
/// fragment, a host that is not an IP literal of a refused kind. A host
/// name still has to resolve to public addresses only (checked by the
/// caller at creation, and again at every connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    pub url: String,
    pub host: Host,
    /// Local mode's exception: `http` to 127.0.0.1, localhost or [::1].
    pub loopback: bool,
}

impl WebhookUrl {
    pub fn parse(raw: &str, allow_loopback: bool) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_URL_LEN {
            return Err(format!("url must be 1 to {MAX_URL_LEN} characters"));
        }
        let url = url::Url::parse(raw).map_err(|_| "url is not an absolute URL".to_owned())?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("url must not hold a user name or password".into());
        }
        if url.fragment().is_some() {
            return Err("url must not have a fragment".into());
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => Host::Name(d.to_ascii_lowercase()),
            Some(url::Host::Ipv4(v4)) => Host::Ip(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Host::Ip(IpAddr::V6(v6)),
            None => return Err("url must have a host".into()),
        };
        let loopback = allow_loopback && url.host_str().is_some_and(is_loopback_name);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" if allow_loopback => {
                return Err(
                    "url must be https (http only to 127.0.0.1, localhost or [::1] in local mode)"
                        .into(),
                );
            }
            _ => return Err("url must be https".into()),
        }
        if let (Host::Ip(ip), false) = (&host, loopback)
            && let Some(why) = refused(*ip)
        {
            return Err(format!("url must not point at {why}"));
        }
        Ok(Self {
            url: url.to_string(),
            host,
            loopback,
        })
    }

    /// Whether a connection to `ip` (resolved from this URL's host) is
    /// allowed: a public address, or, in local mode, loopback for a
    /// loopback host.
    pub fn may_reach(&self, ip: IpAddr) -> bool {
        refused(ip).is_none() || (self.loopback && ip.is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refused_addresses() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.10",
            "198.51.100.1",
            "203.0.113.9",
            "198.18.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
        ] {
            assert!(refused(ip(bad)).is_some(), "{bad} must be refused");
        }
        for ok in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refused(ip(ok)), None, "{ok}");
        }
        assert_eq!(
            refused(ip("169.254.169.254")),
            Some("a cloud metadata address")
        );
        assert_eq!(
            refused(ip("fd00:ec2::254")),
            Some("a cloud metadata address")
        );
    }

    #[test]
    fn urls() {
        let u = WebhookUrl::parse("https://Hooks.Example.com/in?x=1", false).unwrap();
        assert_eq!(u.host, Host::Name("hooks.example.com".into()));
        assert_eq!(u.url, "https://hooks.example.com/in?x=1");
        for (bad, why) in [
            ("http://hooks.example.com/", "https"),
            ("ftp://hooks.example.com/", "https"),
            ("https://user:pw@hooks.example.com/", "user name"),
            ("https://hooks.example.com/#x", "fragment"),
            ("https://10.0.0.1/", "private"),
            ("https://169.254.169.254/latest/meta-data", "metadata"),
            ("https://[fd00:ec2::254]/", "metadata"),
            ("https://[::ffff:127.0.0.1]/", "loopback"),
            ("https://127.0.0.1/", "loopback"),
            ("https://0x7f.1/", "loopback"),
            ("not a url", "absolute"),
            ("http://127.0.0.1:9/", "https"),
        ] {
            let e = WebhookUrl::parse(bad, false).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        // Local mode: http to a loopback host only.
        let local = WebhookUrl::parse("http://127.0.0.1:8080/hook", true).unwrap();
        assert!(local.loopback && local.may_reach(ip("127.0.0.1")));
        assert!(!local.may_reach(ip("10.0.0.1")));
        assert!(WebhookUrl::parse("http://localhost:8080/", true).is_ok());
        assert!(WebhookUrl::parse("http://[::1]:8080/", true).is_ok());
        assert!(WebhookUrl::parse("http://hooks.example.com/", true).is_err());
        assert!(WebhookUrl::parse("https://10.0.0.1/", true).is_err());
        let public = WebhookUrl::parse("https://hooks.example.com/", true).unwrap();
        assert!(
            !public.may_reach(ip("127.0.0.1")),
            "loopback only for a loopback host"
        );
        assert!(public.may_reach(ip("93.184.216.34")));
    }
}
