use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::mmdb_writer::MmdbWriter;
use super::stun::{self, MAGIC_COOKIE, Response, parse_response};
use super::*;
use crate::run::RunMeta;

/// The address the privacy test must never find stored (TEST-NET-2).
const SECRET_IP: &str = "198.51.100.23";

fn test_asn_db(dir: &Path) -> PathBuf {
    let mut w = MmdbWriter::new_v6();
    w.insert_asn(
        "198.51.100.0".parse().unwrap(),
        24,
        64_500,
        "Example Transit",
    );
    w.insert_asn(
        "203.0.113.0".parse().unwrap(),
        25,
        64_501,
        "Doc\u{1b}[31mNet",
    );
    w.insert_asn("2001:db8::".parse().unwrap(), 32, 64_502, "Six Example");
    let path = dir.join("asn.mmdb");
    std::fs::write(&path, w.to_bytes()).unwrap();
    path
}

#[test]
fn asn_lookup_finds_v4_v6_and_reports_misses() {
    let dir = tempfile::tempdir().unwrap();
    let db = AsnDb::open(&test_asn_db(dir.path())).unwrap();
    assert_eq!(
        db.lookup("198.51.100.200".parse().unwrap()).unwrap(),
        Some((64_500, Some("Example Transit".into())))
    );
    // IPv4-mapped IPv6 is the same host.
    assert_eq!(
        db.lookup("::ffff:198.51.100.1".parse().unwrap()).unwrap(),
        Some((64_500, Some("Example Transit".into())))
    );
    assert_eq!(
        db.lookup("2001:db8:1::9".parse().unwrap()).unwrap(),
        Some((64_502, Some("Six Example".into())))
    );
    // Control characters from the file never reach the terminal.
    assert_eq!(
        db.lookup("203.0.113.5".parse().unwrap()).unwrap(),
        Some((64_501, Some("Doc[31mNet".into())))
    );
    // /25: the upper half is not in the database.
    assert_eq!(db.lookup("203.0.113.200".parse().unwrap()).unwrap(), None);
    assert_eq!(db.lookup("192.0.2.1".parse().unwrap()).unwrap(), None);
    assert_eq!(db.lookup("2001:db9::1".parse().unwrap()).unwrap(), None);
}

#[test]
fn ipv4_only_asn_db_treats_ipv6_as_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = MmdbWriter::new_v4();
    w.insert_asn("192.0.2.0".parse().unwrap(), 24, 64_496, "Four Only");
    let path = dir.path().join("v4.mmdb");
    std::fs::write(&path, w.to_bytes()).unwrap();
    let db = AsnDb::open(&path).unwrap();
    assert_eq!(
        db.lookup("192.0.2.7".parse().unwrap()).unwrap(),
        Some((64_496, Some("Four Only".into())))
    );
    assert_eq!(db.lookup("2001:db8::1".parse().unwrap()).unwrap(), None);
}

#[test]
fn bad_asn_db_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.mmdb");
    std::fs::write(&garbage, b"definitely not a maxmind database").unwrap();
    let missing = dir.path().join("missing.mmdb");
    for path in [&garbage, &missing] {
        match NetworkContext::derive(None, None, Some(path)) {
            Err(NetCtxError::AsnDb { path: p, .. }) => assert_eq!(&p, path),
            other => panic!("expected AsnDb error, got {other:?}"),
        }
    }
}

#[test]
fn embedded_country_table_answers_offline() {
    let geo = EmbeddedGeoip::new();
    assert_eq!(
        geo.country("8.8.8.8".parse().unwrap()).as_deref(),
        Some("US")
    );
    assert_eq!(
        geo.country("77.88.8.8".parse().unwrap()).as_deref(),
        Some("RU")
    );
    assert_eq!(geo.country("127.0.0.1".parse().unwrap()), None);
    assert_eq!(geo.country("10.1.2.3".parse().unwrap()), None);
}

#[test]
fn derive_without_address_keeps_only_the_label() {
    let ctx = NetworkContext::derive(None, Some("  hotel wifi\n"), None).unwrap();
    assert_eq!(
        ctx,
        NetworkContext {
            label: Some("hotel wifi".into()),
            ..NetworkContext::default()
        }
    );
    let empty = NetworkContext::derive(None, Some("   "), None).unwrap();
    assert_eq!(empty, NetworkContext::default());
}

#[test]
fn derive_with_embedded_table_finds_country() {
    let ctx = NetworkContext::derive(Some("8.8.8.8".parse().unwrap()), None, None).unwrap();
    assert_eq!(ctx.country.as_deref(), Some("US"));
    assert_eq!(ctx.asn, None);
}

