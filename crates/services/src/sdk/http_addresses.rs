//! The networks `sdk.http` never connects to, as one table built from the IANA IPv4 and IPv6
//! Special-Purpose Address Registries (plus the multicast and IPv6 address-space registries and
//! the cloud-metadata endpoints): everything that is not globally reachable is refused, and the
//! IPv6 forms that stand for an IPv4 address are decided by that address.

use ipnet::{Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a row of the IPv6 table says about the addresses in its network.
#[derive(Clone, Copy)]
enum Rule {
    /// Never reachable by a script.
    Refuse,
    /// The address carries an IPv4 address and is decided as that address.
    Embeds(fn(Ipv6Addr) -> Ipv4Addr),
}

struct V4Row {
    network: Ipv4Net,
    entry: &'static str,
}

struct V6Row {
    network: Ipv6Net,
    rule: Rule,
    entry: &'static str,
}

const fn v4(octets: [u8; 4], prefix: u8, entry: &'static str) -> V4Row {
    let [a, b, c, d] = octets;
    V4Row {
        network: Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix),
        entry,
    }
}

const fn v6(segments: [u16; 8], prefix: u8, rule: Rule, entry: &'static str) -> V6Row {
    let [a, b, c, d, e, f, g, h] = segments;
    V6Row {
        network: Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix),
        rule,
        entry,
    }
}

/// The IPv4 address in the last 32 bits (IPv4-mapped, NAT64 well-known prefix).
fn last_32_bits(ip: Ipv6Addr) -> Ipv4Addr {
    let [.., a, b, c, d] = ip.octets();
    Ipv4Addr::new(a, b, c, d)
}

/// The IPv4 address of a 6to4 address, in bits 16 to 47.
fn six_to_four(ip: Ipv6Addr) -> Ipv4Addr {
    let [_, _, a, b, c, d, ..] = ip.octets();
    Ipv4Addr::new(a, b, c, d)
}

/// Refused IPv4 networks. Every row of the IPv4 Special-Purpose Address Registry whose
/// "Globally Reachable" is False or N/A is here; the registry's globally reachable rows (AS112
/// 192.31.196.0/24 and 192.175.48.0/24, AMT 192.52.193.0/24) are not. Within 192.0.0.0/24 the
/// registry marks the PCP and TURN anycast addresses (192.0.0.9, 192.0.0.10) globally reachable;
/// no HTTP service lives there, so the whole block stays refused.
#[rustfmt::skip]
const IPV4: &[V4Row] = &[
    v4([0, 0, 0, 0],         8,  "\"This network\" (RFC 791)"),
    v4([0, 0, 0, 0],         32, "\"This host on this network\" (RFC 1122)"),
    v4([10, 0, 0, 0],        8,  "Private-Use (RFC 1918)"),
    // Holds Alibaba Cloud's metadata endpoint 100.100.100.200.
    v4([100, 64, 0, 0],      10, "Shared Address Space (RFC 6598)"),
    v4([127, 0, 0, 0],       8,  "Loopback (RFC 1122)"),
    // Holds the metadata endpoint 169.254.169.254 of AWS, GCP, Azure and OpenStack.
    v4([169, 254, 0, 0],     16, "Link Local (RFC 3927)"),
    v4([172, 16, 0, 0],      12, "Private-Use (RFC 1918)"),
    // Holds Oracle Cloud's metadata endpoint 192.0.0.192.
    v4([192, 0, 0, 0],       24, "IETF Protocol Assignments (RFC 6890)"),
    v4([192, 0, 0, 0],       29, "IPv4 Service Continuity Prefix (RFC 7335)"),
    v4([192, 0, 0, 8],       32, "IPv4 dummy address (RFC 7600)"),
    v4([192, 0, 0, 170],     32, "NAT64/DNS64 Discovery (RFC 7050)"),
    v4([192, 0, 0, 171],     32, "NAT64/DNS64 Discovery (RFC 7050)"),
    v4([192, 0, 2, 0],       24, "Documentation (TEST-NET-1) (RFC 5737)"),
    v4([192, 88, 99, 0],     24, "Deprecated (6to4 Relay Anycast) (RFC 7526)"),
    v4([192, 168, 0, 0],     16, "Private-Use (RFC 1918)"),
    v4([198, 18, 0, 0],      15, "Benchmarking (RFC 2544)"),
    v4([198, 51, 100, 0],    24, "Documentation (TEST-NET-2) (RFC 5737)"),
    v4([203, 0, 113, 0],     24, "Documentation (TEST-NET-3) (RFC 5737)"),
    // From the IPv4 Multicast Address Space Registry.
    v4([224, 0, 0, 0],       4,  "Multicast (RFC 5771)"),
    v4([240, 0, 0, 0],       4,  "Reserved (RFC 1112)"),
    v4([255, 255, 255, 255], 32, "Limited Broadcast (RFC 919)"),
    // In no registry: Azure's platform endpoint (WireServer), reachable from inside Azure only.
    v4([168, 63, 129, 16],   32, "Azure platform endpoint (cloud metadata)"),
];

