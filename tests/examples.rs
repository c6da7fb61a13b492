//! The example inputs in bridges/examples must all parse: they are what
//! people copy from, so a format drifting away from its parser shows here.

use bridgescout::catalog::{EndpointKind, Origin, load_input};

#[test]
fn every_example_parses_without_errors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/bridges/examples");
    let catalog = load_input(dir, Origin::User).expect("read examples");
    // The folder's README.md is prose and skipped; everything else must
    // parse cleanly.
    let errors: Vec<String> = catalog.errors.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "example lines rejected: {errors:#?}");
    let mut kinds: Vec<EndpointKind> = catalog.endpoints.iter().map(|e| e.kind()).collect();
    kinds.sort();
    kinds.dedup();
    for want in [
        EndpointKind::Wireguard,
        EndpointKind::Amneziawg,
        EndpointKind::Openvpn,
        EndpointKind::Ikev2,
        EndpointKind::Shadowsocks,
        EndpointKind::Vless,
        EndpointKind::Trojan,
        EndpointKind::Hysteria2,
        EndpointKind::Tuic,
    ] {
        assert!(kinds.contains(&want), "no {want} endpoint in the examples");
    }
    // Two OpenVPN remotes, three Shadowsocks links.
    let count = |k| catalog.endpoints.iter().filter(|e| e.kind() == k).count();
    assert_eq!(count(EndpointKind::Openvpn), 2);
    assert_eq!(count(EndpointKind::Shadowsocks), 3);
}
