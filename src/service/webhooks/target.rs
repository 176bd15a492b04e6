//! Where a webhook may point: the URL policy, checked when a webhook is registered and again on
//! every delivery (a URL stored before a rule existed is not trusted either).
//!
//! A webhook POSTs signed directory data (names, emails) to a URL an application chose, from
//! inside our AWS account, so a URL must not reach what only we can reach:
//! - the Lambda Runtime API (`127.0.0.1:9001`, `AWS_LAMBDA_RUNTIME_API`) and anything else on
//!   loopback;
//! - the instance metadata endpoints: link-local `169.254.0.0/16` (IPv4) and `fd00:ec2::/32`
//!   (IPv6, inside the ULA block `fc00::/7`);
//! - private (RFC 1918), shared/CGNAT (RFC 6598 `100.64.0.0/10`) and ULA (RFC 4193) networks a
//!   VPC or its peers may use; multicast, broadcast, reserved and documentation ranges.
//!
//! The URL is parsed with the WHATWG URL parser (`url` crate), which is what turns
//! `http://127.0.0.1@attacker.example/` into user `127.0.0.1` at host `attacker.example` and
//! `http://2130706433/` into `127.0.0.1`: a prefix test on the raw string is fooled by both.
//! Userinfo is refused outright (it would also carry a credential into our logs and store).
//!
//! A host name is checked where it is used: the deliverer's resolver
//! ([`super::connect::CheckedResolver`]) refuses a name when *any* of its addresses is refused,
//! and hands the connector exactly the addresses it checked, so a DNS answer that changes
//! between check and connect (rebinding) cannot slip through.
//!
//! Two policies: [`UrlPolicy::Aws`] (deployed; the default everywhere) wants `https` and a
//! public address; [`UrlPolicy::Local`] (`scim-local`, tests, `scimctl` on a loopback
//! emulator) also lets plain `http` reach loopback, but only through the exact hosts
//! `127.0.0.1`, `localhost` and `[::1]` — never `localhost.attacker.example`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest webhook URL accepted.
pub const MAX_URL_CHARS: usize = 2_048;

/// Which webhook URLs are allowed where this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UrlPolicy {
    /// Deployed in AWS: `https` to public addresses only.
    #[default]
    Aws,
    /// A local server or test: also `http` to loopback, through the exact loopback hosts.
    Local,
}

impl UrlPolicy {
    /// The policy of a process that is not told: `Local` only for a command-line process
    /// (not a Lambda function: `AWS_LAMBDA_FUNCTION_NAME` unset) whose DynamoDB endpoint
    /// (`AWS_ENDPOINT_URL_DYNAMODB`, as `scim-local` prints it) is a loopback emulator.
    pub fn from_env() -> Self {
        if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            return UrlPolicy::Aws;
        }
        let local_store = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
            .ok()
            .and_then(|e| url::Url::parse(&e).ok())
            .is_some_and(|u| match u.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            });
        if local_store {
            UrlPolicy::Local
        } else {
            UrlPolicy::Aws
        }
    }
}

/// Why a webhook URL or address is refused. The text is what the application sees (400) and
/// what `last_error` says; it names a class, never the resolved address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the webhook URL is not a valid absolute URL")]
    Invalid,
    #[error("the webhook URL must be at most {MAX_URL_CHARS} characters")]
    TooLong,
    #[error("the webhook URL must be https:// (http:// only to 127.0.0.1, localhost or [::1] on a local server)")]
    Scheme,
    #[error("the webhook URL must not carry a user name or password")]
    Userinfo,
    #[error("the webhook URL must not have a #fragment")]
    Fragment,
    #[error("the webhook host is not a valid DNS name or IP address")]
    Host,
    #[error("the webhook host is {0}, which webhooks may not reach")]
    Address(AddressClass),
}

