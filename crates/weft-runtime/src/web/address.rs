//! Which addresses the web tools may connect to: public unicast only. This machine, private
//! and shared networks, link-local (cloud metadata at `169.254.169.254`), multicast,
//! broadcast, documentation, benchmarking and reserved ranges are refused. For IPv6 forms
//! that carry an IPv4 address (`::ffff:a.b.c.d`, `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
//! `2002::/16`) the embedded IPv4 address decides.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a public unicast address a web tool may connect to.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

/// IPv4 ranges that are not public unicast (IANA special-purpose registry, plus multicast
/// and reserved): `(network, prefix length)`.
const REFUSED_V4: [([u8; 4], u8); 15] = [
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // carrier-grade NAT (shared)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local, cloud metadata
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and broadcast 255.255.255.255
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !REFUSED_V4.iter().any(|&(network, len)| {
        let mask = u32::MAX << (32 - u32::from(len));
        bits & mask == u32::from_be_bytes(network)
    })
}

/// IPv6 ranges inside global unicast `2000::/3` that are not public: `(network, prefix
/// length)`. Everything outside `2000::/3` (`::`, `::1`, unique local `fc00::/7`, link-local
/// `fe80::/10`, multicast `ff00::/8`, discard `100::/64`, local-use NAT64 `64:ff9b:1::/48`, …)
/// is refused too, except the IPv4-carrying forms.
const REFUSED_V6: [(u128, u8); 3] = [
    (0x2001_0000_u128 << 96, 23), // IETF protocol assignments (Teredo, ORCHID, …)
    (0x2001_0db8_u128 << 96, 32), // documentation
    (0x3fff_0000_u128 << 96, 20), // documentation (RFC 9637)
];

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let bits = u128::from(ip);
    let global_unicast = bits >> 125 == 0b001;
    global_unicast
        && !REFUSED_V6.iter().any(|&(network, len)| {
            let mask = u128::MAX << (128 - u32::from(len));
            bits & mask == network
        })
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d` (not `::` or `::1`), NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:aabb:ccdd::/48`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    match bits >> 32 {
        0xffff => return Some(low),                          // ::ffff:0:0/96
        0 if bits > 1 => return Some(low),                   // ::/96 but not :: or ::1
        0x0064_ff9b_0000_0000_0000_0000 => return Some(low), // 64:ff9b::/96
        _ => {}
    }
    if bits >> 112 == 0x2002 {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    None
}

