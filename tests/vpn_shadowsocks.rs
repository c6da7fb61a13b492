//! Shadowsocks end to end.
//!
//! * shadowsocks-libev's `ss-server` (aes-256-gcm and
//!   chacha20-ietf-poly1305) in the server namespace of a [`VpnLab`], the
//!   real `bridgescout` binary in the client namespace. The proxied DNS
//!   query goes to an unbound on the server namespace's loopback
//!   (`--proxy-target 127.0.0.1:5353`), which the client cannot
//!   reach directly: an answer can only have come through the proxy.
//! * AEAD-2022 (which libev lacks): an in-process server built on the
//!   shadowsocks crate's server side (`ProxyListener`) on loopback, probed
//!   through the library's `ShadowsocksProbe`. It shares the crate with our client, so it
//!   checks our key handling and framing against shadowsocks-rust, not
//!   against a second code base.
//!
//! Needs root + iproute2, iptables, unbound, shadowsocks-libev for the
//! namespace tests (scripts/test installs them); they fail loudly
//! otherwise, unless BRIDGESCOUT_SKIP_NETNS=1. Traffic stays on loopback
//! and inside the lab's namespaces.

#[path = "common/vpnlab.rs"]
mod vpnlab;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hickory_proto::op::{Message, MessageType, OpCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use bridgescout::catalog::{Origin, parse_line};
use bridgescout::probe::shadowsocks::ShadowsocksProbe;
use bridgescout::probe::vpn::{FailKind, VpnEvidence, VpnOutcome};
use bridgescout::probe::{Evidence, Probe, ProbeConfig, Recorder, ScanContext};
use vpnlab::{Block, LabScan, VpnLab, require_tool};

const TIMEOUT_SECS: &str = "2";
const RUN_DEADLINE: Duration = Duration::from_secs(20);
/// Served by the lab's unbound (tests/common/netns.rs).
const PROBE_NAME: &str = "probe.test";
const PROBE_ADDR: &str = "192.0.2.53";
/// Where unbound listens inside the server namespace.
const TARGET: &str = "127.0.0.1:5353";
const AES_PORT: u16 = 8388;
const CHACHA_PORT: u16 = 8389;
/// Passwords with characters that need percent-encoding in links.
const AES_PW: &str = "lab+Pw/aes:1@%x";
const CHACHA_PW: &str = "lab chacha=pw?&2";
const WRONG_PW: &str = "not-the-lab-password";

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn b64url(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn b64std(s: &str) -> String {
    STANDARD.encode(s)
}

/// The record labelled `label`, checked to be Shadowsocks with this
/// verdict and diagnosis.
fn expect<'a>(s: &'a LabScan, label: &str, verdict: &str, diagnosis: &str) -> &'a Value {
    let r = s.get(label);
    assert_eq!(r["kind"], "shadowsocks", "{}", s.dump);
    assert_eq!(r["verdict"], verdict, "{label}\n{}", s.dump);
    assert_eq!(r["diagnosis"], diagnosis, "{label}\n{}", s.dump);
    r
}

fn scan(lab: &VpnLab, inputs: &[String]) -> LabScan {
    let mut args = inputs.to_vec();
    args.extend(["--probe-name", PROBE_NAME, "--proxy-target", TARGET].map(String::from));
    lab.scan_jsonl(&args, TIMEOUT_SECS, RUN_DEADLINE)
}

/// unbound on the server's loopback, ss-server for both methods.
fn start_servers(lab: &mut VpnLab, test: &str) {
    require_tool(test, "unbound", "unbound");
    let ss = require_tool(test, "ss-server", "shadowsocks-libev");
    let ss = ss.to_str().unwrap();
    lab.spawn_unbound("127.0.0.1", 5353, "127.0.0.0/8");
    let ip = lab.server_ip.clone();
    for (name, port, pw, method) in [
        ("ss-aes", AES_PORT, AES_PW, "aes-256-gcm"),
        (
            "ss-chacha",
            CHACHA_PORT,
            CHACHA_PW,
            "chacha20-ietf-poly1305",
        ),
    ] {
        let port = port.to_string();
        lab.spawn_in_server(
            name,
            &[ss, "-s", &ip, "-p", &port, "-k", pw, "-m", method, "-v"],
        );
    }
    lab.wait_tcp(&[
        TARGET.to_string(),
        format!("{ip}:{AES_PORT}"),
        format!("{ip}:{CHACHA_PORT}"),
    ]);
}

