//! Which addresses `sdk.http` may connect to: never loopback, private, link-local,
//! unique-local, CGNAT, multicast, unspecified, reserved or cloud-metadata addresses, in any
//! spelling (IPv4-mapped, -compatible, NAT64 and 6to4 IPv6 forms are unwrapped first) — unless
//! the operator allowed the host, host:port or network.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One entry of the operator's allow list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowRule {
    Host(String),
    HostPort(String, u16),
    Network(IpNet),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a host, host:port or CIDR network")]
pub struct BadAllowRule(pub String);

impl AllowRule {
    pub fn parse(raw: &str) -> Result<Self, BadAllowRule> {
        let text = raw.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(BadAllowRule(raw.to_owned()));
        }
        if let Ok(network) = text.parse::<IpNet>() {
            return Ok(AllowRule::Network(network));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(AllowRule::Network(IpNet::from(ip)));
        }
        if let Ok(socket) = text.parse::<std::net::SocketAddr>() {
            return Ok(AllowRule::HostPort(socket.ip().to_string(), socket.port()));
        }
        let valid_host = |h: &str| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        };
        match text.rsplit_once(':') {
            Some((host, port)) if valid_host(host) => {
                let port = port.parse().map_err(|_| BadAllowRule(raw.to_owned()))?;
                Ok(AllowRule::HostPort(host.to_owned(), port))
            }
            None if valid_host(&text) => Ok(AllowRule::Host(text)),
            _ => Err(BadAllowRule(raw.to_owned())),
        }
    }

    /// Parses a comma-separated list.
    pub fn parse_list(raw: &str) -> Result<Vec<Self>, BadAllowRule> {
        raw.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Self::parse)
            .collect()
    }
}

/// The operator's allow list, asked about each connection target.
#[derive(Clone, Debug, Default)]
pub struct AddressPolicy {
    rules: Vec<AllowRule>,
}

impl AddressPolicy {
    pub fn new(rules: Vec<AllowRule>) -> Self {
        Self { rules }
    }

    /// Whether the operator allowed this host name (or IP literal) and port by name.
    pub fn allows_host(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.rules.iter().any(|rule| match rule {
            AllowRule::Host(allowed) => *allowed == host,
            AllowRule::HostPort(allowed, allowed_port) => *allowed == host && *allowed_port == port,
            AllowRule::Network(_) => false,
        })
    }

    /// Whether the script may connect to `ip` (for a host the operator did not allow by name).
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.rules
            .iter()
            .any(|rule| matches!(rule, AllowRule::Network(net) if net.contains(&ip)))
            || !is_forbidden(ip)
    }
}

/// The IPv4 address an IPv6 address stands for, if it embeds one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = ip.segments();
    let octets = ip.octets();
    let tail = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    match segments {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail), // ::ffff:a.b.c.d (mapped)
        [0, 0, 0, 0, 0, 0, _, _] if ip != Ipv6Addr::UNSPECIFIED && ip != Ipv6Addr::LOCALHOST => {
            Some(tail)
        } // ::a.b.c.d
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail), // NAT64
        [0x2002, a, b, ..] => Some(Ipv4Addr::new(
            (a >> 8) as u8,
            a as u8,
            (b >> 8) as u8,
            b as u8,
        )), // 6to4
        _ => None,
    }
}

/// An address in the form the rules are checked on: IPv6 forms of IPv4 addresses unwrapped.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0                                   // "this network"
        || ip.is_loopback()                         // 127/8
        || ip.is_private()                          // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()                       // 169.254/16, with 169.254.169.254 metadata
        || (a == 100 && (64..128).contains(&b))     // 100.64/10 CGNAT
        || (a == 192 && b == 0 && c == 0)           // 192.0.0/24 protocol assignments
        || (a == 198 && (18..20).contains(&b))      // 198.18/15 benchmarking
        || ip.is_multicast()                        // 224/4
        || a >= 240 // 240/4 reserved, broadcast
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00                 // fc00::/7 unique local (fd00:ec2::254 metadata)
        || (first & 0xffc0) == 0xfe80                 // fe80::/10 link local
        || (first & 0xffc0) == 0xfec0                 // fec0::/10 site local
        || ip.segments()[..2] == [0x2001, 0x0db8]     // documentation
        || first == 0x0100 && ip.segments()[1..4] == [0, 0, 0] // 100::/64 discard
}

/// Whether a script must never reach `ip` unless the operator allowed it.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_addresses_in_every_spelling() {
        let forbidden = [
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
        ];
        for raw in forbidden {
            assert!(
                is_forbidden(raw.parse().expect(raw)),
                "{raw} should be forbidden"
            );
        }
        let public = [
            "93.184.215.14",
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
        ];
        for raw in public {
            assert!(
                !is_forbidden(raw.parse().expect(raw)),
                "{raw} should be allowed"
            );
        }
    }

    #[test]
    fn allow_rules() {
        let rules = AllowRule::parse_list("127.0.0.1/32, localhost:8080 ,internal.example, ::1")
            .expect("rules");
        assert_eq!(rules.len(), 4);
        let policy = AddressPolicy::new(rules);
        assert!(policy.allows_ip("127.0.0.1".parse().expect("ip")));
        assert!(
            policy.allows_ip("::ffff:127.0.0.1".parse().expect("ip")),
            "mapped form of an allowed address"
        );
        assert!(!policy.allows_ip("127.0.0.2".parse().expect("ip")));
        assert!(policy.allows_ip("::1".parse().expect("ip")));
        assert!(policy.allows_host("LOCALHOST", 8080));
        assert!(!policy.allows_host("localhost", 8081));
        assert!(policy.allows_host("internal.example", 443));
        for bad in ["", "a b", "host:port", "10.0.0.0/99"] {
            assert!(AllowRule::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            AllowRule::parse("[::1]:8080"),
            Ok(AllowRule::HostPort("::1".into(), 8080))
        );
    }
}
