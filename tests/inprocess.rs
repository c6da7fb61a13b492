//! End-to-end tests of the DoH/DoT probes against the in-process test
//! server in `common::inproc`: one server per fault mode, all on loopback.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use bridgescout::catalog::{Endpoint, Target};
use bridgescout::engine::{EngineConfig, run_all};
use bridgescout::measurement::{
    Diagnosis, Failure, Measurement, Operation, SCHEMA_VERSION, Verdict,
};
use bridgescout::probe::ProbeConfig;
use bridgescout::probe::tls::tbs_sha256;

use common::inproc::{
    DEFAULT_HOST, DEFAULT_PROBE_NAME, DOH_PATH, Fault, LYING_ANSWER, PROBE_ANSWER, TestPki,
    TestServer, closed_port, doh_endpoint,
};

const STEP_TIMEOUT: Duration = Duration::from_secs(1);
/// No single test may take longer than this, whatever the probe does.
const TEST_LIMIT: Duration = Duration::from_secs(60);

fn engine_config(pki: &TestPki, concurrency: usize) -> EngineConfig {
    EngineConfig {
        concurrency,
        probe: ProbeConfig {
            step_timeout: STEP_TIMEOUT,
            probe_name: DEFAULT_PROBE_NAME.to_string(),
            tls: pki.tls_settings(),
            // `doh.test` must not go to the system resolver; the bootstrap
            // address (127.0.0.1) is the only way in.
            system_resolver: false,
            ..ProbeConfig::default()
        },
    }
}

async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_LIMIT, fut)
        .await
        .expect("test exceeded its time limit")
}

async fn measure(pki: &TestPki, endpoint: Endpoint) -> Measurement {
    let mut all = bounded(run_all(vec![endpoint], engine_config(pki, 4))).await;
    assert_eq!(all.len(), 1, "one endpoint, one measurement: {all:#?}");
    all.remove(0)
}

fn ops(m: &Measurement) -> Vec<Operation> {
    m.steps.iter().map(|s| s.operation).collect()
}

fn has_step(m: &Measurement, op: Operation) -> bool {
    m.steps.iter().any(|s| s.operation == op)
}

/// Asserts a working resolver: reachable, `ok`, the full chain of steps
/// without failures, and a latency.
fn assert_reachable(m: &Measurement, exchange_op: Operation) {
    assert_eq!(m.verdict, Verdict::Reachable, "{m:#?}");
    assert_eq!(m.diagnosis, Diagnosis::Ok, "{m:#?}");
    assert_eq!(m.failure, None, "{m:#?}");
    assert_eq!(m.failed_operation, None, "{m:#?}");
    for op in [Operation::TcpConnect, Operation::TlsHandshake, exchange_op] {
        assert!(has_step(m, op), "missing step {op}: {:?}\n{m:#?}", ops(m));
    }
    for s in &m.steps {
        assert_eq!(
            s.failure, None,
            "step failed in a working measurement: {s:#?}"
        );
        assert!(s.t >= s.t0, "step ends before it starts: {s:#?}");
    }
    let latency = m.latency_ms.unwrap_or_else(|| panic!("no latency: {m:#?}"));
    assert!(
        latency > 0.0 && latency < 1000.0 * STEP_TIMEOUT.as_secs_f64(),
        "latency {latency}"
    );
    assert_eq!(m.schema_version, SCHEMA_VERSION);
}

fn assert_failed(m: &Measurement, diagnosis: Diagnosis) {
    assert_eq!(m.verdict, Verdict::Failed, "{m:#?}");
    assert_eq!(m.diagnosis, diagnosis, "{m:#?}");
    assert!(
        m.failure.is_some(),
        "a failed measurement names its failure: {m:#?}"
    );
    assert!(m.failed_operation.is_some(), "{m:#?}");
    assert_eq!(m.latency_ms, None, "no latency for a failure: {m:#?}");
}

// ------------------------------------------------------------ server checks
//
// These talk to the test server with plain clients, not bridgescout, so a
// failure here is the server's fault and not the probe's.

