//! Shadowsocks (and Outline): a real AEAD or AEAD-2022 request through the
//! user's server. We open the TCP connection ourselves (so the connect is
//! a recorded, timed step), wrap it in shadowsocks-rust's client stream,
//! and ask the server to relay a DNS-over-TCP query for the probe name to a
//! resolver. Only the user's key can produce a reply that decrypts, so a
//! verified DNS answer proves server, key and method at once.
//!
//! Shadowsocks servers never say "wrong password": they stay silent (or
//! close the connection) by design, so those outcomes are `no_response`
//! with notes, never `auth_failed`.

use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use futures::future::join_all;
use hickory_proto::rr::RecordType;
use shadowsocks::config::{ServerConfig, ServerType};
use shadowsocks::context::Context;
use shadowsocks::crypto::CipherKind;
use shadowsocks::relay::socks5::Address;
use shadowsocks::relay::tcprelay::proxy_stream::ProxyClientStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::dns::{self, SentQuery};
use super::failure::{from_io, scrub};
use super::vpn::{self, FailKind, VpnEvidence};
use super::{ProbeConfig, Recorder};
use crate::catalog::shadowsocks::SsServer;
use crate::catalog::{Endpoint, Target};
use crate::measurement::{Failure, Operation};

pub struct ShadowsocksProbe;

vpn::impl_vpn_probe!(ShadowsocksProbe, probe);

/// Probes `endpoint`, asking the server to relay a DNS query to
/// `config.proxy_target`.
async fn probe(endpoint: &Endpoint, config: &ProbeConfig, rec: &Recorder) -> VpnEvidence {
    let Target::Shadowsocks(server) = &endpoint.target else {
        return unsupported("not a Shadowsocks endpoint", None);
    };
    let server: &SsServer = server;
    if let Some(name) = server.plugin_name() {
        // Only the plugin's name: its options may hold keys, hosts or paths.
        return unsupported(
            "plugin required",
            Some(format!(
                "This server is reached through the SIP003 plugin \"{name}\", which bridgescout \
                 cannot run: it was not tested. Test it in a client that has the plugin."
            )),
        );
    }
    let target = Address::SocketAddress(config.proxy_target);
    let method: CipherKind = match server.method.parse() {
        Ok(m) => m,
        Err(_) => {
            return unsupported(
                "unsupported method",
                Some(format!(
                    "The method {} is not supported by this build.",
                    server.method
                )),
            );
        }
    };
    // The key is checked before any network step, so a bad key in the link
    // never looks like a network problem. The config's address is only a
    // label: the stream it wraps is the one we connect ourselves.
    let svr_cfg = match ServerConfig::new(
        (server.host.clone(), server.port),
        server.password.expose().clone(),
        method,
    ) {
        Ok(c) => c,
        // The crate's message may quote key bytes: say it in our words.
        Err(_) => {
            return unsupported(
                "invalid key",
                Some(format!(
                    "The password in the link is not a valid key for {}.",
                    server.method
                )),
            );
        }
    };
    let addrs = match vpn::resolve_or_evidence(&server.host, server.port, config, rec).await {
        Ok(a) => a,
        Err(e) => return e,
    };

    // All addresses at once; the round trip goes through the first that
    // connects (in resolver order).
    let connects = join_all(
        addrs
            .iter()
            .map(|&addr| super::resolver::connect(addr, config, rec)),
    )
    .await;
    let mut first_failure = None;
    let mut connected = None;
    for (addr, result) in addrs.iter().zip(connects) {
        match result {
            Ok(stream) if connected.is_none() => connected = Some((*addr, stream)),
            Ok(_) => {}
            Err(f) => {
                first_failure.get_or_insert(f);
            }
        }
    }
    let Some((addr, tcp)) = connected else {
        let failure = first_failure.unwrap_or(Failure::GenericTimeout);
        return VpnEvidence::failed(Operation::TcpConnect, failure, FailKind::Transport);
    };

    let query = match dns::build_query(&config.probe_name, RecordType::A, rand::random()) {
        Ok(q) => q,
        Err(f) => {
            return VpnEvidence::failed(Operation::ShadowsocksRoundTrip, f, FailKind::Unsupported);
        }
    };
    let started = rec.begin(Operation::ShadowsocksRoundTrip, Some(addr.to_string()));
    let t0 = Instant::now();
    let outcome = tokio::time::timeout(
        config.step_timeout,
        round_trip(tcp, &svr_cfg, target.clone(), &query),
    )
    .await;
    let elapsed = t0.elapsed();
    let (mut evidence, failure, detail) = judge(outcome, elapsed, &target, &query);
    let silent = matches!(
        evidence.outcome,
        vpn::VpnOutcome::Failed {
            kind: FailKind::NoResponse,
            ..
        }
    );
    if silent && method.is_aead_2022() {
        // SIP022 servers drop requests whose timestamp is off by > 30 s.
        evidence = evidence.with_note(
            "This is a 2022-blake3 server: it also ignores requests when this computer's clock \
             is more than 30 seconds off. Check the date and time here.",
        );
    }
    rec.finish(started, failure, detail, Vec::new());
    evidence
}

