//! Control checks against loopback servers: a DNS responder on a UDP
//! socket, the in-process TLS server, closed ports and silent listeners.
//! Nothing leaves the machine.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bridgescout::controls::{self, Answered, Control, ControlConfig, Reading, Scope};
use bridgescout::measurement::Failure;
use common::inproc::{Fault, TestPki, TestServer, closed_port};
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use tokio::net::UdpSocket;

/// How the UDP responder behaves.
#[derive(Clone, Copy)]
enum Dns {
    /// A wrong-ID reply first (must be ignored), then the right answer.
    WrongIdThenAnswer,
    /// SERVFAIL, as a router with a dead line behind it says.
    ServFail,
    /// Reads and never answers.
    Silent,
}

async fn dns_server(mode: Dns) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind UDP");
    let addr = socket.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let reply = |id: u16, rcode: ResponseCode| {
                let mut msg = Message::response(id, OpCode::Query);
                msg.metadata.response_code = rcode;
                msg.metadata.recursion_available = true;
                for q in &query.queries {
                    msg.add_query(q.clone());
                    if rcode == ResponseCode::NoError {
                        msg.add_answer(Record::from_rdata(
                            q.name().clone(),
                            60,
                            RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
                        ));
                    }
                }
                msg.to_vec().expect("encode reply")
            };
            let id = query.metadata.id;
            match mode {
                Dns::WrongIdThenAnswer => {
                    let _ = socket
                        .send_to(&reply(id.wrapping_add(1), ResponseCode::NoError), peer)
                        .await;
                    let _ = socket
                        .send_to(&reply(id, ResponseCode::NoError), peer)
                        .await;
                }
                Dns::ServFail => {
                    let _ = socket
                        .send_to(&reply(id, ResponseCode::ServFail), peer)
                        .await;
                }
                Dns::Silent => {}
            }
        }
    });
    (addr, task)
}

fn config(timeout_ms: u64) -> ControlConfig {
    ControlConfig {
        step_timeout: Duration::from_millis(timeout_ms),
        query_name: "probe.test".into(),
        ..ControlConfig::default()
    }
}

#[tokio::test]
async fn dns_control_checks_id_and_question() {
    let (addr, _server) = dns_server(Dns::WrongIdThenAnswer).await;
    let c = Control::dns(Scope::Domestic, addr);
    let r = controls::check(&c, &config(2000)).await;
    assert!(r.ok, "{r:?}");
    assert!(r.latency_ms.is_some_and(|l| l >= 0.0));
    assert!(
        r.detail.as_deref().is_some_and(|d| d.contains("192.0.2.1")),
        "{r:?}"
    );

    // A loopback (or LAN) resolver that cannot resolve proves nothing
    // beyond this machine.
    let (addr, _server) = dns_server(Dns::ServFail).await;
    let r = controls::check(&Control::dns(Scope::Domestic, addr), &config(2000)).await;
    assert!(!r.ok);
    assert_eq!(r.failure, Some(Failure::DnsServfail));
    assert_eq!(r.answered(), Answered::Silent);

    let (addr, _server) = dns_server(Dns::Silent).await;
    let r = controls::check(&Control::dns(Scope::Domestic, addr), &config(300)).await;
    assert_eq!(r.failure, Some(Failure::GenericTimeout));
}

#[tokio::test]
async fn dns_control_to_a_closed_udp_port_is_refused() {
    // Bound then released: the kernel answers with ICMP port unreachable.
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let addr = socket.local_addr().expect("addr");
    drop(socket);
    let r = controls::check(&Control::dns(Scope::Domestic, addr), &config(1000)).await;
    assert!(!r.ok);
    assert_eq!(r.failure, Some(Failure::ConnectionRefused), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_and_tcp_controls() {
    // A certificate for the IP literal: no name lookup anywhere.
    let pki = TestPki::new("127.0.0.1");
    let server = TestServer::start(&pki, Fault::Normal).await;
    let port = server.dot_port();
    let trusted = ControlConfig {
        tls: pki.tls_settings(),
        ..config(2000)
    };
    let tls: Control = format!("foreign=tls:127.0.0.1:{port}")
        .parse()
        .expect("spec");
    let r = controls::check(&tls, &trusted).await;
    assert!(r.ok, "{r:?}");
    assert!(
        r.detail.as_deref().is_some_and(|d| d.starts_with("TLS")),
        "{r:?}"
    );

    // The same server without its CA: intercepted, not silent.
    let r = controls::check(&tls, &config(2000)).await;
    assert_eq!(r.failure, Some(Failure::SslUnknownAuthority), "{r:?}");
    assert_eq!(r.answered(), Answered::Interfered);

    let tcp: Control = format!("tcp:127.0.0.1:{port}").parse().expect("spec");
    assert!(controls::check(&tcp, &config(2000)).await.ok);

    let closed: Control = format!("tcp:127.0.0.1:{}", closed_port())
        .parse()
        .expect("spec");
    let r = controls::check(&closed, &config(2000)).await;
    assert_eq!(r.failure, Some(Failure::ConnectionRefused));

    // TCP works, the handshake never comes back.
    let silent = TestServer::start(&pki, Fault::SilentAccept).await;
    let hang: Control = format!("tls:127.0.0.1:{}", silent.dot_port())
        .parse()
        .expect("spec");
    let r = controls::check(&hang, &config(300)).await;
    assert_eq!(r.failure, Some(Failure::GenericTimeout), "{r:?}");
    assert_eq!(r.answered(), Answered::Silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn run_all_feeds_the_assessment() {
    let (dns, _server) = dns_server(Dns::WrongIdThenAnswer).await;
    let (quiet, _quiet) = dns_server(Dns::Silent).await;
    let domestic = Control::dns(Scope::Domestic, dns);
    // "Foreign" hosts that do not answer: international traffic cut.
    let foreign = Control::dns(Scope::Foreign, quiet);
    let list = vec![domestic.clone(), foreign.clone()];
    let results = controls::run_all(&list, &config(300)).await;
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].control, domestic);
    assert_eq!(
        controls::assess(results.iter().map(|r| (r.control.scope, Some(r)))),
        Some(Reading::InternationalCut)
    );
    // Nothing answers at all: down.
    let results = controls::run_all(std::slice::from_ref(&foreign), &config(300)).await;
    assert_eq!(
        controls::assess(results.iter().map(|r| (r.control.scope, Some(r)))),
        Some(Reading::NetworkDown)
    );
}