struct FixedCountry(&'static str);

impl CountryLookup for FixedCountry {
    fn country(&self, _ip: IpAddr) -> Option<String> {
        Some(self.0.to_string())
    }
}

#[test]
fn derived_context_and_stored_run_hold_no_trace_of_the_ip() {
    let dir = tempfile::tempdir().unwrap();
    let asn = test_asn_db(dir.path());
    let ip: IpAddr = SECRET_IP.parse().unwrap();
    let ctx = NetworkContext::derive_with(Some(ip), Some("home"), Some(&asn), &FixedCountry("kz"))
        .unwrap();
    assert_eq!(
        ctx,
        NetworkContext {
            label: Some("home".into()),
            country: Some("KZ".into()),
            asn: Some(64_500),
            as_name: Some("Example Transit".into()),
        }
    );
    let meta = RunMeta::starting_now(ctx.clone());
    let json = serde_json::to_string(&meta).unwrap();
    let debug = format!("{ctx:?} {meta:?}");
    for text in [&json, &debug] {
        assert!(!text.contains(SECRET_IP), "{text}");
        assert!(!text.contains("198.51.100"), "{text}");
    }

    // And nothing in the database files either.
    let db_path = dir.path().join("history.sqlite3");
    let mut store = crate::store::Store::open(&db_path).unwrap();
    let run = store.begin_run(&meta).unwrap();
    store.finish_run(run, &meta.started_at).unwrap();
    drop(store);
    let mut found_any = false;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "mmdb") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        found_any |= bytes
            .windows(b"Example Transit".len())
            .any(|w| w == b"Example Transit");
        assert!(
            !bytes
                .windows(SECRET_IP.len())
                .any(|w| w == SECRET_IP.as_bytes()),
            "{} holds the IP",
            path.display()
        );
    }
    // Guards the check itself: the derived facts did reach the files.
    assert!(found_any);
}

// ---- STUN ----

fn success_response(txid: &[u8], attr: u16, ip: IpAddr, port: u16, xor: bool) -> Vec<u8> {
    let mut mask = [0u8; 16];
    if xor {
        mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
        mask[4..].copy_from_slice(txid);
    }
    let xport = if xor {
        port ^ (MAGIC_COOKIE >> 16) as u16
    } else {
        port
    };
    let (family, addr): (u8, Vec<u8>) = match ip {
        IpAddr::V4(a) => (1, a.octets().to_vec()),
        IpAddr::V6(a) => (2, a.octets().to_vec()),
    };
    let mut value = vec![0, family];
    value.extend_from_slice(&xport.to_be_bytes());
    value.extend(addr.iter().zip(mask).map(|(a, m)| a ^ m));
    message(stun::BINDING_SUCCESS, txid, &[(attr, value)])
}

fn message(kind: u16, txid: &[u8], attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.extend_from_slice(&t.to_be_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
        while body.len() % 4 != 0 {
            body.push(0);
        }
    }
    let mut m = Vec::new();
    m.extend_from_slice(&kind.to_be_bytes());
    m.extend_from_slice(&(body.len() as u16).to_be_bytes());
    m.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m.extend_from_slice(txid);
    m.extend_from_slice(&body);
    m
}

/// A STUN responder on loopback. For each request (checked to be a
/// well-formed Binding Request), `reply` returns the datagrams to send
/// back; requests it returns nothing for are "lost".
async fn responder<F>(mut reply: F) -> (SocketAddr, tokio::task::JoinHandle<usize>)
where
    F: FnMut(usize, &[u8]) -> Vec<Vec<u8>> + Send + 'static,
{
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = sock.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        let mut seen = 0;
        while let Ok(Ok((n, from))) =
            tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf)).await
        {
            let req = &buf[..n];
            assert_eq!(n, 20, "a bare Binding Request");
            assert_eq!(&req[0..2], &stun::BINDING_REQUEST.to_be_bytes());
            assert_eq!(&req[2..4], &[0, 0]);
            assert_eq!(&req[4..8], &MAGIC_COOKIE.to_be_bytes());
            for d in reply(seen, &req[8..20]) {
                sock.send_to(&d, from).await.unwrap();
            }
            seen += 1;
        }
        seen
    });
    (addr, task)
}