/// Whether a host name is this machine by name: `localhost` and `*.localhost` (RFC 6761),
/// with or without a trailing dot.
pub(crate) fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(ip: &str) -> bool {
        is_public(ip.parse().unwrap())
    }

    /// Every refused range, with an address in it and (where there is one) a public
    /// neighbour just outside it.
    const V4_CASES: [(&str, &[&str], &[&str]); 15] = [
        ("0.0.0.0/8", &["0.0.0.0", "0.255.255.255"], &["1.0.0.1"]),
        (
            "10/8",
            &["10.0.0.1", "10.255.255.255"],
            &["11.0.0.1", "9.255.255.255"],
        ),
        (
            "100.64/10",
            &["100.64.0.1", "100.127.255.254"],
            &["100.63.255.255", "100.128.0.1"],
        ),
        (
            "127/8",
            &["127.0.0.1", "127.255.255.254"],
            &["128.0.0.1", "126.255.255.255"],
        ),
        (
            "169.254/16",
            &["169.254.169.254", "169.254.0.1"],
            &["169.253.255.255", "169.255.0.1"],
        ),
        (
            "172.16/12",
            &["172.16.0.1", "172.31.255.255"],
            &["172.15.255.255", "172.32.0.1"],
        ),
        ("192.0.0/24", &["192.0.0.1", "192.0.0.255"], &["192.0.1.1"]),
        ("192.0.2/24", &["192.0.2.1"], &["192.0.3.1"]),
        ("192.88.99/24", &["192.88.99.1"], &["192.88.98.1"]),
        (
            "192.168/16",
            &["192.168.0.1", "192.168.255.255"],
            &["192.167.255.255", "192.169.0.1"],
        ),
        (
            "198.18/15",
            &["198.18.0.1", "198.19.255.255"],
            &["198.17.255.255", "198.20.0.1"],
        ),
        ("198.51.100/24", &["198.51.100.7"], &["198.51.101.1"]),
        ("203.0.113/24", &["203.0.113.7"], &["203.0.114.1"]),
        (
            "224/4",
            &["224.0.0.1", "239.255.255.255"],
            &["223.255.255.255"],
        ),
        ("240/4", &["240.0.0.1", "255.255.255.255"], &[]),
    ];

    #[test]
    fn refused_ipv4_ranges_and_their_public_neighbours() {
        for (range, refused, allowed) in V4_CASES {
            for ip in refused {
                assert!(!public(ip), "{ip} is in {range}: refused");
            }
            for ip in allowed {
                assert!(public(ip), "{ip} is next to {range}: public");
            }
        }
        assert!(public("93.184.216.34") && public("8.8.8.8"));
    }

    const V6_CASES: [(&str, &[&str], &[&str]); 13] = [
        ("unspecified ::", &["::"], &[]),
        ("loopback ::1", &["::1"], &[]),
        (
            "unique local fc00::/7",
            &["fc00::1", "fd12:3456::1"],
            &["2606:4700::1111"],
        ),
        ("link-local fe80::/10", &["fe80::1", "febf::1"], &[]),
        ("site-local fec0::/10 (deprecated)", &["fec0::1"], &[]),
        ("multicast ff00::/8", &["ff02::1", "ff0e::1"], &[]),
        ("discard 100::/64", &["100::1"], &[]),
        (
            "documentation 2001:db8::/32",
            &["2001:db8::1"],
            &["2001:db9::1"],
        ),
        ("documentation 3fff::/20", &["3fff::1"], &["3ffe:ffff::1"]),
        (
            "IETF assignments 2001::/23, Teredo 2001::/32",
            &["2001::1", "2001:1ff::1"],
            &["2001:200::1"],
        ),
        ("local NAT64 64:ff9b:1::/48", &["64:ff9b:1::808:808"], &[]),
        (
            "outside global unicast 2000::/3",
            &["4000::1", "1fff::1"],
            &["2000::1", "3ffe::1"],
        ),
        ("reserved ::/8 (not IPv4-compatible)", &["::1:0:0:1"], &[]),
    ];

    #[test]
    fn refused_ipv6_ranges_and_their_public_neighbours() {
        for (range, refused, allowed) in V6_CASES {
            for ip in refused {
                assert!(!public(ip), "{ip} is in {range}: refused");
            }
            for ip in allowed {
                assert!(public(ip), "{ip} is next to {range}: public");
            }
        }
    }

    /// For IPv6 forms that carry an IPv4 address, the IPv4 address decides.
    const EMBEDDED_CASES: [(&str, &[&str], &[&str]); 4] = [
        (
            "IPv4-mapped ::ffff:0:0/96",
            &[
                "::ffff:127.0.0.1",
                "::ffff:169.254.169.254",
                "::ffff:10.0.0.1",
                "::ffff:0.0.0.0",
            ],
            &["::ffff:93.184.216.34"],
        ),
        (
            "IPv4-compatible ::/96",
            &["::127.0.0.1", "::10.1.2.3", "::192.168.1.1", "::0.0.0.2"],
            &["::93.184.216.34"],
        ),
        (
            "NAT64 64:ff9b::/96",
            &[
                "64:ff9b::127.0.0.1",
                "64:ff9b::a9fe:a9fe",
                "64:ff9b::100.64.0.1",
            ],
            &["64:ff9b::8.8.8.8"],
        ),
        (
            "6to4 2002::/16",
            &[
                "2002:7f00:1::1",
                "2002:a9fe:a9fe::1",
                "2002:c0a8:101::1",
                "2002:e000:1::",
            ],
            &["2002:5db8:d822::1"],
        ),
    ];

    #[test]
    fn ipv6_forms_carrying_ipv4_are_judged_by_the_ipv4_address() {
        for (form, refused, allowed) in EMBEDDED_CASES {
            for ip in refused {
                assert!(!public(ip), "{ip} ({form}) carries a refused IPv4 address");
            }
            for ip in allowed {
                assert!(public(ip), "{ip} ({form}) carries a public IPv4 address");
            }
        }
    }

    #[test]
    fn localhost_names_are_this_machine() {
        for name in ["localhost", "LOCALHOST", "localhost.", "api.localhost"] {
            assert!(is_localhost_name(name), "{name}");
        }
        for name in ["localhost.example.com", "mylocalhost", "example.com"] {
            assert!(!is_localhost_name(name), "{name}");
        }
    }
}
