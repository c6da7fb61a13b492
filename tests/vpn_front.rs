//! Share-link front probes through the binary, against in-process TLS and
//! QUIC servers on loopback: what `scan` reports for VLESS, VMess, Trojan,
//! Hysteria2 and TUIC links, and that user ids and passwords never show up
//! in its output. One test (ICMP host unreachable, which loopback cannot
//! produce) runs in a namespace pair of tests/common/vpnlab.rs: it needs
//! root + iproute2 and iptables, unless BRIDGESCOUT_SKIP_NETNS=1.

#[allow(dead_code)]
#[path = "common/inproc.rs"]
mod inproc;
#[allow(dead_code)]
#[path = "common/process.rs"]
mod process;
#[path = "common/vpnlab.rs"]
mod vpnlab;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use inproc::{TestPki, closed_port};

/// Name on the server certificates, used as the links' `sni`.
const FRONT: &str = "front.test";
const UUID: &str = "7d3c1f0e-2b4a-4c5d-9e8f-a1b2c3d4e5f6";
const PASSWORD: &str = "hunter2-Tr0jan-pass";
const OBFS_PASSWORD: &str = "salamander-Secret-99";
/// Bound on one scan run; each takes well under a second on loopback.
const SCAN_DEADLINE: Duration = Duration::from_secs(20);

/// One finished scan of one link.
struct Scan {
    record: Value,
    stdout: String,
    stderr: String,
}

impl Scan {
    fn verdict(&self) -> &str {
        self.record["verdict"].as_str().unwrap_or("")
    }

    fn diagnosis(&self) -> &str {
        self.record["diagnosis"].as_str().unwrap_or("")
    }

    fn failure(&self) -> &str {
        self.record["failure"].as_str().unwrap_or("")
    }

    fn failed_operation(&self) -> &str {
        self.record["failed_operation"].as_str().unwrap_or("")
    }

    fn notes(&self) -> Vec<String> {
        self.record["notes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn has_note(&self, text: &str) -> bool {
        self.notes().iter().any(|n| n.contains(text))
    }

    /// Details of the steps with this operation.
    fn step_details(&self, op: &str) -> Vec<String> {
        self.record["steps"]
            .as_array()
            .map(|steps| {
                steps
                    .iter()
                    .filter(|s| s["operation"] == op)
                    .map(|s| s["detail"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn assert_no_secrets(&self) {
        for secret in [UUID, PASSWORD, OBFS_PASSWORD] {
            assert!(
                !self.stdout.contains(secret) && !self.stderr.contains(secret),
                "{secret} leaked:\n{}\n{}",
                self.stdout,
                self.stderr
            );
        }
    }

    fn describe(&self) -> String {
        format!("stdout: {}\nstderr: {}", self.stdout, self.stderr)
    }
}

/// Runs `bridgescout scan <link>` with the test CA, off the async runtime.
async fn scan(link: String, ca: &Path) -> Scan {
    let ca = ca.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bridgescout"));
        cmd.arg("scan")
            .arg(&link)
            .args(["--format", "jsonl", "--timeout", "2"])
            .args([
                "--no-history",
                "--no-system-dns",
                "--no-controls",
                "--ca-file",
            ])
            .arg(&ca);
        process::run_bounded(&mut cmd, SCAN_DEADLINE)
    })
    .await
    .expect("scan thread");
    assert!(!out.timed_out, "scan hung: {}", out.stderr);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one record expected: {out:?}");
    let record: Value = serde_json::from_str(lines[0]).expect("jsonl record");
    Scan {
        record,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn tls_server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
    tls13_only: bool,
) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider);
    let builder = if tls13_only {
        builder.with_protocol_versions(&[&rustls::version::TLS13])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .expect("TLS versions");
    let mut config = builder
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server certificate");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// A TLS front on loopback: completes handshakes and holds the connection
/// until the client leaves. Stops when dropped.
struct TlsFront {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsFront {
    async fn start(pki: &TestPki, trusted_ca: bool, alpn: &[&[u8]]) -> TlsFront {
        let (cert, key) = pki.leaf(FRONT, trusted_ca);
        let acceptor =
            tokio_rustls::TlsAcceptor::from(Arc::new(tls_server_config(cert, key, alpn, false)));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind TLS front");
        let addr = listener.local_addr().expect("TLS front address");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&handshakes);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let count = Arc::clone(&count);
                tokio::spawn(async move {
                    let limit = Duration::from_secs(5);
                    let Ok(Ok(mut tls)) =
                        tokio::time::timeout(limit, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    let mut buf = [0u8; 1024];
                    let _ = tokio::time::timeout(limit, async {
                        while let Ok(n) = tls.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                        }
                    })
                    .await;
                });
            }
        });
        TlsFront {
            addr,
            handshakes,
            task,
        }
    }

    fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// Accepts TCP, waits for the ClientHello, answers with an RST: what a
/// censor's injected reset looks like from the client.
async fn reset_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind reset server");
    let addr = listener.local_addr().expect("reset server address");
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut first = [0u8; 1];
                let _ = tokio::time::timeout(Duration::from_secs(5), stream.peek(&mut first)).await;
                let _ = stream.set_zero_linger();
                drop(stream);
            });
        }
    });
    (addr, task)
}

