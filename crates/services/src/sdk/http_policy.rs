//! Which addresses `sdk.http` may connect to: none that the special-purpose address table
//! (`http_addresses`) refuses, in any spelling — unless the operator allowed the host,
//! host:port or network, which wins over the table.

use super::http_addresses;
use ipnet::IpNet;
use std::net::IpAddr;

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

    /// Why the script may not connect to `ip` (for a host the operator did not allow by name):
    /// the registry entry that refuses it, unless an allowed network holds the address or the
    /// IPv4 address it stands for. `None` when the connection may go ahead.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        let effective = http_addresses::effective(ip);
        let allowed = self.rules.iter().any(|rule| {
            matches!(rule, AllowRule::Network(net) if net.contains(&ip) || net.contains(&effective))
        });
        if allowed {
            None
        } else {
            http_addresses::refusal(ip)
        }
    }

    /// Whether the script may connect to `ip` (for a host the operator did not allow by name).
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.refusal(ip).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn allowed_networks_win_over_the_table() {
        let rules =
            AllowRule::parse_list("10.0.0.0/8, 2001:db8::/32, 64:ff9b:1::/48").expect("rules");
        let policy = AddressPolicy::new(rules);
        let cases = [
            ("10.1.2.3", true),
            ("::ffff:10.1.2.3", true),
            ("64:ff9b::a01:203", true),
            ("2002:a01:203::1", true),
            ("2001:db8::1", true),
            ("64:ff9b:1::7f00:1", true),
            ("8.8.8.8", true),
            ("127.0.0.1", false),
            ("172.16.0.1", false),
            ("::ffff:0:a01:203", false),
            ("::10.1.2.3", false),
            ("2001:db9::1", true),
            ("2001::1", false),
        ];
        for (raw, allowed) in cases {
            let ip: IpAddr = raw.parse().expect(raw);
            assert_eq!(policy.allows_ip(ip), allowed, "{raw}");
        }
    }
}
