//! Host names to addresses, as a port: the system's resolver, or a map
//! (tests: a name that resolves to a private address, then rebinds to the
//! metadata address). `domain::net` says which addresses are refused; the
//! webhook client resolves through [`public_addresses`] at every
//! connection, so a name cannot be rebound to an internal address after it
//! was checked at creation.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::net::{WebhookUrl, is_loopback_name};

#[async_trait]
pub trait Resolver: Send + Sync {
    /// Every address of `host` (a name, not an IP literal).
    async fn resolve(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver.
pub struct SystemResolver;

#[async_trait]
impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        let addrs = tokio::net::lookup_host((host, 443)).await?;
        Ok(addrs.map(|a| a.ip()).collect())
    }
}

/// Names resolved from a map that a test may change; an unknown name does
/// not resolve.
#[derive(Default)]
pub struct MapResolver {
    names: Mutex<HashMap<String, Vec<IpAddr>>>,
}

impl MapResolver {
    pub fn set(&self, host: &str, addrs: &[IpAddr]) {
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_ascii_lowercase(), addrs.to_vec());
    }
}

#[async_trait]
impl Resolver for MapResolver {
    async fn resolve(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        match names.get(&host.to_ascii_lowercase()) {
            Some(a) if !a.is_empty() => Ok(a.clone()),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such host",
            )),
        }
    }
}

/// Why a host gives no address to connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreachable {
    #[error("the host does not resolve")]
    NoSuchHost,
    #[error("the host resolves to {0}")]
    Refused(&'static str),
}

/// The addresses of `host` that a webhook may reach: all of them must be
/// allowed (one refused address refuses the host: a resolver that mixes a
/// public and an internal answer is not trusted). In local mode a loopback
/// name may resolve to loopback.
pub async fn public_addresses(
    resolver: &dyn Resolver,
    host: &str,
    allow_loopback: bool,
) -> Result<Vec<IpAddr>, Unreachable> {
    let addrs = resolver
        .resolve(host)
        .await
        .map_err(|_| Unreachable::NoSuchHost)?;
    if addrs.is_empty() {
        return Err(Unreachable::NoSuchHost);
    }
    let loopback_ok = allow_loopback && is_loopback_name(host);
    for ip in &addrs {
        if let Some(why) = crate::domain::net::refused(*ip)
            && !(loopback_ok && ip.is_loopback())
        {
            return Err(Unreachable::Refused(why));
        }
    }
    Ok(addrs)
}

/// Checks where `url` leads now: its IP literal, or every address its name
/// resolves to.
pub async fn check_url(resolver: &dyn Resolver, url: &WebhookUrl) -> Result<(), Unreachable> {
    match &url.host {
        crate::domain::net::Host::Ip(ip) if url.may_reach(*ip) => Ok(()),
        crate::domain::net::Host::Ip(ip) => Err(Unreachable::Refused(
            crate::domain::net::refused(*ip).unwrap_or("a refused address"),
        )),
        crate::domain::net::Host::Name(name) => public_addresses(resolver, name, url.loopback)
            .await
            .map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_with_any_internal_address_is_refused() {
        let r = MapResolver::default();
        r.set("hooks.example.com", &["93.184.216.34".parse().unwrap()]);
        r.set(
            "mixed.example.com",
            &[
                "93.184.216.34".parse().unwrap(),
                "10.0.0.1".parse().unwrap(),
            ],
        );
        r.set("meta.example.com", &["169.254.169.254".parse().unwrap()]);
        r.set("localhost", &["127.0.0.1".parse().unwrap()]);
        assert!(
            public_addresses(&r, "hooks.example.com", false)
                .await
                .is_ok()
        );
        assert_eq!(
            public_addresses(&r, "mixed.example.com", false).await,
            Err(Unreachable::Refused("a private address"))
        );
        assert_eq!(
            public_addresses(&r, "meta.example.com", true).await,
            Err(Unreachable::Refused("a cloud metadata address"))
        );
        assert_eq!(
            public_addresses(&r, "nope.example.com", false).await,
            Err(Unreachable::NoSuchHost)
        );
        assert!(public_addresses(&r, "localhost", false).await.is_err());
        assert!(public_addresses(&r, "localhost", true).await.is_ok());
    }
}