/// A QUIC front (quinn) on loopback offering `alpn`. Stops when dropped.
struct QuicFront {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    endpoint: quinn::Endpoint,
    task: JoinHandle<()>,
}

impl Drop for QuicFront {
    fn drop(&mut self) {
        self.endpoint.close(0u32.into(), b"");
        self.task.abort();
    }
}

impl QuicFront {
    async fn start(pki: &TestPki, trusted_ca: bool, alpn: &[&[u8]]) -> QuicFront {
        let (cert, key) = pki.leaf(FRONT, trusted_ca);
        let tls = tls_server_config(cert, key, alpn, true);
        let crypto =
            quinn::crypto::rustls::QuicServerConfig::try_from(tls).expect("QUIC TLS config");
        let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        let endpoint = quinn::Endpoint::server(config, (Ipv4Addr::LOCALHOST, 0).into())
            .expect("bind QUIC front");
        let addr = endpoint.local_addr().expect("QUIC front address");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&handshakes);
        let ep = endpoint.clone();
        let task = tokio::spawn(async move {
            while let Some(incoming) = ep.accept().await {
                let count = Arc::clone(&count);
                tokio::spawn(async move {
                    if let Ok(conn) = incoming.await {
                        count.fetch_add(1, Ordering::SeqCst);
                        let _ = tokio::time::timeout(Duration::from_secs(5), conn.closed()).await;
                    }
                });
            }
        });
        QuicFront {
            addr,
            handshakes,
            endpoint,
            task,
        }
    }

    fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// The server counts a handshake when it has read the client's last