fn secrets() -> Vec<String> {
    let mut v = Vec::new();
    for pw in [AES_PW, CHACHA_PW, WRONG_PW] {
        v.push(pw.to_string());
        v.push(pct(pw));
    }
    for plain in [
        format!("aes-256-gcm:{AES_PW}"),
        format!("chacha20-ietf-poly1305:{CHACHA_PW}"),
        format!("aes-256-gcm:{WRONG_PW}"),
    ] {
        v.push(b64url(&plain));
        v.push(b64std(&plain).trim_end_matches('=').to_string());
    }
    v
}

#[test]
fn shadowsocks_libev_links_and_wrong_keys() {
    let test = module_path!();
    let Some(mut lab) = VpnLab::start(test) else {
        return;
    };
    start_servers(&mut lab, test);
    let ip = lab.server_ip.clone();
    let aes = format!("aes-256-gcm:{AES_PW}");
    let chacha = format!("chacha20-ietf-poly1305:{CHACHA_PW}");
    // One link per form; the #name keeps the labels apart.
    let links = [
        format!("ss://{}@{ip}:{AES_PORT}/#aes-b64url", b64url(&aes)),
        format!(
            "ss://aes-256-gcm:{}@{ip}:{AES_PORT}#aes-percent",
            pct(AES_PW)
        ),
        format!("ss://{}@{ip}:{CHACHA_PORT}#chacha-b64std", b64std(&chacha)),
        format!(
            "ss://{}@{ip}:{CHACHA_PORT}/?outline=1#Outline%20key",
            b64url(&chacha)
        ),
        format!("ss://{}#legacy", b64std(&format!("{aes}@{ip}:{AES_PORT}"))),
        format!(
            "ss://{}@{ip}:{AES_PORT}#wrong-password",
            b64url(&format!("aes-256-gcm:{WRONG_PW}"))
        ),
        format!("ss://{}@{ip}:{AES_PORT}#wrong-method", b64url(&chacha)),
        format!(
            "ss://{}@{ip}:{AES_PORT}/?plugin=obfs-local%3Bobfs%3Dhttp#with-plugin",
            b64url(&aes)
        ),
    ];
    // Read from a file, as users would pass a list of keys.
    let file = lab.dir.join("keys.txt");
    std::fs::write(&file, links.join("\n")).unwrap();
    let s = scan(&lab, &[file.to_str().unwrap().to_string()]);
    assert_eq!(s.records.len(), links.len(), "{}", s.dump);

    for name in [
        "aes-b64url",
        "aes-percent",
        "chacha-b64std",
        "Outline key",
        "legacy",
    ] {
        let port = if name.contains("aes") || name == "legacy" {
            AES_PORT
        } else {
            CHACHA_PORT
        };
        let r = expect(&s, &format!("ss {name} {ip}:{port}"), "reachable", "ok");
        let steps = r["steps"].as_array().unwrap();
        let ops: Vec<&str> = steps
            .iter()
            .map(|st| st["operation"].as_str().unwrap())
            .collect();
        assert_eq!(ops, ["tcp_connect", "shadowsocks_round_trip"], "{name}");
        let detail = steps[1]["detail"].as_str().unwrap_or("");
        assert!(
            detail.contains(PROBE_ADDR) && detail.contains(TARGET),
            "{name}: {detail}\n{}",
            s.dump
        );
        assert!(r["latency_ms"].as_f64().is_some(), "{name}");
        assert_eq!(r["address"], format!("ss://{ip}:{port}"));
    }

    // A wrong password or method: the server stays silent by design.
    for name in ["wrong-password", "wrong-method"] {
        let r = expect(
            &s,
            &format!("ss {name} {ip}:{AES_PORT}"),
            "failed",
            "no_response",
        );
        assert_eq!(
            r["failed_operation"], "shadowsocks_round_trip",
            "{}",
            s.dump
        );
        assert!(
            r["notes"]
                .to_string()
                .contains("silent on a wrong password"),
            "{}",
            s.dump
        );
    }

    // A plugin server is not tested, and says why.
    let r = s.get(&format!("ss with-plugin {ip}:{AES_PORT}"));
    assert_eq!(r["verdict"], "failed", "{}", s.dump);
    assert!(r["notes"].to_string().contains("obfs-local"), "{}", s.dump);
    assert!(
        r["steps"].as_array().is_none_or(|v| v.is_empty()),
        "{}",
        s.dump
    );

    s.assert_absent(&secrets());
}