/// The kinds of address a webhook may not reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Unspecified,
    Loopback,
    LinkLocal,
    Private,
    SharedCgnat,
    UniqueLocal,
    Multicast,
    Reserved,
}

impl std::fmt::Display for AddressClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::LinkLocal => "a link-local address (instance metadata)",
            AddressClass::Private => "a private address",
            AddressClass::SharedCgnat => "a shared (CGNAT) address",
            AddressClass::UniqueLocal => "a unique local IPv6 address",
            AddressClass::Multicast => "a multicast or broadcast address",
            AddressClass::Reserved => "a reserved or documentation address",
        })
    }
}

/// What a refused address is; `None` for a public unicast address.
pub fn address_class(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => AddressClass::Unspecified,
        (127, ..) => AddressClass::Loopback,
        (169, 254, _) => AddressClass::LinkLocal,
        (10, ..) | (192, 168, _) => AddressClass::Private,
        (172, b, _) if (16..32).contains(&b) => AddressClass::Private,
        // RFC 6598 shared address space.
        (100, b, _) if (64..128).contains(&b) => AddressClass::SharedCgnat,
        (224..=239, ..) | (255, 255, 255) => AddressClass::Multicast,
        // RFC 6890: IETF protocol assignments, TEST-NETs, benchmarking, class E.
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (240..=255, ..) => {
            AddressClass::Reserved
        }
        (198, 18 | 19, _) => AddressClass::Reserved,
        _ => return None,
    })
}

fn v6_class(ip: Ipv6Addr) -> Option<AddressClass> {
    let seg = ip.segments();
    // Addresses that carry an IPv4 address get that address's class: IPv4-mapped
    // (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`, RFC 6052, which AWS DNS64 answers with), 6to4
    // (`2002::/16`, RFC 3056).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_class(v4);
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_class(Ipv4Addr::from(
            (u32::from(seg[6]) << 16) | u32::from(seg[7]),
        ));
    }
    if seg[0] == 0x2002 {
        return v4_class(Ipv4Addr::from(
            (u32::from(seg[1]) << 16) | u32::from(seg[2]),
        ));
    }
    Some(match seg[0] {
        _ if ip.is_unspecified() => AddressClass::Unspecified,
        _ if ip.is_loopback() => AddressClass::Loopback,
        // Deprecated IPv4-compatible addresses (`::a.b.c.d`).
        0 if seg[1..6] == [0; 5] => AddressClass::Reserved,
        s if s & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        // fec0::/10, deprecated site-local (RFC 3879).
        s if s & 0xffc0 == 0xfec0 => AddressClass::Private,
        // fc00::/7, which holds fd00:ec2::/32 (EC2's IPv6 metadata and DNS endpoints).
        s if s & 0xfe00 == 0xfc00 => AddressClass::UniqueLocal,
        s if s & 0xff00 == 0xff00 => AddressClass::Multicast,
        // 2001:db8::/32 documentation, 100::/64 discard.
        0x2001 if seg[1] == 0x0db8 => AddressClass::Reserved,
        0x0100 if seg[1..4] == [0; 3] => AddressClass::Reserved,
        _ => return None,
    })
}

/// The host part of a checked URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IP address, already checked.
    Ip(IpAddr),
    /// A DNS name, lowercased; its addresses are checked when it is resolved.
    Name(String),
}

/// A webhook URL that passed the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: url::Url,
    host: Host,
    /// Loopback allowed (Local policy, exact loopback host).
    loopback: bool,
}

