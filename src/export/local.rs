//! This machine's own addresses, read offline, so exports can scrub them.

use std::net::{IpAddr, Ipv6Addr};

/// Addresses of this machine's interfaces (IPv4 and IPv6, link-local
/// included: those can embed the hardware address). Loopback and
/// unspecified addresses are left out: they identify nobody.
///
/// Never fails: an unreadable source just contributes nothing.
pub fn local_addresses() -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    if let Ok(ifaces) = if_addrs::get_if_addrs() {
        out.extend(ifaces.iter().map(|i| i.ip()));
    }
    // getifaddrs can miss IPv6 addresses on some kernels and containers;
    // the kernel's own table is cheap to read as well.
    if let Ok(text) = std::fs::read_to_string("/proc/net/if_inet6") {
        out.extend(parse_if_inet6(&text).into_iter().map(IpAddr::V6));
    }
    out.retain(|ip| !ip.is_loopback() && !ip.is_unspecified());
    out.sort();
    out.dedup();
    out
}

/// Parses `/proc/net/if_inet6`: each line starts with 32 hex digits.
fn parse_if_inet6(text: &str) -> Vec<Ipv6Addr> {
    text.lines()
        .filter_map(|line| {
            let hex = line.split_whitespace().next()?;
            if hex.len() != 32 {
                return None;
            }
            u128::from_str_radix(hex, 16).ok().map(Ipv6Addr::from)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_if_inet6() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo\n\
                    fe8000000000000002163efffe4c1234 02 40 20 80     eth0\n\
                    garbage\n";
        let got = parse_if_inet6(text);
        assert_eq!(
            got,
            vec![
                Ipv6Addr::LOCALHOST,
                "fe80::216:3eff:fe4c:1234".parse::<Ipv6Addr>().unwrap()
            ]
        );
    }

    #[test]
    fn local_addresses_skip_loopback() {
        let all = local_addresses();
        assert!(
            all.iter()
                .all(|ip| !ip.is_loopback() && !ip.is_unspecified())
        );
    }
}
