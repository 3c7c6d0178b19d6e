//! Where a webhook may point (SSRF). Only `http` and `https` URLs without
//! credentials; the host's addresses must all be public, unless the host or
//! the address is listed in `WEBHOOK_ALLOWED_HOSTS`. A URL is checked when a
//! hook is saved and again at each delivery, where the addresses checked are
//! the ones connected to (see [`GuardedResolver`]): a name that resolves to a
//! public address for the check and to a private one a moment later gains
//! nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

use crate::error::ApiError;

/// Hosts and addresses a hook may reach although they are not public,
/// written in lower case (`127.0.0.1`, `receiver.internal`, `::1`).
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    pub fn new<S: AsRef<str>>(hosts: &[S]) -> Self {
        let normal = |h: &str| h.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        Self(hosts.iter().map(|h| normal(h.as_ref())).filter(|h| !h.is_empty()).collect())
    }

    fn lists_host(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        self.0.contains(&host)
    }

    fn lists_address(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|h| h.parse::<IpAddr>().ok() == Some(ip))
    }

    /// May a hook reach `ip`, found for `host`?
    fn admits(&self, host: &str, ip: IpAddr) -> bool {
        is_public(ip) || self.lists_host(host) || self.lists_address(ip)
    }
}

/// Why a URL is refused, as the problem's code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        ApiError::invalid("url", refused.code, refused.message)
    }
}