/// flight, which may trail the client's exit by a moment: polls `count`
/// (bounded) until it reaches `want`, then returns it.
async fn settled(count: impl Fn() -> usize, want: usize) -> usize {
    for _ in 0..100 {
        if count() >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    count()
}

/// A loopback UDP port nothing listens on (bound, then released).
fn closed_udp_port() -> u16 {
    let sock = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind UDP probe port");
    sock.local_addr().expect("UDP port").port()
}

#[tokio::test(flavor = "multi_thread")]
async fn vless_tls_front_answers_but_login_is_unverified() {
    let pki = TestPki::new(FRONT);
    let front = TlsFront::start(&pki, true, &[b"http/1.1"]).await;
    let link = format!(
        "vless://{UUID}@127.0.0.1:{}?encryption=none&type=ws&security=tls&sni={FRONT}\
         &fp=chrome&host={FRONT}&path=%2Fws#My%20VLESS",
        front.addr.port()
    );
    let s = scan(link, pki.ca_path()).await;
    assert_eq!(s.record["kind"], "vless", "{}", s.describe());
    assert_eq!(s.verdict(), "unverified", "{}", s.describe());
    assert_eq!(s.diagnosis(), "front_reachable", "{}", s.describe());
    assert!(s.has_note("login not verified"), "{:?}", s.notes());
    assert!(
        s.has_note("TLS fingerprint 'chrome'") && s.has_note("rustls"),
        "{:?}",
        s.notes()
    );
    assert!(
        s.record["latency_ms"].as_f64().is_some(),
        "{}",
        s.describe()
    );
    let tls = s.step_details("tls_handshake");
    assert_eq!(tls.len(), 1, "{}", s.describe());
    assert!(
        tls[0].contains("fp=chrome") && tls[0].contains(&format!("sni={FRONT}")),
        "{tls:?}"
    );
    assert_eq!(
        s.record["label"],
        format!("vless My VLESS 127.0.0.1:{}", front.addr.port())
    );
    assert_eq!(settled(|| front.handshakes(), 1).await, 1);
    s.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn trojan_with_an_untrusted_certificate_is_certificate_invalid() {
    let pki = TestPki::new(FRONT);
    let front = TlsFront::start(&pki, false, &[]).await;
    let link = format!(
        "trojan://{PASSWORD}@127.0.0.1:{}?sni={FRONT}&type=tcp#t",
        front.addr.port()
    );
    let s = scan(link, pki.ca_path()).await;
    assert_eq!(s.verdict(), "failed", "{}", s.describe());
    assert_eq!(s.diagnosis(), "certificate_invalid", "{}", s.describe());
    assert_eq!(s.failure(), "ssl_unknown_authority", "{}", s.describe());
    assert_eq!(s.failed_operation(), "tls_handshake");
    s.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn trojan_allow_insecure_skips_the_check_and_says_so() {
    let pki = TestPki::new(FRONT);
    let front = TlsFront::start(&pki, false, &[]).await;
    let link = format!(
        "trojan://{PASSWORD}@127.0.0.1:{}?sni={FRONT}&allowInsecure=1#t",
        front.addr.port()
    );
    let s = scan(link, pki.ca_path()).await;
    assert_eq!(s.verdict(), "unverified", "{}", s.describe());
    assert_eq!(s.diagnosis(), "front_reachable", "{}", s.describe());
    assert!(s.has_note("disables certificate checks"), "{:?}", s.notes());
    assert!(s.has_note("login not verified"), "{:?}", s.notes());
    assert!(s.step_details("tls_handshake")[0].contains("verify=off"));
    s.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_tcp_port_is_connection_refused() {
    let pki = TestPki::new(FRONT);
    let link = format!(
        "vless://{UUID}@127.0.0.1:{}?security=tls&sni={FRONT}",
        closed_port()
    );
    let s = scan(link, pki.ca_path()).await;
    assert_eq!(s.verdict(), "failed", "{}", s.describe());
    assert_eq!(s.diagnosis(), "connection_refused", "{}", s.describe());
    assert_eq!(s.failed_operation(), "tcp_connect");
    s.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_on_client_hello_is_connection_reset() {
    let pki = TestPki::new(FRONT);
    let (addr, task) = reset_server().await;
    let link = format!(
        "vless://{UUID}@127.0.0.1:{}?security=tls&sni={FRONT}&fp=chrome",
        addr.port()
    );
    let s = scan(link, pki.ca_path()).await;
    task.abort();
    assert_eq!(s.verdict(), "failed", "{}", s.describe());
    assert_eq!(s.diagnosis(), "connection_reset", "{}", s.describe());
    assert_eq!(s.failure(), "connection_reset", "{}", s.describe());
    assert_eq!(s.failed_operation(), "tls_handshake");
    // The fingerprint matters most exactly here: a reset on the hello.
    assert!(s.has_note("'chrome'"), "{:?}", s.notes());
    s.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn vmess_base64_link_with_tls_reaches_the_front() {
    let pki = TestPki::new(FRONT);
    let front = TlsFront::start(&pki, true, &[b"h2", b"http/1.1"]).await;
    let json = serde_json::json!({
        "v": "2", "ps": "vm", "add": "127.0.0.1", "port": front.addr.port().to_string(),
        "id": UUID, "aid": "0", "net": "ws", "type": "none", "host": FRONT,
        "path": "/vm", "tls": "tls", "sni": "", "alpn": "h2"
    });
    // URL-safe without padding: one of the flavours found in the wild.
    let link = format!(
        "vmess://{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
    );
    let s = scan(link, pki.ca_path()).await;
    assert_eq!(s.record["kind"], "vmess", "{}", s.describe());
    assert_eq!(s.verdict(), "unverified", "{}", s.describe());
    assert_eq!(s.diagnosis(), "front_reachable", "{}", s.describe());
    // No sni: the Host header names the server, as v2rayN does.
    let tls = s.step_details("tls_handshake");
    assert!(
        tls[0].contains(&format!("sni={FRONT}")) && tls[0].contains("alpn=h2"),
        "{tls:?}"
    );
    s.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_vless_and_reality_get_their_notes() {
    let pki = TestPki::new(FRONT);
    let front = TlsFront::start(&pki, true, &[]).await;
    let plain = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind plain");
    let plain_port = plain.local_addr().expect("plain address").port();
    let none = format!("vless://{UUID}@127.0.0.1:{plain_port}?type=ws&security=none#plain");
    let reality = format!(
        "vless://{UUID}@127.0.0.1:{}?security=reality&sni={FRONT}&fp=chrome\
         &pbk=Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw&sid=6ba85179e30d4fc2#r",
        front.addr.port()
    );
    let (s, r) = tokio::join!(scan(none, pki.ca_path()), scan(reality, pki.ca_path()));
    drop(plain);
    assert_eq!(s.diagnosis(), "front_reachable", "{}", s.describe());
    assert!(s.has_note("no TLS on this link"), "{:?}", s.notes());
    assert!(s.step_details("tls_handshake").is_empty());
    assert_eq!(r.diagnosis(), "front_reachable", "{}", r.describe());
    assert!(r.has_note("REALITY"), "{:?}", r.notes());
    s.assert_no_secrets();
    r.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn hysteria2_quic_front_answers() {
    let pki = TestPki::new(FRONT);
    let front = QuicFront::start(&pki, true, &[b"h3"]).await;
    let link = format!(
        "hysteria2://{PASSWORD}@127.0.0.1:{}/?sni={FRONT}#hy",
        front.addr.port()
    );
    let s = scan(link, pki.ca_path()).await;
    assert_eq!(s.record["kind"], "hysteria2", "{}", s.describe());
    assert_eq!(s.verdict(), "unverified", "{}", s.describe());
    assert_eq!(s.diagnosis(), "front_reachable", "{}", s.describe());
    assert!(s.has_note("login not verified"), "{:?}", s.notes());
    let quic = s.step_details("quic_handshake");
    assert!(quic[0].contains("alpn=h3"), "{quic:?}");
    assert_eq!(settled(|| front.handshakes(), 1).await, 1);
    s.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn tuic_quic_front_answers() {
    let pki = TestPki::new(FRONT);
    let front = QuicFront::start(&pki, true, &[b"h3"]).await;
    let link = format!(
        "tuic://{UUID}:{PASSWORD}@127.0.0.1:{}?sni={FRONT}&alpn=h3&congestion_control=bbr#tu",
        front.addr.port()
    );
    // disable_sni: no server name sent, the certificate still checked.
    let no_sni = format!(
        "tuic://{UUID}:{PASSWORD}@127.0.0.1:{}?sni={FRONT}&disable_sni=1",
        front.addr.port()
    );
    let (s, n) = tokio::join!(scan(link, pki.ca_path()), scan(no_sni, pki.ca_path()));
    assert_eq!(s.record["kind"], "tuic", "{}", s.describe());
    assert_eq!(s.verdict(), "unverified", "{}", s.describe());
    assert_eq!(s.diagnosis(), "front_reachable", "{}", s.describe());
    assert_eq!(n.diagnosis(), "front_reachable", "{}", n.describe());
    assert!(!n.step_details("quic_handshake")[0].contains("sni="));
    assert_eq!(settled(|| front.handshakes(), 2).await, 2);
    s.assert_no_secrets();
    n.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn quic_alpn_mismatch_and_untrusted_certificate() {
    let pki = TestPki::new(FRONT);
    let other = QuicFront::start(&pki, true, &[b"hq-interop"]).await;
    let alpn = format!(
        "tuic://{UUID}:{PASSWORD}@127.0.0.1:{}?sni={FRONT}&alpn=h3",
        other.addr.port()
    );
    // A certificate from a CA the client does not trust.
    let front = QuicFront::start(&pki, false, &[b"h3"]).await;
    let cert = format!(
        "hy2://{PASSWORD}@127.0.0.1:{}?sni={FRONT}",
        front.addr.port()
    );
    // A trusted certificate for another name than the link's sni.
    let good = QuicFront::start(&pki, true, &[b"h3"]).await;
    let name = format!(
        "hy2://{PASSWORD}@127.0.0.1:{}?sni=elsewhere.test",
        good.addr.port()
    );
    let (a, c, n) = tokio::join!(
        scan(alpn, pki.ca_path()),
        scan(cert, pki.ca_path()),
        scan(name, pki.ca_path())
    );
    assert_eq!(a.diagnosis(), "bad_response", "{}", a.describe());
    assert_eq!(a.failure(), "ssl_failed_handshake", "{}", a.describe());
    assert_eq!(a.failed_operation(), "quic_handshake");
    assert_eq!(c.diagnosis(), "certificate_invalid", "{}", c.describe());
    assert_eq!(c.failure(), "ssl_unknown_authority", "{}", c.describe());
    assert_eq!(n.diagnosis(), "certificate_invalid", "{}", n.describe());
    assert_eq!(n.failure(), "ssl_invalid_hostname", "{}", n.describe());
    for s in [a, c, n] {
        s.assert_no_secrets();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hysteria2_to_a_closed_udp_port_is_port_unreachable() {
    let pki = TestPki::new(FRONT);
    let port = closed_udp_port();
    let link = format!("hysteria2://{PASSWORD}@127.0.0.1:{port}/?sni={FRONT}");
    let s = scan(link, pki.ca_path()).await;
    // Loopback answers with ICMP port unreachable; the probe's connected
    // UDP socket sees it at once instead of waiting out the 2 s timeout.
    assert_eq!(s.verdict(), "failed", "{}", s.describe());
    assert_eq!(s.diagnosis(), "port_unreachable", "{}", s.describe());
    assert_eq!(s.failure(), "connection_refused", "{}", s.describe());
    assert_eq!(s.failed_operation(), "quic_handshake");
    // quinn would notice only at its first retransmission (~1 s).
    let runtime = s.record["runtime"].as_f64().unwrap_or(f64::MAX);
    assert!(runtime < 0.5, "{}", s.describe());
    s.assert_no_secrets();
}

/// A firewall's REJECT with ICMP host unreachable: the QUIC socket asks
/// for every ICMP error, so this is reported as such at once rather than
/// waited out as silence.
#[test]
fn hysteria2_host_unreachable_is_seen_at_once() {
    let Some(lab) = vpnlab::VpnLab::start(module_path!()) else {
        return;
    };
    lab.block(&vpnlab::Block::IcmpHostUnreachableUdp(443));
    let link = format!("hysteria2://{PASSWORD}@{}:443/?sni={FRONT}", lab.server_ip);
    let s = lab.scan_jsonl(&[link], "2", SCAN_DEADLINE);
    assert_eq!(s.records.len(), 1, "{}", s.dump);
    let r = &s.records[0];
    assert_eq!(r["verdict"], "failed", "{}", s.dump);
    assert_eq!(r["diagnosis"], "host_unreachable", "{}", s.dump);
    assert_eq!(r["failure"], "host_unreachable", "{}", s.dump);
    assert_eq!(r["failed_operation"], "quic_handshake", "{}", s.dump);
    let runtime = r["runtime"].as_f64().unwrap_or(f64::MAX);
    assert!(runtime < 1.0, "{}", s.dump);
    s.assert_absent(&[PASSWORD.to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn hysteria2_salamander_is_unsupported_and_sends_nothing() {
    let pki = TestPki::new(FRONT);
    let listener = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind UDP");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("UDP address").port();
    let link = format!(
        "hysteria2://{PASSWORD}@127.0.0.1:{port}/?sni={FRONT}&obfs=salamander\
         &obfs-password={OBFS_PASSWORD}"
    );
    let s = scan(link, pki.ca_path()).await;
    assert_eq!(s.verdict(), "failed", "{}", s.describe());
    assert_eq!(s.diagnosis(), "not_testable", "{}", s.describe());
    assert!(s.has_note("salamander"), "{:?}", s.notes());
    let mut buf = [0u8; 2048];
    assert!(
        listener.recv(&mut buf).is_err(),
        "a datagram was sent to a salamander server"
    );
    s.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread")]
async fn hysteria2_to_a_silent_udp_port_times_out() {
    let pki = TestPki::new(FRONT);
    // Bound but never read: datagrams vanish as if UDP were dropped.
    let silent = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind UDP");
    let port = silent.local_addr().expect("UDP address").port();
    let link = format!("hysteria2://{PASSWORD}@127.0.0.1:{port}/?sni={FRONT}");
    let s = scan(link, pki.ca_path()).await;
    drop(silent);
    assert_eq!(s.verdict(), "failed", "{}", s.describe());
    assert_eq!(s.diagnosis(), "timeout", "{}", s.describe());
    assert_eq!(s.failure(), "generic_timeout_error", "{}", s.describe());
    assert_eq!(s.failed_operation(), "quic_handshake");
    s.assert_no_secrets();
}