#[test]
fn shadowsocks_tcp_interference() {
    let test = module_path!();
    let Some(mut lab) = VpnLab::start(test) else {
        return;
    };
    start_servers(&mut lab, test);
    let ip = lab.server_ip.clone();
    let aes = format!(
        "ss://{}@{ip}:{AES_PORT}#aes",
        b64url(&format!("aes-256-gcm:{AES_PW}"))
    );
    let chacha = format!(
        "ss://chacha20-ietf-poly1305:{}@{ip}:{CHACHA_PORT}#chacha",
        pct(CHACHA_PW)
    );

    // SYNs dropped: the connect times out (one endpoint per scan, so no
    // other connection marks the network as up).
    lab.block(&Block::DropPort(AES_PORT));
    let s = scan(&lab, std::slice::from_ref(&aes));
    let r = expect(&s, &format!("ss aes {ip}:{AES_PORT}"), "failed", "timeout");
    assert_eq!(r["failed_operation"], "tcp_connect", "{}", s.dump);
    assert_eq!(r["failure"], "generic_timeout_error", "{}", s.dump);
    s.assert_absent(&secrets());

    // SYN answered with a RST.
    lab.block(&Block::ResetSyn(CHACHA_PORT));
    let s = scan(&lab, std::slice::from_ref(&chacha));
    let r = expect(
        &s,
        &format!("ss chacha {ip}:{CHACHA_PORT}"),
        "failed",
        "connection_refused",
    );
    assert_eq!(r["failed_operation"], "tcp_connect", "{}", s.dump);
    s.assert_absent(&secrets());

    // Unblocked, both work again.
    lab.clear_blocks();
    let s = scan(&lab, &[aes, chacha]);
    expect(&s, &format!("ss aes {ip}:{AES_PORT}"), "reachable", "ok");
    expect(
        &s,
        &format!("ss chacha {ip}:{CHACHA_PORT}"),
        "reachable",
        "ok",
    );
}

// ---------------------------------------------------------------------
// AEAD-2022 against the shadowsocks crate's server side, on loopback.

/// A DNS-over-TCP responder answering `probe.test A` with [`PROBE_ADDR`],
/// under the query's ID plus `id_delta` (non-zero: a wrong ID).
async fn dns_target(id_delta: u16) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                s.read_exact(&mut len).await?;
                let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                s.read_exact(&mut q).await?;
                let q = Message::from_vec(&q).map_err(std::io::Error::other)?;
                let id = q.metadata.id.wrapping_add(id_delta);
                let mut r = Message::new(id, MessageType::Response, OpCode::Query);
                let query = q.queries[0].clone();
                let name = query.name().clone();
                r.add_query(query);
                r.add_answer(Record::from_rdata(
                    name,
                    60,
                    RData::A(A::new(192, 0, 2, 53)),
                ));
                let wire = r.to_vec().map_err(std::io::Error::other)?;
                s.write_all(&(wire.len() as u16).to_be_bytes()).await?;
                s.write_all(&wire).await?;
                Ok::<_, std::io::Error>(())
            });
        }
    });
    addr
}