#[tokio::test]
async fn stun_reads_xor_mapped_ipv4() {
    let public: IpAddr = "203.0.113.77".parse().unwrap();
    let (server, _task) = responder(move |_, txid| {
        vec![success_response(
            txid,
            stun::ATTR_XOR_MAPPED_ADDRESS,
            public,
            40_000,
            true,
        )]
    })
    .await;
    let ip = stun_public_ip(server, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(ip, public);
}

#[tokio::test]
async fn stun_reads_xor_mapped_ipv6() {
    let public: IpAddr = "2001:db8:85a3::8a2e:370:7334".parse().unwrap();
    let (server, _task) = responder(move |_, txid| {
        vec![success_response(
            txid,
            stun::ATTR_XOR_MAPPED_ADDRESS,
            public,
            5_000,
            true,
        )]
    })
    .await;
    let ip = stun_public_ip(server, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(ip, public);
}

#[tokio::test]
async fn stun_accepts_plain_mapped_address_from_old_servers() {
    let public: IpAddr = "192.0.2.44".parse().unwrap();
    let (server, _task) = responder(move |_, txid| {
        vec![success_response(
            txid,
            stun::ATTR_MAPPED_ADDRESS,
            public,
            5_000,
            false,
        )]
    })
    .await;
    let ip = stun_public_ip(server, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(ip, public);
}

#[tokio::test]
async fn stun_ignores_strays_and_wrong_transaction_ids() {
    let public: IpAddr = "203.0.113.1".parse().unwrap();
    let decoy: IpAddr = "192.0.2.99".parse().unwrap();
    let (server, _task) = responder(move |_, txid| {
        let mut wrong = txid.to_vec();
        wrong[0] ^= 0xFF;
        vec![
            b"garbage that is not stun at all".to_vec(),
            success_response(&wrong, stun::ATTR_XOR_MAPPED_ADDRESS, decoy, 1, true),
            success_response(txid, stun::ATTR_XOR_MAPPED_ADDRESS, public, 2, true),
        ]
    })
    .await;
    let ip = stun_public_ip(server, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(ip, public);
}

#[tokio::test]
async fn stun_retransmits_when_the_first_request_is_lost() {
    let public: IpAddr = "203.0.113.2".parse().unwrap();
    let (server, task) = responder(move |n, txid| {
        if n == 0 {
            return vec![];
        }
        vec![success_response(
            txid,
            stun::ATTR_XOR_MAPPED_ADDRESS,
            public,
            2,
            true,
        )]
    })
    .await;
    let started = Instant::now();
    let ip = stun_public_ip(server, Duration::from_secs(4))
        .await
        .unwrap();
    assert_eq!(ip, public);
    // The answer came after one retransmission timeout, not at once.
    assert!(started.elapsed() >= Duration::from_millis(400));
    task.abort();
}

#[tokio::test]
async fn stun_error_response_is_reported() {
    let (server, _task) = responder(|_, txid| {
        let mut v = vec![0, 0, 4, 20];
        v.extend_from_slice(b"Unknown Attribute");
        vec![message(
            stun::BINDING_ERROR,
            txid,
            &[(stun::ATTR_ERROR_CODE, v)],
        )]
    })
    .await;
    match stun_public_ip(server, Duration::from_secs(3)).await {
        Err(NetCtxError::Stun { reason, .. }) => {
            assert!(reason.contains("420 Unknown Attribute"), "{reason}")
        }
        other => panic!("expected a STUN error, got {other:?}"),
    }
}

#[tokio::test]
async fn stun_silence_times_out() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    let (server, task) = responder(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        vec![]
    })
    .await;
    let started = Instant::now();
    match stun_public_ip(server, Duration::from_millis(1_200)).await {
        Err(NetCtxError::StunTimeout { .. }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(1_150));
    assert!(started.elapsed() < Duration::from_secs(3));
    task.abort();
    // Sent at 0 and again at 500 ms (then the deadline came first).
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

#[test]
fn stun_parser_checks_id_cookie_and_structure() {
    let txid = [7u8; 12];
    let ip: IpAddr = "203.0.113.3".parse().unwrap();
    let good = success_response(&txid, stun::ATTR_XOR_MAPPED_ADDRESS, ip, 9, true);
    assert_eq!(parse_response(&good, &txid), Response::Address(ip));

    let mut bad_cookie = good.clone();
    bad_cookie[4] ^= 1;
    assert_eq!(parse_response(&bad_cookie, &txid), Response::Ignore);
    assert_eq!(parse_response(&good, &[8u8; 12]), Response::Ignore);
    assert_eq!(parse_response(&good[..19], &txid), Response::Ignore);
    // Truncated body with a matching id is our answer, broken.
    assert!(matches!(
        parse_response(&good[..24], &txid),
        Response::Error(_)
    ));
    // An attribute claiming more bytes than the message holds.
    let mut overlong = good.clone();
    overlong[22..24].copy_from_slice(&200u16.to_be_bytes());
    assert!(matches!(
        parse_response(&overlong, &txid),
        Response::Error(_)
    ));
    // Success without any address attribute.
    let empty = message(stun::BINDING_SUCCESS, &txid, &[(0x8022, b"sw".to_vec())]);
    assert!(matches!(parse_response(&empty, &txid), Response::Error(_)));
}

#[test]
fn stun_parser_never_panics_on_noise() {
    let txid = [3u8; 12];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 80) as usize;
        let mut pkt: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Often make the header match so the attribute parser is reached.
        if len >= 20 && next() % 2 == 0 {
            pkt[0] = 0x01;
            pkt[1] = if next() % 2 == 0 { 0x01 } else { 0x11 };
            let body = (len - 20) as u16;
            pkt[2..4].copy_from_slice(&body.to_be_bytes());
            pkt[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
            pkt[8..20].copy_from_slice(&txid);
        }
        let _ = parse_response(&pkt, &txid);
    }
}