/// The shape of a hook's URL: http or https, a host, no user or password.
pub fn parse_url(raw: &str) -> Result<Url, Refused> {
    let raw = raw.trim();
    if raw.len() > 2000 {
        return Err(Refused::new("length", "at most 2000 characters"));
    }
    let url = Url::parse(raw).map_err(|e| Refused::new("url", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::new("scheme", "only http and https URLs"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::new("credentials", "a URL may not carry a user or password"));
    }
    if url.host().is_none() {
        return Err(Refused::new("url", "the URL has no host"));
    }
    if url.port() == Some(0) {
        return Err(Refused::new("port", "port 0 reaches no receiver; give the port the receiver listens on (1 to 65535)"));
    }
    Ok(url)
}

/// Resolves the URL's host and checks every address; the addresses found,
/// with the URL's port.
pub async fn check(url: &Url, allowed: &AllowedHosts) -> Result<Vec<SocketAddr>, Refused> {
    let port = url.port_or_known_default().unwrap_or(80);
    let (host, addresses) = match url.host() {
        Some(Host::Ipv4(ip)) => (ip.to_string(), vec![IpAddr::V4(ip)]),
        Some(Host::Ipv6(ip)) => (ip.to_string(), vec![IpAddr::V6(ip)]),
        Some(Host::Domain(name)) => (name.to_owned(), lookup(name).await?),
        None => return Err(Refused::new("url", "the URL has no host")),
    };
    admitted(&host, &addresses, allowed)?;
    Ok(addresses.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
}

/// Checks a URL whose host is an address literal (nothing to resolve);
/// names pass here and are checked by [`GuardedResolver`] as they resolve.
pub fn check_literal(url: &Url, allowed: &AllowedHosts) -> Result<(), Refused> {
    match url.host() {
        Some(Host::Ipv4(ip)) => admitted(&ip.to_string(), &[IpAddr::V4(ip)], allowed),
        Some(Host::Ipv6(ip)) => admitted(&ip.to_string(), &[IpAddr::V6(ip)], allowed),
        Some(Host::Domain(_)) => Ok(()),
        None => Err(Refused::new("url", "the URL has no host")),
    }
}

/// The one answer to a URL whose host is not allowed, whatever the reason:
/// it does not resolve, or it resolves to an address a hook may not reach.
/// Which of the two, and which address, is logged on the server only, so
/// that the answers do not map the inside network.
const NOT_ALLOWED: &str = "the URL's host must resolve to public addresses only, or be listed in WEBHOOK_ALLOWED_HOSTS";

fn not_allowed() -> Refused {
    Refused::new("forbidden_address", NOT_ALLOWED)
}

async fn lookup(name: &str) -> Result<Vec<IpAddr>, Refused> {
    let found = tokio::net::lookup_host((name, 0)).await.map_err(|err| {
        tracing::info!(host = name, error = %err, "webhook host does not resolve");
        not_allowed()
    })?;
    let addresses: Vec<IpAddr> = found.map(|a| a.ip()).collect();
    if addresses.is_empty() {
        tracing::info!(host = name, "webhook host has no address");
        return Err(not_allowed());
    }
    Ok(addresses)
}

/// Every address must be admitted: one private address among public ones
/// is enough to reach inside.
fn admitted(host: &str, addresses: &[IpAddr], allowed: &AllowedHosts) -> Result<(), Refused> {
    match addresses.iter().find(|ip| !allowed.admits(host, **ip)) {
        None => Ok(()),
        Some(ip) => {
            tracing::info!(host, address = %ip, "webhook host is at an address that is not allowed");
            Err(not_allowed())
        }
    }
}

/// The resolver of the delivery client: it resolves, checks and hands the
/// client exactly the addresses it checked, so the connection goes where the
/// check looked. (The client does not resolve IP literals; those are checked
/// by [`check`] before each delivery.)
pub struct GuardedResolver {
    pub allowed: Arc<AllowedHosts>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = lookup(&host).await?;
            admitted(&host, &addresses, &allowed)?;
            let addrs: reqwest::dns::Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Is `ip` an address on the public internet? Private, loopback,
/// link-local, unspecified, shared (CGNAT), documentation, benchmarking,
/// multicast and reserved ranges are not, nor IPv6 forms that embed such an
/// IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let reserved = ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0                                  // "this network"
        || (a == 100 && (64..128).contains(&b))    // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0)          // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99)        // 6to4 relay anycast
        || (a == 198 && (18..20).contains(&b))     // benchmarking
        || a >= 240; // reserved
    !reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    // 6to4 (2002::/16) reaches the IPv4 address in its second and third segments.
    if s[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    let reserved = ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || s[0..6] == [0, 0, 0, 0, 0, 0]      // IPv4-compatible (deprecated)
        || s[0..5] == [0, 0, 0, 0, 0xffff]    // IPv4-translated (::ffff:0:0:0/96)
        || (s[0] == 0x2001 && s[1] == 0)      // Teredo: tunnels to an address it hides
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 (RFC 8215)
        || (s[0] & 0xfe00) == 0xfc00          // unique local
        || (s[0] & 0xffc0) == 0xfe80          // link-local
        || (s[0] & 0xffc0) == 0xfec0          // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // discard-only
    !reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn inside_addresses_are_not_public() {
        for inside in ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
                       "198.18.0.1", "255.255.255.255", "224.0.0.1", "::1", "::", "fc00::1", "fd12::1", "fe80::1",
                       "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2001:db8::1", "192.88.99.1",
                       "2002:7f00:1::", "2002:a00:1::1", "2001:0:4136:e378:8000:63bf:80ff:fffe", "64:ff9b:1::7f00:1",
                       "::ffff:0:127.0.0.1", "::ffff:0:a00:1"] {
            assert!(!is_public(ip(inside)), "{inside}");
        }
        for outside in ["8.8.8.8", "1.1.1.1", "203.119.25.1", "2400:3200::1", "::ffff:8.8.8.8", "2002:808:808::1"] {
            assert!(is_public(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn only_plain_http_urls() {
        assert_eq!(parse_url("ftp://example.com/x").err().map(|e| e.code), Some("scheme"));
        assert_eq!(parse_url("https://user:pw@example.com/x").err().map(|e| e.code), Some("credentials"));
        assert_eq!(parse_url("not a url").err().map(|e| e.code), Some("url"));
        assert_eq!(parse_url("http://hooks.example.com:0/in").err().map(|e| e.code), Some("port"));
        assert!(parse_url("https://hooks.example.com/in?a=1").is_ok());
    }

    #[actix_web::test]
    async fn loopback_and_private_hosts_need_listing() {
        let none = AllowedHosts::default();
        for raw in ["http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://[::1]/x", "http://localhost/x"] {
            let url = parse_url(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(check(&url, &none).await.err().map(|e| e.code), Some("forbidden_address"), "{raw}");
        }
        let listed = AllowedHosts::new(&["127.0.0.1", "LOCALHOST"]);
        for raw in ["http://127.0.0.1:9/x", "http://localhost:9/x"] {
            let url = parse_url(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert!(check(&url, &listed).await.is_ok(), "{raw}");
        }
        let url = parse_url("http://10.0.0.1/x").unwrap_or_else(|e| panic!("{e}"));
        assert!(check(&url, &listed).await.is_err(), "listing one address allows no other");
        let url = parse_url("http://no-such-host.invalid/x").unwrap_or_else(|e| panic!("{e}"));
        let (unknown, inside) = (check(&url, &none).await.err(), check(&parse_url("http://localhost:9/x").unwrap_or_else(|e| panic!("{e}")), &none).await.err());
        assert_eq!(unknown, inside, "a name that does not resolve and one inside get the same answer");
    }
}