/// A Shadowsocks server for `method` with `key` (for EIH: the iPSK, with
/// `user_key` as the one user) that relays to whatever the client asks.
async fn ss2022_server(method: &str, key: &str, user_key: Option<&str>) -> SocketAddr {
    use shadowsocks::config::{ServerConfig, ServerType, ServerUser, ServerUserManager};
    use shadowsocks::context::Context;
    use shadowsocks::relay::socks5::Address;
    use shadowsocks::relay::tcprelay::proxy_listener::ProxyListener;

    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut cfg = ServerConfig::new(bind, key.to_string(), method.parse().unwrap()).unwrap();
    if let Some(u) = user_key {
        let mut users = ServerUserManager::new();
        users.add_user(ServerUser::with_encoded_key("lab", u).unwrap());
        cfg.set_user_manager(users);
    }
    let listener = ProxyListener::bind(Context::new_shared(ServerType::Server), &cfg)
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(target) = stream.handshake().await else {
                    // Wrong key: read and discard until the client gives
                    // up, saying nothing, as servers do against probing.
                    let mut tcp = stream.into_inner();
                    let _ = tokio::io::copy(&mut tcp, &mut tokio::io::sink()).await;
                    return;
                };
                let Address::SocketAddress(to) = target else {
                    return;
                };
                if let Ok(mut up) = TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut up).await;
                }
            });
        }
    });
    addr
}

async fn probe_link(link: &str, target: SocketAddr) -> VpnEvidence {
    let ep = parse_line(link, Origin::User).unwrap_or_else(|e| panic!("{link}: {e}"));
    let config = ProbeConfig {
        step_timeout: Duration::from_secs(2),
        probe_name: PROBE_NAME.to_string(),
        system_resolver: false,
        proxy_target: target,
        ..ProbeConfig::default()
    };
    let rec = Recorder::new(0, None, Arc::new(ScanContext::default()));
    match ShadowsocksProbe.run(&ep, &config, &rec).await {
        Evidence::Vpn(e) => *e,
        other => panic!("{link}: not VPN evidence: {other:?}"),
    }
}

#[tokio::test]
async fn shadowsocks_2022_round_trip_in_process() {
    const PSK32: &str = "YctPZ6U7xPPcU+gp3u+ZNTcnEmCNaM6rpLl5SW8mzQw=";
    const PSK32B: &str = "3y5rBVMNBQbo1u6ZDgpEUBbpL/0SgjYVFDUtoE9z3Ag=";
    const PSK16: &str = "Kp2GZWmqVz4TIbOXwWIBHg==";
    let target = dns_target(0).await;
    let cases = [
        ("2022-blake3-aes-256-gcm", PSK32, None, PSK32.to_string()),
        ("2022-blake3-aes-128-gcm", PSK16, None, PSK16.to_string()),
        (
            "2022-blake3-chacha20-poly1305",
            PSK32,
            None,
            PSK32.to_string(),
        ),
        // Multi-user (extensible identity headers): iPSK:uPSK.
        (
            "2022-blake3-aes-256-gcm",
            PSK32,
            Some(PSK32B),
            format!("{PSK32}:{PSK32B}"),
        ),
    ];
    // All cases at once: each wrong key waits out the 2 s timeout.
    let runs = cases
        .iter()
        .map(|(method, server_key, user_key, password)| async move {
            let server = ss2022_server(method, server_key, *user_key).await;
            let right = format!("ss://{method}:{}@{server}#x", pct(password));
            let wrong_key = match (user_key, method.contains("128")) {
                (Some(_), _) => format!("{PSK32}:{PSK32}"),
                (None, true) => "AAAAAAAAAAAAAAAAAAAAAA==".to_string(),
                (None, false) => PSK32B.to_string(),
            };
            let wrong = format!("ss://{method}:{}@{server}#x", pct(&wrong_key));
            let (ok, bad) = tokio::join!(probe_link(&right, target), probe_link(&wrong, target));
            (method, ok, bad)
        });
    let results = tokio::time::timeout(Duration::from_secs(15), futures::future::join_all(runs))
        .await
        .expect("2022 probes exceeded their time limit");
    for (method, ok, bad) in results {
        assert_eq!(ok.outcome, VpnOutcome::Verified, "{method}: {ok:?}");
        assert!(ok.handshake_ms.is_some());
        // The wrong key: silence, reported as no_response.
        assert!(
            matches!(
                bad.outcome,
                VpnOutcome::Failed {
                    kind: FailKind::NoResponse,
                    ..
                }
            ),
            "{method} wrong key: {bad:?}"
        );
        assert!(
            bad.notes.iter().any(|n| n.contains("clock")),
            "{method}: 2022 silence should mention the clock: {bad:?}"
        );
    }
}