impl WebhookUrl {
    pub fn parse(raw: &str, policy: UrlPolicy) -> Result<WebhookUrl, UrlError> {
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(UrlError::TooLong);
        }
        // The WHATWG parser strips leading/trailing spaces and tabs/newlines inside; a URL
        // that needs that is not one an application meant.
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Invalid);
        }
        let url = url::Url::parse(raw).map_err(|_| UrlError::Invalid)?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(UrlError::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Userinfo);
        }
        if url.fragment().is_some() {
            return Err(UrlError::Fragment);
        }
        let host = match url.host() {
            Some(url::Host::Ipv4(ip)) => Host::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Host::Ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) if is_dns_name(d) => Host::Name(d.to_ascii_lowercase()),
            _ => return Err(UrlError::Host),
        };
        // Exact hosts, as written (case aside): `http://localhost.attacker.example/`,
        // `http://127.1/` and `http://2130706433/` are not `127.0.0.1`, whatever they resolve to.
        let exact_loopback = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|h| written_host(raw).eq_ignore_ascii_case(h));
        let loopback = policy == UrlPolicy::Local && exact_loopback;
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(UrlError::Scheme),
        }
        if let Host::Ip(ip) = host {
            check_address(ip, loopback)?;
        }
        Ok(WebhookUrl {
            url,
            host,
            loopback,
        })
    }

    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The host, for logs (a URL's path or query may hold a receiver's secret; its host not).
    pub fn host_str(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Whether this URL may reach loopback addresses (exact loopback host on a local server).
    pub fn allows_loopback(&self) -> bool {
        self.loopback
    }
}