const REFUSE: Rule = Rule::Refuse;
const LAST_32_BITS: Rule = Rule::Embeds(last_32_bits);
const SIX_TO_FOUR: Rule = Rule::Embeds(six_to_four);

/// IPv6 networks, refused or decided by the IPv4 address they carry. The most specific row that
/// holds an address applies. Only 2000::/3 is global unicast (IPv6 Address Space Registry), so
/// the first three rows refuse everything outside it; the rows inside them name their entry.
/// Every row of the IPv6 Special-Purpose Address Registry whose "Globally Reachable" is False
/// or N/A is here. Within 2001::/23 the registry marks a few anycast, AMT, AS112, ORCHIDv2 and
/// Drone Remote ID blocks globally reachable; none serves HTTP (ORCHIDs are not even
/// routable), so the whole block stays refused.
#[rustfmt::skip]
const IPV6: &[V6Row] = &[
    v6([0, 0, 0, 0, 0, 0, 0, 0],           3,   REFUSE, "not Global Unicast (IPv6 Address Space)"),
    v6([0x4000, 0, 0, 0, 0, 0, 0, 0],      2,   REFUSE, "not Global Unicast (IPv6 Address Space)"),
    v6([0x8000, 0, 0, 0, 0, 0, 0, 0],      1,   REFUSE, "not Global Unicast (IPv6 Address Space)"),
    v6([0, 0, 0, 0, 0, 0, 0, 0],           128, REFUSE, "Unspecified Address (RFC 4291)"),
    v6([0, 0, 0, 0, 0, 0, 0, 1],           128, REFUSE, "Loopback Address (RFC 4291)"),
    v6([0, 0, 0, 0, 0, 0, 0, 0],           96,  REFUSE, "IPv4-compatible, deprecated (RFC 4291)"),
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0],      96,  LAST_32_BITS, "IPv4-mapped Address (RFC 4291)"),
    v6([0, 0, 0, 0, 0xffff, 0, 0, 0],      96,  REFUSE, "IPv4-translated Address (RFC 2765)"),
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0],   96,  LAST_32_BITS, "IPv4-IPv6 Translat. (RFC 6052)"),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0],   48,  REFUSE, "IPv4-IPv6 Translat. local-use (RFC 8215)"),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0],       64,  REFUSE, "Discard-Only Address Block (RFC 6666)"),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0],       64,  REFUSE, "Dummy IPv6 Prefix (RFC 9780)"),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0],      23,  REFUSE, "IETF Protocol Assignments (RFC 2928)"),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0],      32,  REFUSE, "TEREDO (RFC 4380)"),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0],      48,  REFUSE, "Benchmarking (RFC 5180)"),
    v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0],   28,  REFUSE, "previously ORCHID (RFC 4843)"),
    v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0],   28,  REFUSE, "ORCHIDv2 (RFC 7343)"),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],  32,  REFUSE, "Documentation (RFC 3849)"),
    v6([0x2002, 0, 0, 0, 0, 0, 0, 0],      16,  SIX_TO_FOUR, "6to4 (RFC 3056)"),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0],      20,  REFUSE, "Documentation (RFC 9637)"),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0],      16,  REFUSE, "Segment Routing (SRv6) SIDs (RFC 9602)"),
    // Holds AWS's IPv6 metadata endpoint fd00:ec2::254.
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0],      7,   REFUSE, "Unique-Local (RFC 4193)"),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0],      10,  REFUSE, "Link-Local Unicast (RFC 4291)"),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0],      10,  REFUSE, "Site-local, deprecated (RFC 3879)"),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0],      8,   REFUSE, "Multicast (RFC 4291)"),
];

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    IPV4.iter()
        .filter(|row| row.network.contains(&ip))
        .max_by_key(|row| row.network.prefix_len())
        .map(|row| row.entry)
}

fn row_v6(ip: Ipv6Addr) -> Option<&'static V6Row> {
    IPV6.iter()
        .filter(|row| row.network.contains(&ip))
        .max_by_key(|row| row.network.prefix_len())
}