// ---------------------------------------------------------------------
// What is not a Shadowsocks answer, on loopback.

/// A TCP service on loopback that is not Shadowsocks: `serve` gets each
/// accepted connection.
async fn other_service<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(s));
        }
    });
    addr
}

fn failed_kind(e: &VpnEvidence) -> Option<FailKind> {
    match e.outcome {
        VpnOutcome::Failed { kind, .. } => Some(kind),
        _ => None,
    }
}

/// Garbage from a service that is not Shadowsocks never proves anything:
/// bad_response (it did not decrypt) or no_response (not enough came).
#[tokio::test]
async fn non_shadowsocks_services_are_never_reachable() {
    let target = dns_target(0).await;
    // An SSH-like banner and binary noise, sent as soon as we connect.
    let banner = other_service(|mut s| async move {
        let mut noise: Vec<u8> = b"SSH-2.0-OpenSSH_9.6\r\n".to_vec();
        noise.extend((0..200).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let _ = s.write_all(&noise).await;
        let _ = tokio::io::copy(&mut s, &mut tokio::io::sink()).await;
    })
    .await;
    // A web server: reads the request, answers 400 and closes.
    let http = other_service(|mut s| async move {
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        let _ = s
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
    })
    .await;
    // An echo service: our own ciphertext comes back.
    let echo = other_service(|s| async move {
        let (mut r, mut w) = s.into_split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
    })
    .await;
    let runs = [("banner", banner), ("http", http), ("echo", echo)]
        .into_iter()
        .flat_map(|(name, addr)| {
            [
                format!("ss://aes-256-gcm:{}@{addr}#{name}", pct(AES_PW)),
                format!(
                    "ss://2022-blake3-aes-256-gcm:{}@{addr}#{name}",
                    pct("YctPZ6U7xPPcU+gp3u+ZNTcnEmCNaM6rpLl5SW8mzQw=")
                ),
            ]
        })
        .map(|link| async move {
            let e = probe_link(&link, target).await;
            (link, e)
        });
    let results = tokio::time::timeout(Duration::from_secs(15), futures::future::join_all(runs))
        .await
        .expect("probes exceeded their time limit");
    for (link, e) in results {
        assert!(
            matches!(
                failed_kind(&e),
                Some(FailKind::BadResponse | FailKind::NoResponse)
            ),
            "{link}: {e:?}"
        );
    }
}

/// A reply that decrypts with the key but answers another DNS ID is not
/// the answer to our query: not reachable.
#[tokio::test]
async fn decrypted_reply_with_the_wrong_dns_id_is_not_reachable() {
    const PSK32: &str = "YctPZ6U7xPPcU+gp3u+ZNTcnEmCNaM6rpLl5SW8mzQw=";
    let target = dns_target(1).await;
    let method = "2022-blake3-aes-256-gcm";
    let server = ss2022_server(method, PSK32, None).await;
    let e = probe_link(&format!("ss://{method}:{}@{server}#x", pct(PSK32)), target).await;
    assert!(
        matches!(
            &e.outcome,
            VpnOutcome::Failed {
                kind: FailKind::BadResponse,
                failure: bridgescout::measurement::Failure::DnsWrongQueryId,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("not the answer to our DNS query")),
        "{:?}",
        e.notes
    );
}