/// The host of an absolute URL as written: between `://` and the port, path, query or
/// fragment (userinfo was refused before this is asked).
fn written_host(raw: &str) -> &str {
    let rest = raw.split_once("://").map_or("", |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rfind(':') {
        // A port follows the last colon unless it is inside an IPv6 literal.
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    }
}

/// Refuses `ip` unless it is public (or loopback, when `loopback` is allowed).
pub fn check_address(ip: IpAddr, loopback: bool) -> Result<(), UrlError> {
    match address_class(ip) {
        None => Ok(()),
        Some(AddressClass::Loopback) if loopback => Ok(()),
        Some(class) => Err(UrlError::Address(class)),
    }
}

/// LDH labels (RFC 1123 §2.1; `_` is tolerated as DNS allows it), at most 253 characters, and not
/// ending in a numeric label: a resolver's `inet_aton` would read `127.1` or `0x7f.1` as an
/// IPv4 address, and no top-level domain is numeric.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = name.split('.').collect();
    let ok = labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    let last = labels.last().copied().unwrap_or_default();
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || (last.len() > 2 && last[..2].eq_ignore_ascii_case("0x"));
    ok && !numeric
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URLs an attacker (or a careless application) registers, and why each is refused in AWS.
    const HOSTILE: &[(&str, &str)] = &[
        ("http://127.0.0.1@attacker.example/", "userinfo"),
        ("https://127.0.0.1@attacker.example/", "userinfo"),
        ("https://user:pw@hooks.example.com/", "userinfo"),
        ("http://localhost.attacker.example/", "scheme"),
        ("http://hooks.example.com/", "scheme"),
        ("ftp://hooks.example.com/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        (
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
            "scheme",
        ),
        (
            "https://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
            "loopback",
        ),
        ("https://localhost/", "host-later"),
        ("https://[::1]/", "loopback"),
        ("https://2130706433/", "loopback"),
        ("https://0x7f.1/", "loopback"),
        ("https://127.1/", "loopback"),
        ("https://[::ffff:127.0.0.1]/", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[fd00:ec2::254]/latest/meta-data/", "ula"),
        ("https://[fe80::1]/", "link-local"),
        ("https://[64:ff9b::a9fe:a9fe]/", "link-local"),
        ("https://[2002:a9fe:a9fe::1]/", "link-local"),
        ("https://10.0.0.5/", "private"),
        ("https://172.16.0.1/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://100.64.0.1/", "cgnat"),
        ("https://[fc00::1]/", "ula"),
        ("https://224.0.0.1/", "multicast"),
        ("https://255.255.255.255/", "multicast"),
        ("https://[ff02::1]/", "multicast"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://[::]/", "unspecified"),
        ("https://198.18.0.1/", "reserved"),
        ("https://hooks.example.com/#frag", "fragment"),
        ("https://hooks.example.com/ x", "invalid"),
        ("https://hooks.example.com/\n", "invalid"),
        ("/relative/path", "invalid"),
        ("https://hooks.999/", "invalid"),
        ("https://under_score..example/", "invalid-or-host"),
    ];

    #[test]
    fn aws_refuses_every_hostile_url() {
        for (url, why) in HOSTILE {
            let got = WebhookUrl::parse(url, UrlPolicy::Aws);
            if *why == "host-later" {
                // A name: its addresses are refused when it is resolved (connect tests).
                let u = got.unwrap();
                assert!(!u.allows_loopback(), "{url}");
                continue;
            }
            let err = got.expect_err(url);
            let expected = match *why {
                "userinfo" => matches!(err, UrlError::Userinfo),
                "scheme" => matches!(err, UrlError::Scheme),
                "fragment" => matches!(err, UrlError::Fragment),
                "invalid" => matches!(err, UrlError::Invalid),
                "invalid-or-host" => matches!(err, UrlError::Invalid | UrlError::Host),
                "loopback" => err == UrlError::Address(AddressClass::Loopback),
                "link-local" => err == UrlError::Address(AddressClass::LinkLocal),
                "private" => err == UrlError::Address(AddressClass::Private),
                "cgnat" => err == UrlError::Address(AddressClass::SharedCgnat),
                "ula" => err == UrlError::Address(AddressClass::UniqueLocal),
                "multicast" => err == UrlError::Address(AddressClass::Multicast),
                "unspecified" => err == UrlError::Address(AddressClass::Unspecified),
                "reserved" => err == UrlError::Address(AddressClass::Reserved),
                _ => unreachable!(),
            };
            assert!(expected, "{url}: {err:?}, expected {why}");
        }
    }

    #[test]
    fn local_allows_http_only_to_the_exact_loopback_hosts() {
        for url in [
            "http://127.0.0.1:8081/hooks",
            "http://localhost:8081/hooks",
            "http://LOCALHOST/hooks",
            "http://[::1]:8081/hooks",
            "https://127.0.0.1/hooks",
        ] {
            let u = WebhookUrl::parse(url, UrlPolicy::Local).expect(url);
            assert!(u.allows_loopback(), "{url}");
        }
        for (url, err) in [
            ("http://127.0.0.1@attacker.example/", UrlError::Userinfo),
            ("http://localhost.attacker.example/", UrlError::Scheme),
            ("http://127.0.0.2/", UrlError::Scheme),
            ("http://2130706433/", UrlError::Scheme),
            ("http://127.1/", UrlError::Scheme),
            ("http://[0:0::1]/", UrlError::Scheme),
            ("http://hooks.example.com/", UrlError::Scheme),
            (
                "https://127.0.0.2/",
                UrlError::Address(AddressClass::Loopback),
            ),
            (
                "https://169.254.169.254/",
                UrlError::Address(AddressClass::LinkLocal),
            ),
            (
                "https://10.1.2.3/",
                UrlError::Address(AddressClass::Private),
            ),
        ] {
            assert_eq!(WebhookUrl::parse(url, UrlPolicy::Local), Err(err), "{url}");
        }
    }

    #[test]
    fn public_https_urls_pass_both_policies() {
        for policy in [UrlPolicy::Aws, UrlPolicy::Local] {
            for url in [
                "https://hooks.example.com/scim?tenant=42",
                "https://hooks.example.com:8443/scim",
                "https://93.184.215.14/scim",
                "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/scim",
            ] {
                let u = WebhookUrl::parse(url, policy).expect(url);
                assert!(!u.allows_loopback());
            }
        }
        let u = WebhookUrl::parse("https://Hooks.Example.com/a?secret=s3", UrlPolicy::Aws).unwrap();
        assert_eq!(u.host_str(), "hooks.example.com");
    }
}