/// The address a connection to `ip` reaches for the purpose of the table: the IPv4 address an
/// IPv4-mapped, NAT64 or 6to4 address carries, else `ip` itself.
pub fn effective(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match row_v6(v6).map(|row| row.rule) {
            Some(Rule::Embeds(extract)) => IpAddr::V4(extract(v6)),
            _ => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

/// The registry entry that makes `ip` unreachable for scripts, or `None` if it is global.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match effective(ip) {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => row_v6(v6).map(|row| row.entry),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use url::{Host, Url};

    /// Each address and the registry entry that refuses it (a part of its name), or `None`
    /// for a global address.
    const ADDRESSES: &[(&str, Option<&str>)] = &[
        ("0.0.0.0", Some("This host")),
        ("0.1.2.3", Some("This network")),
        ("10.0.0.1", Some("Private-Use")),
        ("10.255.255.255", Some("Private-Use")),
        ("100.64.0.1", Some("Shared")),
        ("100.100.100.200", Some("Shared")),
        ("100.127.255.255", Some("Shared")),
        ("127.0.0.1", Some("Loopback")),
        ("127.255.255.254", Some("Loopback")),
        ("169.254.169.254", Some("Link Local")),
        ("169.254.0.1", Some("Link Local")),
        ("172.16.0.1", Some("Private-Use")),
        ("172.31.255.255", Some("Private-Use")),
        ("192.0.0.1", Some("Service Continuity")),
        ("192.0.0.8", Some("dummy")),
        ("192.0.0.9", Some("IETF Protocol")),
        ("192.0.0.170", Some("NAT64/DNS64")),
        ("192.0.0.192", Some("IETF Protocol")),
        ("192.0.2.1", Some("TEST-NET-1")),
        ("192.88.99.1", Some("6to4 Relay")),
        ("192.168.1.1", Some("Private-Use")),
        ("198.18.0.1", Some("Benchmarking")),
        ("198.19.255.255", Some("Benchmarking")),
        ("198.51.100.7", Some("TEST-NET-2")),
        ("203.0.113.9", Some("TEST-NET-3")),
        ("224.0.0.1", Some("Multicast")),
        ("239.255.255.250", Some("Multicast")),
        ("240.0.0.1", Some("Reserved")),
        ("255.255.255.254", Some("Reserved")),
        ("255.255.255.255", Some("Limited Broadcast")),
        ("168.63.129.16", Some("Azure")),
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("11.0.0.1", None),
        ("100.63.255.255", None),
        ("100.128.0.1", None),
        ("126.255.255.255", None),
        ("128.0.0.1", None),
        ("168.63.129.17", None),
        ("172.15.255.255", None),
        ("172.32.0.1", None),
        ("192.0.1.1", None),
        ("192.31.196.1", None),
        ("198.17.255.255", None),
        ("198.20.0.1", None),
        ("223.255.255.255", None),
        ("::", Some("Unspecified")),
        ("::1", Some("Loopback Address")),
        ("::2", Some("IPv4-compatible")),
        ("::127.0.0.1", Some("IPv4-compatible")),
        ("::8.8.8.8", Some("IPv4-compatible")),
        ("::ffff:127.0.0.1", Some("Loopback")),
        ("::ffff:7f00:1", Some("Loopback")),
        ("::ffff:169.254.169.254", Some("Link Local")),
        ("::ffff:10.0.0.1", Some("Private-Use")),
        ("::ffff:0.0.0.0", Some("This host")),
        ("::ffff:0:127.0.0.1", Some("IPv4-translated")),
        ("::ffff:0:8.8.8.8", Some("IPv4-translated")),
        ("64:ff9b::7f00:1", Some("Loopback")),
        ("64:ff9b::a9fe:a9fe", Some("Link Local")),
        ("64:ff9b::10.0.0.1", Some("Private-Use")),
        ("64:ff9b:1::7f00:1", Some("local-use")),
        ("64:ff9b:1::808:808", Some("local-use")),
        ("64:ff9b:2::808:808", Some("not Global Unicast")),
        ("100::1", Some("Discard-Only")),
        ("100:0:0:1::1", Some("Dummy")),
        ("200::1", Some("not Global Unicast")),
        ("1000::1", Some("not Global Unicast")),
        ("2001::1", Some("TEREDO")),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Some("TEREDO")),
        ("2001:1::1", Some("IETF Protocol")),
        ("2001:2::1", Some("Benchmarking")),
        ("2001:10::1", Some("ORCHID")),
        ("2001:20::1", Some("ORCHIDv2")),
        ("2001:1ff:ffff::1", Some("IETF Protocol")),
        ("2001:db8::1", Some("Documentation")),
        ("2002:7f00:1::", Some("Loopback")),
        ("2002:a9fe:a9fe::1", Some("Link Local")),
        ("2002:c0a8:101::1", Some("Private-Use")),
        ("3fff::1", Some("Documentation")),
        ("3fff:fff:ffff::1", Some("Documentation")),
        ("4000::1", Some("not Global Unicast")),
        ("5f00::1", Some("SRv6")),
        ("e000::1", Some("not Global Unicast")),
        ("fc00::1", Some("Unique-Local")),
        ("fd00:ec2::254", Some("Unique-Local")),
        ("fe00::1", Some("not Global Unicast")),
        ("fe80::1", Some("Link-Local")),
        ("febf::1", Some("Link-Local")),
        ("fec0::1", Some("Site-local")),
        ("ff02::1", Some("Multicast")),
        ("ff0e::1", Some("Multicast")),
        ("2606:4700::1111", None),
        ("2a00:1450:4001::200e", None),
        ("2001:4860:4860::8888", None),
        ("2001:200::1", None),
        ("2002:808:808::1", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("64:ff9b::8.8.8.8", None),
        ("2620:4f:8000::1", None),
        ("3fff:1000::1", None),
    ];

    #[test]
    fn the_table_refuses_every_non_global_address_and_names_its_entry() {
        for (raw, expected) in ADDRESSES {
            let ip: IpAddr = raw.parse().unwrap();
            let entry = refusal(ip);
            match expected {
                Some(part) => assert!(
                    entry.is_some_and(|entry| entry.contains(part)),
                    "{raw}: expected \"{part}\", got {entry:?}"
                ),
                None => assert_eq!(entry, None, "{raw} is global"),
            }
        }
    }

    /// URLs spelling an address in every way a URL parser accepts.
    const URLS: &[(&str, Option<&str>)] = &[
        ("http://2130706433/", Some("Loopback")),
        ("http://0177.0.0.1/", Some("Loopback")),
        ("http://0x7f.0.0.1/", Some("Loopback")),
        ("http://0x7f000001/", Some("Loopback")),
        ("http://017700000001/", Some("Loopback")),
        ("http://127.1/", Some("Loopback")),
        ("http://0177.1/", Some("Loopback")),
        ("http://0xa9fea9fe/", Some("Link Local")),
        ("http://0251.0376.0251.0376/", Some("Link Local")),
        ("http://0/", Some("This host")),
        ("http://0x0a.1/", Some("Private-Use")),
        ("http://[::1]/", Some("Loopback Address")),
        (
            "http://[0000:0000:0000:0000:0000:0000:0000:0001]/",
            Some("Loopback Address"),
        ),
        ("http://[::ffff:7f00:1]/", Some("Loopback")),
        ("http://[::FFFF:127.0.0.1]/", Some("Loopback")),
        ("http://[0:0:0:0:0:ffff:127.0.0.1]/", Some("Loopback")),
        ("http://[::ffff:0:127.0.0.1]/", Some("IPv4-translated")),
        ("http://[::127.0.0.1]/", Some("IPv4-compatible")),
        ("http://[64:ff9b::127.0.0.1]/", Some("Loopback")),
        ("http://[64:ff9b:1::7f00:1]/", Some("local-use")),
        ("http://[2001::7f00:1]/", Some("TEREDO")),
        ("http://[2002:7f00:0001::]/", Some("Loopback")),
        ("http://[fd00:ec2::254]/", Some("Unique-Local")),
        ("http://[FE80::1]/", Some("Link-Local")),
        ("http://8.8.8.8/", None),
        ("http://134744072/", None),
        ("http://0x08080808/", None),
        ("http://010.010.010.010/", None),
        ("http://[2606:4700::1111]/", None),
        ("http://[::ffff:808:808]/", None),
    ];

    #[test]
    fn every_url_spelling_of_an_address_is_decided_by_the_address() {
        for (raw, expected) in URLS {
            let ip = match Url::parse(raw).unwrap().host() {
                Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
                Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
                other => panic!("{raw} parsed as {other:?}"),
            };
            let entry = refusal(ip);
            match expected {
                Some(part) => assert!(
                    entry.is_some_and(|entry| entry.contains(part)),
                    "{raw}: expected \"{part}\", got {entry:?}"
                ),
                None => assert_eq!(entry, None, "{raw} is global"),
            }
        }
    }

    #[test]
    fn embedded_forms_stand_for_their_ipv4_address() {
        let cases = [
            ("::ffff:10.1.2.3", "10.1.2.3"),
            ("64:ff9b::a01:203", "10.1.2.3"),
            ("2002:a01:203:4::5", "10.1.2.3"),
            ("::ffff:0:a01:203", "::ffff:0:a01:203"),
            ("64:ff9b:1::a01:203", "64:ff9b:1::a01:203"),
            ("::1", "::1"),
            ("10.1.2.3", "10.1.2.3"),
        ];
        for (raw, expected) in cases {
            let ip: IpAddr = raw.parse().unwrap();
            assert_eq!(effective(ip), expected.parse::<IpAddr>().unwrap(), "{raw}");
        }
    }
}