fn client_tls(pki: &TestPki, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der().clone()).expect("add test CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn query(name: &str, id: u16) -> Vec<u8> {
    let mut n = Name::from_ascii(name).unwrap();
    n.set_fqdn(true);
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(n, RecordType::A));
    m.to_vec().unwrap()
}

fn a_records(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

async fn dot_ask(tls: &mut tokio_rustls::client::TlsStream<TcpStream>, wire: &[u8]) -> Message {
    let mut frame = (wire.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(wire);
    tls.write_all(&frame).await.unwrap();
    tls.flush().await.unwrap();
    let mut len = [0u8; 2];
    tls.read_exact(&mut len).await.unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    tls.read_exact(&mut buf).await.unwrap();
    Message::from_vec(&buf).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn server_self_check_dot() {
    bounded(async {
        let pki = TestPki::new(DEFAULT_HOST);
        let server = TestServer::start(&pki, Fault::Normal).await;
        let tcp = TcpStream::connect(server.dot_addr()).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from(DEFAULT_HOST).unwrap();
        let mut tls = client_tls(&pki, &[b"dot"])
            .connect(name, tcp)
            .await
            .unwrap();
        let answer = dot_ask(&mut tls, &query(DEFAULT_PROBE_NAME, 0x1234)).await;
        assert_eq!(answer.metadata.id, 0x1234);
        assert_eq!(answer.metadata.message_type, MessageType::Response);
        assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
        assert_eq!(a_records(&answer), vec![PROBE_ANSWER.to_string()]);
        // Pipelined second query on the same connection: NXDOMAIN.
        let nx = dot_ask(&mut tls, &query("nope.probe.test", 7)).await;
        assert_eq!(nx.metadata.id, 7);
        assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
        assert!(nx.answers.is_empty());
        let stats = server.stats();
        assert_eq!(stats.dot_queries, 2, "{stats:?}");
        assert_eq!(
            stats.names,
            vec!["probe.test", "nope.probe.test"],
            "{stats:?}"
        );

        // Lying and wrong-ID servers misbehave as advertised.
        let liar = TestServer::start(&pki, Fault::Lying).await;
        let tcp = TcpStream::connect(liar.dot_addr()).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from(DEFAULT_HOST).unwrap();
        let mut tls = client_tls(&pki, &[]).connect(name, tcp).await.unwrap();
        let lie = dot_ask(&mut tls, &query("nope.probe.test", 9)).await;
        assert_eq!(lie.metadata.response_code, ResponseCode::NoError);
        assert_eq!(a_records(&lie), vec![LYING_ANSWER.to_string()]);

        let wrong = TestServer::start(&pki, Fault::WrongId).await;
        let tcp = TcpStream::connect(wrong.dot_addr()).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from(DEFAULT_HOST).unwrap();
        let mut tls = client_tls(&pki, &[]).connect(name, tcp).await.unwrap();
        let bad = dot_ask(&mut tls, &query(DEFAULT_PROBE_NAME, 9)).await;
        assert_ne!(bad.metadata.id, 9);
        assert_eq!(a_records(&bad), vec![PROBE_ANSWER.to_string()]);
    })
    .await;
}

/// Sends one DoH request over h2 or HTTP/1.1 and returns (status, body).
async fn doh_ask(
    pki: &TestPki,
    server: &TestServer,
    alpn: &[&[u8]],
    get: bool,
    wire: &[u8],
) -> (http::Version, u16, Vec<u8>) {
    let tcp = TcpStream::connect(server.doh_addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from(DEFAULT_HOST).unwrap();
    let tls = client_tls(pki, alpn).connect(name, tcp).await.unwrap();
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let authority = format!("{DEFAULT_HOST}:{}", server.doh_port());
    let path = if get {
        format!(
            "{DOH_PATH}?dns={}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(wire)
        )
    } else {
        DOH_PATH.to_string()
    };
    let mut req = http::Request::builder()
        .method(if get { "GET" } else { "POST" })
        .header("accept", "application/dns-message");
    if !get {
        req = req.header("content-type", "application/dns-message");
    }
    let body = if get {
        Bytes::new()
    } else {
        Bytes::from(wire.to_vec())
    };
    let io = TokioIo::new(tls);
    if h2 {
        let req = req
            .uri(format!("https://{authority}{path}"))
            .body(Full::new(body))
            .unwrap();
        let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        let driver = tokio::spawn(conn);
        let resp = send.send_request(req).await.unwrap();
        let version = resp.version();
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        driver.abort();
        (version, status, body)
    } else {
        let req = req
            .uri(path)
            .header("host", authority)
            .body(Full::new(body))
            .unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        let driver = tokio::spawn(conn);
        let resp = send.send_request(req).await.unwrap();
        let version = resp.version();
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        driver.abort();
        (version, status, body)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_self_check_doh() {
    bounded(async {
        let pki = TestPki::new(DEFAULT_HOST);
        let server = TestServer::start(&pki, Fault::Normal).await;
        for (alpn, want) in [
            (&[b"h2".as_slice(), b"http/1.1"][..], http::Version::HTTP_2),
            (&[b"http/1.1".as_slice()][..], http::Version::HTTP_11),
        ] {
            for get in [false, true] {
                let (version, status, body) =
                    doh_ask(&pki, &server, alpn, get, &query(DEFAULT_PROBE_NAME, 0)).await;
                assert_eq!((version, status), (want, 200), "get={get}");
                let m = Message::from_vec(&body).unwrap();
                assert_eq!(a_records(&m), vec![PROBE_ANSWER.to_string()]);
                let (_, status, body) =
                    doh_ask(&pki, &server, alpn, get, &query("x.probe.test", 0)).await;
                assert_eq!(status, 200);
                let m = Message::from_vec(&body).unwrap();
                assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
            }
        }
        let stats = server.stats();
        assert_eq!((stats.doh_get, stats.doh_post), (4, 4), "{stats:?}");
        assert_eq!(
            (stats.http1_requests, stats.http2_requests),
            (4, 4),
            "{stats:?}"
        );

        // HTTP/1.1-only server negotiates http/1.1 even when h2 is offered.
        let h1 = TestServer::start(&pki, Fault::Http1Only).await;
        let (version, status, _) = doh_ask(
            &pki,
            &h1,
            &[b"h2", b"http/1.1"],
            false,
            &query(DEFAULT_PROBE_NAME, 0),
        )
        .await;
        assert_eq!((version, status), (http::Version::HTTP_11, 200));

        let e500 = TestServer::start(&pki, Fault::Http500).await;
        let (_, status, _) =
            doh_ask(&pki, &e500, &[b"h2"], false, &query(DEFAULT_PROBE_NAME, 0)).await;
        assert_eq!(status, 500);

        let junk = TestServer::start(&pki, Fault::Garbage).await;
        let (_, status, body) =
            doh_ask(&pki, &junk, &[b"h2"], true, &query(DEFAULT_PROBE_NAME, 0)).await;
        assert_eq!(status, 200);
        assert!(Message::from_vec(&body).is_err(), "garbage parsed as DNS");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_stops_when_dropped() {
    bounded(async {
        let pki = TestPki::new(DEFAULT_HOST);
        let server = TestServer::start(&pki, Fault::SilentAccept).await;
        let addr = server.doh_addr();
        let held = TcpStream::connect(addr).await.unwrap();
        drop(server);
        // The listener closes once the accept task has been aborted.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                _ if Instant::now() > deadline => panic!("listener still open after drop"),
                _ => tokio::task::yield_now().await,
            }
        }
        // And the connection it held was closed, not leaked.
        let mut held = held;
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), held.read(&mut buf))
            .await
            .expect("held connection not closed by server drop");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    })
    .await;
}

// ------------------------------------------------------------ probe: working

#[tokio::test(flavor = "multi_thread")]
async fn doh_h2_normal_is_reachable() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let m = measure(&pki, server.doh_endpoint()).await;
    assert_reachable(&m, Operation::HttpRoundTrip);
    assert!(
        !m.notes.iter().any(|n| n.contains("HTTP/1.1")),
        "h2 server noted as HTTP/1.1: {:?}",
        m.notes
    );
    let stats = server.stats();
    assert!(
        stats.http2_requests >= 2,
        "probe did not use HTTP/2: {stats:?}"
    );
    assert_eq!(stats.http1_requests, 0, "{stats:?}");
    assert!(
        stats.names.iter().any(|n| n == DEFAULT_PROBE_NAME),
        "{stats:?}"
    );
    assert!(
        stats
            .names
            .iter()
            .any(|n| n != DEFAULT_PROBE_NAME && n.ends_with(DEFAULT_PROBE_NAME)),
        "no nonexistent-name check reached the server: {stats:?}"
    );
    // The bootstrap address is recorded as where the address came from.
    let resolve = m.steps.iter().find(|s| s.operation == Operation::Resolve);
    if let Some(r) = resolve {
        assert!(r.addresses.contains(&"127.0.0.1".to_string()), "{r:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn doh_http1_only_is_reachable_with_note() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Http1Only).await;
    let m = measure(&pki, server.doh_endpoint()).await;
    assert_reachable(&m, Operation::HttpRoundTrip);
    assert!(
        m.notes.iter().any(|n| n.contains("HTTP/1.1")),
        "no HTTP/1.1 note: {:?}",
        m.notes
    );
    let stats = server.stats();
    assert!(stats.http1_requests >= 2, "{stats:?}");
    assert_eq!(stats.http2_requests, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn doh_http1_connection_close_reconnects() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Http1Close).await;
    let m = measure(&pki, server.doh_endpoint()).await;
    assert_reachable(&m, Operation::HttpRoundTrip);
    assert!(
        m.notes.iter().any(|n| n.contains("closes")),
        "no reconnect note: {:?}",
        m.notes
    );
    // Each answer came on its own connection: one TLS handshake each.
    let stats = server.stats();
    assert!(stats.http1_requests >= 2, "{stats:?}");
    let tls = m
        .steps
        .iter()
        .filter(|s| s.operation == Operation::TlsHandshake && s.failure.is_none())
        .count();
    assert!(
        tls >= 2,
        "expected a new TLS handshake per answer: {:?}",
        ops(&m)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dot_normal_is_reachable() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let m = measure(&pki, server.dot_endpoint()).await;
    assert_reachable(&m, Operation::DnsRoundTrip);
    assert!(!has_step(&m, Operation::HttpRoundTrip), "{:?}", ops(&m));
    let stats = server.stats();
    assert!(stats.dot_queries >= 2, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn right_pin_is_reachable() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let pin = tbs_sha256(server.cert_der().as_ref()).expect("hash server certificate");
    let mut ep = server.doh_endpoint();
    let Target::Doh(r) = &mut ep.target else {
        unreachable!()
    };
    r.pins = vec![[0u8; 32], pin];
    let m = measure(&pki, ep).await;
    assert_reachable(&m, Operation::HttpRoundTrip);
}

// ------------------------------------------------------------ probe: failing

#[tokio::test(flavor = "multi_thread")]
async fn wrong_pin_is_certificate_invalid() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let right = tbs_sha256(server.cert_der().as_ref()).unwrap();
    let mut wrong = right;
    wrong[0] ^= 0xff;
    for mut ep in [server.doh_endpoint(), server.dot_endpoint()] {
        match &mut ep.target {
            Target::Doh(r) | Target::Dot(r) => r.pins = vec![wrong],
            _ => unreachable!("resolver endpoints only"),
        }
        let m = measure(&pki, ep).await;
        assert_failed(&m, Diagnosis::CertificateInvalid);
        assert_eq!(m.failure, Some(Failure::SslPinMismatch), "{m:#?}");
        assert_eq!(m.failed_operation, Some(Operation::TlsHandshake), "{m:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_server_times_out() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Slow).await;
    for (ep, op) in [
        (server.doh_endpoint(), Operation::HttpRoundTrip),
        (server.dot_endpoint(), Operation::DnsRoundTrip),
    ] {
        let m = measure(&pki, ep).await;
        assert_failed(&m, Diagnosis::Timeout);
        assert_eq!(m.failure, Some(Failure::GenericTimeout), "{m:#?}");
        assert_eq!(m.failed_operation, Some(op), "{m:#?}");
        // TLS worked: the timeout is in the exchange, not before it.
        let tls = m
            .steps
            .iter()
            .find(|s| s.operation == Operation::TlsHandshake);
        assert!(tls.is_some_and(|s| s.failure.is_none()), "{m:#?}");
    }
    assert_eq!(server.stats().answers_sent, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_is_bad_response() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Garbage).await;
    for (ep, op) in [
        (server.doh_endpoint(), Operation::HttpRoundTrip),
        (server.dot_endpoint(), Operation::DnsRoundTrip),
    ] {
        let m = measure(&pki, ep).await;
        assert_failed(&m, Diagnosis::BadResponse);
        assert_eq!(m.failed_operation, Some(op), "{m:#?}");
        assert_eq!(m.failure, Some(Failure::DnsServerMisbehaving), "{m:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_id_is_bad_response() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::WrongId).await;
    for ep in [server.doh_endpoint(), server.dot_endpoint()] {
        let m = measure(&pki, ep).await;
        assert_failed(&m, Diagnosis::BadResponse);
        assert_eq!(m.failure, Some(Failure::DnsWrongQueryId), "{m:#?}");
        assert_eq!(
            m.failure.as_ref().map(|f| f.to_string()).as_deref(),
            Some("dns_reply_with_wrong_query_id")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_ca_is_certificate_invalid() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::WrongCertUnknownCa).await;
    for ep in [server.doh_endpoint(), server.dot_endpoint()] {
        let m = measure(&pki, ep).await;
        assert_failed(&m, Diagnosis::CertificateInvalid);
        assert_eq!(m.failure, Some(Failure::SslUnknownAuthority), "{m:#?}");
        assert_eq!(m.failed_operation, Some(Operation::TlsHandshake), "{m:#?}");
        assert_eq!(m.failure.unwrap().to_string(), "ssl_unknown_authority");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_hostname_is_certificate_invalid() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::WrongCertHostname).await;
    for ep in [server.doh_endpoint(), server.dot_endpoint()] {
        let m = measure(&pki, ep).await;
        assert_failed(&m, Diagnosis::CertificateInvalid);
        assert_eq!(m.failure, Some(Failure::SslInvalidHostname), "{m:#?}");
        assert_eq!(m.failed_operation, Some(Operation::TlsHandshake), "{m:#?}");
        assert_eq!(m.failure.unwrap().to_string(), "ssl_invalid_hostname");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn http_500_is_http_error() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Http500).await;
    let m = measure(&pki, server.doh_endpoint()).await;
    assert_failed(&m, Diagnosis::HttpError);
    assert_eq!(m.failure, Some(Failure::HttpUnexpectedStatusCode), "{m:#?}");
    assert_eq!(m.failed_operation, Some(Operation::HttpRoundTrip), "{m:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn lying_resolver_is_caught() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Lying).await;
    for ep in [server.doh_endpoint(), server.dot_endpoint()] {
        let m = measure(&pki, ep).await;
        assert_failed(&m, Diagnosis::LyingResolver);
    }
    // The probe name itself was answered correctly; only the made-up one lied.
    let stats = server.stats();
    assert!(
        stats.names.iter().any(|n| n == DEFAULT_PROBE_NAME),
        "{stats:?}"
    );
    assert!(
        stats.names.iter().any(|n| n != DEFAULT_PROBE_NAME),
        "the nonexistent name was never asked: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_body_is_bad_response_and_read_is_bounded() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Huge).await;
    let body_size = common::inproc::DEFAULT_HUGE_BYTES;
    let m = measure(&pki, server.doh_endpoint()).await;
    assert_failed(&m, Diagnosis::BadResponse);
    assert_eq!(m.failed_operation, Some(Operation::HttpRoundTrip), "{m:#?}");
    // Let the server notice the client went away, then look at the count.
    server.wait_idle(Duration::from_secs(5)).await;
    let stats = server.stats();
    eprintln!(
        "huge body: server produced {} of {body_size} bytes",
        stats.huge_bytes_sent
    );
    assert!(
        stats.huge_bytes_sent > 0,
        "huge body never started: {stats:?}"
    );
    assert_eq!(
        stats.huge_bodies_completed, 0,
        "client read all of it: {stats:?}"
    );
    // Flow-control windows and socket buffers allow a few MB in flight; a
    // client that read the body whole would have pulled all 50 MiB.
    assert!(
        stats.huge_bytes_sent < body_size / 4,
        "server sent {} of {body_size} bytes: the client did not stop early",
        stats.huge_bytes_sent
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_accept_times_out_in_tls() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::SilentAccept).await;
    for ep in [server.doh_endpoint(), server.dot_endpoint()] {
        let m = measure(&pki, ep).await;
        assert_failed(&m, Diagnosis::Timeout);
        assert_eq!(m.failure, Some(Failure::GenericTimeout), "{m:#?}");
        assert_eq!(m.failed_operation, Some(Operation::TlsHandshake), "{m:#?}");
        let tls = m
            .steps
            .iter()
            .find(|s| s.operation == Operation::TlsHandshake)
            .unwrap_or_else(|| panic!("no TLS step: {m:#?}"));
        assert_eq!(tls.failure, Some(Failure::GenericTimeout), "{tls:#?}");
        assert_eq!(
            tls.failure.as_ref().unwrap().to_string(),
            "generic_timeout_error"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_after_accept_is_connection_reset() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::ResetAfterAccept).await;
    for ep in [server.doh_endpoint(), server.dot_endpoint()] {
        let m = measure(&pki, ep).await;
        assert_failed(&m, Diagnosis::ConnectionReset);
        assert_eq!(m.failed_operation, Some(Operation::TlsHandshake), "{m:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_port_is_connection_refused() {
    let pki = TestPki::new(DEFAULT_HOST);
    let port = closed_port();
    let m = measure(&pki, doh_endpoint(DEFAULT_HOST, port, "closed")).await;
    assert_failed(&m, Diagnosis::ConnectionRefused);
    assert_eq!(m.failure, Some(Failure::ConnectionRefused), "{m:#?}");
    assert_eq!(m.failed_operation, Some(Operation::TcpConnect), "{m:#?}");
}

// ------------------------------------------------------------ engine

#[tokio::test(flavor = "multi_thread")]
async fn hundred_endpoints_run_concurrently() {
    let pki = TestPki::new(DEFAULT_HOST);
    let silent = TestServer::start(&pki, Fault::SilentAccept).await;
    let normal = TestServer::start(&pki, Fault::Normal).await;
    let mut endpoints = Vec::new();
    for i in 0..50 {
        let mut s = silent.doh_endpoint();
        s.label = format!("silent-{i}");
        endpoints.push(s);
        let mut n = normal.doh_endpoint();
        n.label = format!("normal-{i}");
        endpoints.push(n);
    }
    let started = Instant::now();
    let results = bounded(run_all(endpoints, engine_config(&pki, 100))).await;
    let elapsed = started.elapsed();
    eprintln!("100 endpoints (50 silent) took {elapsed:?}");
    assert_eq!(results.len(), 100);
    for m in &results {
        if m.endpoint.label.starts_with("normal-") {
            assert_eq!(m.verdict, Verdict::Reachable, "{m:#?}");
        } else {
            assert_eq!(m.verdict, Verdict::Failed, "{m:#?}");
            assert_eq!(m.diagnosis, Diagnosis::Timeout, "{m:#?}");
        }
    }
    // Serially the 50 silent ones alone would take >= 50 step timeouts.
    let bound = STEP_TIMEOUT * 10;
    assert!(elapsed < bound, "scan took {elapsed:?}, bound {bound:?}");
}

// ------------------------------------------------------------ serialization

#[tokio::test(flavor = "multi_thread")]
async fn measurement_json_round_trip() {
    let pki = TestPki::new(DEFAULT_HOST);
    let good = TestServer::start(&pki, Fault::Http1Only).await;
    let bad = TestServer::start(&pki, Fault::WrongCertUnknownCa).await;
    let mut all = bounded(run_all(
        vec![good.doh_endpoint(), bad.dot_endpoint()],
        engine_config(&pki, 4),
    ))
    .await;
    assert_eq!(all.len(), 2);
    // A latency whose shortest decimal form serde_json's default (fast,
    // inexact) float parser reads back one ULP off. Latencies are computed
    // as `secs_f64 * 1000.0`, full 17-digit values, and about one in nine
    // of those fails that way, so the round trip is pinned with one here.
    let mut tricky = all[0].clone();
    tricky.latency_ms = Some(1.910_227_395_386_926_2);
    all.push(tricky);
    for m in &all {
        let json = serde_json::to_string(m).unwrap();
        let back: Measurement = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, m, "round trip changed the measurement:\n{json}");
        // Stable top-level names.
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        for key in [
            "schema_version",
            "kind",
            "label",
            "address",
            "origin",
            "steps",
            "verdict",
            "diagnosis",
        ] {
            assert!(v.get(key).is_some(), "missing {key} in {json}");
        }
    }
    assert_eq!(all[1].diagnosis, Diagnosis::CertificateInvalid);
    let v: serde_json::Value = serde_json::to_value(&all[1]).unwrap();
    assert_eq!(v["failure"], "ssl_unknown_authority");
    assert_eq!(v["diagnosis"], "certificate_invalid");
    assert_eq!(v["kind"], "dot");
}

/// A plain-DNS responder on `ip:53` that answers every A query with
/// `answer`. Needs root (port 53); CI runs as root.
async fn udp_responder(
    ip: std::net::Ipv4Addr,
    answer: std::net::Ipv4Addr,
) -> tokio::task::JoinHandle<()> {
    let socket = tokio::net::UdpSocket::bind((ip, 53))
        .await
        .expect("bind UDP port 53 on a loopback address (tests run as root)");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        // Bounded: the task is aborted by the test when done.
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut r = Message::response(q.metadata.id, OpCode::Query);
            if let Some(query) = q.queries.first() {
                r.add_query(query.clone());
                r.add_answer(hickory_proto::rr::Record::from_rdata(
                    query.name().clone(),
                    60,
                    RData::A(hickory_proto::rr::rdata::A(answer)),
                ));
            }
            let _ = socket.send_to(&r.to_vec().expect("encode"), peer).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn stamp_bootstrap_resolver_finds_the_server() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let ns = std::net::Ipv4Addr::new(127, 83, 0, 1);
    let responder = udp_responder(ns, std::net::Ipv4Addr::LOCALHOST).await;
    let mut ep = server.dot_endpoint();
    if let Target::Dot(r) = &mut ep.target {
        // No known address: the plain-DNS lookup is the only way in.
        r.bootstrap.clear();
        r.bootstrap_resolvers = vec![ns.into()];
    }
    let m = measure(&pki, ep).await;
    responder.abort();
    assert_eq!(m.verdict, Verdict::Reachable, "{m:#?}");
    assert_eq!(m.diagnosis, Diagnosis::Ok);
    let lookup = m
        .steps
        .iter()
        .find(|s| s.operation == Operation::Resolve)
        .expect("a resolve step");
    assert_eq!(lookup.detail.as_deref(), Some("udp 127.83.0.1:53"));
    assert_eq!(lookup.addresses, vec!["127.0.0.1".to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_answer_from_bootstrap_resolver_is_dns_poisoned() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let ns = std::net::Ipv4Addr::new(127, 83, 0, 2);
    // Points the host at an address where nothing listens.
    let responder = udp_responder(ns, std::net::Ipv4Addr::new(127, 83, 0, 99)).await;
    let mut ep = server.doh_endpoint();
    if let Target::Doh(r) = &mut ep.target {
        r.bootstrap_resolvers = vec![ns.into()];
    }
    let m = measure(&pki, ep).await;
    responder.abort();
    assert_eq!(m.verdict, Verdict::Reachable, "{m:#?}");
    assert_eq!(m.diagnosis, Diagnosis::DnsPoisoned, "{m:#?}");
    assert!(
        m.steps.iter().any(|s| s.operation == Operation::TcpConnect
            && s.target.as_deref() == Some(&format!("127.83.0.99:{}", server.doh_port()))
            && s.failure == Some(Failure::ConnectionRefused)),
        "the poisoned address was tried and refused: {m:#?}"
    );
}