/// What came back through the proxy.
#[derive(Debug)]
enum Exchange {
    /// A reply decrypted with the user's key and parsed as DNS: the answer
    /// (or why it does not match our query).
    Reply(Result<dns::Answer, Failure>),
    /// The read failed after `received` bytes arrived from the server.
    Failed { err: io::Error, received: usize },
}

async fn round_trip(
    tcp: TcpStream,
    svr_cfg: &ServerConfig,
    target: Address,
    query: &SentQuery,
) -> Exchange {
    let context = Context::new_shared(ServerType::Local);
    let counted = Counted {
        inner: tcp,
        received: 0,
    };
    let mut stream = ProxyClientStream::from_stream(context, counted, svr_cfg, target);
    let mut request = Vec::with_capacity(query.wire.len() + 2);
    request.extend(
        u16::try_from(query.wire.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    request.extend(&query.wire);
    // The target address and the query go out together, in the first
    // encrypted chunk, as a real client sends them.
    if let Err(err) = async {
        stream.write_all(&request).await?;
        stream.flush().await
    }
    .await
    {
        return Exchange::Failed { err, received: 0 };
    }
    let mut len = [0u8; 2];
    let read = async {
        stream.read_exact(&mut len).await?;
        let mut wire = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut wire).await?;
        Ok::<_, io::Error>(wire)
    }
    .await;
    match read {
        Ok(wire) => Exchange::Reply(dns::parse_answer(query, &wire)),
        Err(err) => Exchange::Failed {
            err,
            received: stream.get_ref().received,
        },
    }
}

/// Turns the round trip's outcome into evidence, the step's failure and
/// its detail.
fn judge(
    outcome: Result<Exchange, tokio::time::error::Elapsed>,
    elapsed: Duration,
    target: &Address,
    query: &SentQuery,
) -> (VpnEvidence, Option<Failure>, Option<String>) {
    let op = Operation::ShadowsocksRoundTrip;
    let ms = elapsed.as_secs_f64() * 1000.0;
    let target_text = target_display(target);
    let tcp_ok = "The TCP connection to the server worked, so its address and port are \
                  reachable from here.";
    match outcome {
        Ok(Exchange::Reply(Ok(answer))) => {
            let detail = format!("DNS via {target_text}: {}", answer.summary());
            let mut e = VpnEvidence::verified(ms).with_note(format!(
                "A DNS query for {} went through the server to {target_text} and the answer \
                 came back encrypted with your key: the server, password and method work.",
                query.name
            ));
            if let Err(f) = dns::check_probe_answer(&answer) {
                e = e.with_note(format!(
                    "The resolver's answer itself was {f}; that does not affect the proxy."
                ));
            }
            (e, None, Some(detail))
        }
        Ok(Exchange::Reply(Err(f))) => {
            let e = VpnEvidence::failed(op, f.clone(), FailKind::BadResponse).with_note(
                "The reply decrypted with your key, so the password is right, but it was not \
                 the answer to our DNS query: something between the server and the resolver \
                 altered it.",
            );
            (e, Some(f), None)
        }
        Err(_) => {
            let f = Failure::GenericTimeout;
            let e = VpnEvidence::failed(op, f.clone(), FailKind::NoResponse)
                .with_note(format!(
                    "The server accepted the TCP connection but never answered: Shadowsocks \
                     servers stay silent on a wrong password or method by design; also \
                     possible: the server cannot reach the test target ({target_text}; \
                     another can be chosen with --proxy-target), or a censor silently drops the traffic after the handshake."
                ))
                .with_note(tcp_ok);
            (e, Some(f), None)
        }
        Ok(Exchange::Failed { err, received }) => failed_read(&err, received, ms, &target_text),
    }
}

fn failed_read(
    err: &io::Error,
    received: usize,
    ms: f64,
    target_text: &str,
) -> (VpnEvidence, Option<Failure>, Option<String>) {
    let op = Operation::ShadowsocksRoundTrip;
    let detail = Some(format!("{received} bytes received"));
    match err.kind() {
        io::ErrorKind::UnexpectedEof => {
            let f = Failure::Eof;
            let what = if received == 0 {
                format!("closed the connection {ms:.0} ms after our request without sending a byte")
            } else {
                format!(
                    "closed the connection {ms:.0} ms after our request, after {received} bytes \
                     that were not a whole reply"
                )
            };
            let e = VpnEvidence::failed(op, f.clone(), FailKind::NoResponse).with_note(format!(
                "The server accepted the TCP connection and {what}. Shadowsocks servers do \
                 this on a wrong password or method (some close at once, some after a delay), \
                 and also when they cannot reach the test target ({target_text}; another \
                 can be chosen with --proxy-target); an \
                 active-probing defence or a censor can cut the connection the same way."
            ));
            (e, Some(f), detail)
        }
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => {
            let f = from_io(err);
            let e = VpnEvidence::failed(op, f.clone(), FailKind::Transport).with_note(
                "The connection was reset after our encrypted request: a censor injecting \
                 resets, or a server that resets on a wrong password.",
            );
            (e, Some(f), detail)
        }
        // Not an OS error: the crate could not decrypt what came back.
        io::ErrorKind::Other if err.raw_os_error().is_none() => {
            let f = Failure::Unknown(scrub(&err.to_string()));
            let e = VpnEvidence::failed(op, f.clone(), FailKind::BadResponse).with_note(format!(
                "Something answered with {received} bytes that do not decrypt with this \
                 password and method: a different service on this port, a server with another \
                 password, or a middlebox injecting data."
            ));
            (e, Some(f), detail)
        }
        _ => {
            let f = from_io(err);
            (
                VpnEvidence::failed(op, f.clone(), FailKind::Transport),
                Some(f),
                detail,
            )
        }
    }
}

fn unsupported(failure: &str, note: Option<String>) -> VpnEvidence {
    let e = VpnEvidence::failed(
        Operation::ShadowsocksRoundTrip,
        Failure::Unknown(failure.to_string()),
        FailKind::Unsupported,
    );
    match note {
        Some(n) => e.with_note(n),
        None => e,
    }
}

fn target_display(a: &Address) -> String {
    match a {
        Address::SocketAddress(sa) => sa.to_string(),
        Address::DomainNameAddress(h, p) => format!("{h}:{p}"),
    }
}

/// A TCP stream that counts the bytes it read, so a failure can say
/// whether the server sent anything at all.
struct Counted {
    inner: TcpStream,
    received: usize,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let got = buf.filled().len().saturating_sub(before);
        self.received = self.received.saturating_add(got);
        poll
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Origin, Secret};
    use crate::probe::ScanContext;
    use crate::probe::vpn::VpnOutcome;
    use std::net::SocketAddr;
    use std::sync::Arc;

    fn endpoint(method: &str, password: &str, plugin: Option<&str>) -> Endpoint {
        Endpoint {
            label: "ss test".into(),
            origin: Origin::User,
            target: Target::Shadowsocks(Box::new(SsServer {
                name: None,
                host: "127.0.0.1".into(),
                port: 9,
                method: method.into(),
                password: Secret::new(password.into()),
                plugin: plugin.map(String::from),
            })),
        }
    }

    fn recorder() -> Recorder {
        Recorder::new(0, None, Arc::new(ScanContext::default()))
    }

    fn kind(e: &VpnEvidence) -> Option<FailKind> {
        match e.outcome {
            VpnOutcome::Failed { kind, .. } => Some(kind),
            _ => None,
        }
    }

    #[tokio::test]
    async fn plugin_servers_are_not_tested() {
        let ep = endpoint(
            "aes-256-gcm",
            "pw",
            Some("obfs-local;obfs=http;obfs-host=secret.example"),
        );
        let rec = recorder();
        let e = probe(&ep, &ProbeConfig::default(), &rec).await;
        assert_eq!(kind(&e), Some(FailKind::Unsupported));
        let notes = e.notes.join(" ");
        assert!(notes.contains("\"obfs-local\""), "{notes}");
        assert!(!notes.contains("secret.example"), "{notes}");
        assert!(
            rec.steps().is_empty(),
            "no network step for a plugin server"
        );
    }

    #[tokio::test]
    async fn bad_2022_key_is_caught_before_connecting() {
        // Valid base64, wrong size: the parser rejects it too, but the
        // probe must not trust that.
        let ep = endpoint("2022-blake3-aes-256-gcm", "AAAA", None);
        let rec = recorder();
        let e = probe(&ep, &ProbeConfig::default(), &rec).await;
        assert_eq!(kind(&e), Some(FailKind::Unsupported));
        assert!(!e.notes.join(" ").contains("AAAA"));
        assert!(rec.steps().is_empty());
    }

    #[test]
    fn multi_user_2022_keys_build_a_config() {
        let psk = "YctPZ6U7xPPcU+gp3u+ZNTcnEmCNaM6rpLl5SW8mzQw=";
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        for (m, pw) in [
            ("2022-blake3-aes-256-gcm", format!("{psk}:{psk}")),
            ("2022-blake3-chacha20-poly1305", psk.to_string()),
            (
                "2022-blake3-aes-128-gcm",
                "Kp2GZWmqVz4TIbOXwWIBHg==".to_string(),
            ),
            ("chacha20-ietf-poly1305", "any password".to_string()),
        ] {
            let c = ServerConfig::new(addr, pw, m.parse().unwrap());
            assert!(c.is_ok(), "{m}");
        }
        let multi = ServerConfig::new(
            addr,
            format!("{psk}:{psk}"),
            "2022-blake3-aes-256-gcm".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(multi.identity_keys().len(), 1);
    }

    #[test]
    fn read_failures_are_classified() {
        let t = "127.0.0.1:53";
        let (e, f, _) = failed_read(&io::ErrorKind::UnexpectedEof.into(), 0, 12.0, t);
        assert_eq!(kind(&e), Some(FailKind::NoResponse));
        assert_eq!(f, Some(Failure::Eof));
        assert!(
            e.notes[0].contains("without sending a byte"),
            "{:?}",
            e.notes
        );
        let (e, f, _) = failed_read(&io::ErrorKind::ConnectionReset.into(), 0, 12.0, t);
        assert_eq!(kind(&e), Some(FailKind::Transport));
        assert_eq!(f, Some(Failure::ConnectionReset));
        let (e, _, _) = failed_read(&io::Error::other("decrypt data failed"), 51, 12.0, t);
        assert_eq!(kind(&e), Some(FailKind::BadResponse));
        assert!(e.notes[0].contains("51 bytes"), "{:?}", e.notes);
    }
}
