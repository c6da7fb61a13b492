//! The flow DoH and DoT share: find addresses (system resolver and
//! bootstrap list, in parallel), then per address TCP → TLS → DNS checks,
//! all addresses in parallel so a black-holed one costs one timeout.
//! A TLS failure that is not about the certificate triggers a control
//! handshake with a harmless server name to detect SNI filtering.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use futures_util::future::join_all;
use hickory_proto::rr::RecordType;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::dns::{self, NxCheck, SentQuery};
use super::failure::{from_io, scrub};
use super::{BoxFuture, Evidence, Probe, ProbeConfig, Recorder, timed_step};
use crate::catalog::{DnsResolver, Endpoint, Target};
use crate::measurement::{Failure, Operation};

/// The probe for DoH and DoT endpoints: the same flow, a different
/// exchange once TLS is up.
pub struct ResolverProbe(pub Protocol);

impl Probe for ResolverProbe {
    fn run<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        config: &'a ProbeConfig,
        rec: &'a Recorder,
    ) -> BoxFuture<'a, Evidence> {
        Box::pin(async move {
            match &endpoint.target {
                Target::Doh(r) | Target::Dot(r) => {
                    Evidence::DnsResolver(probe(r, self.0, config, rec).await)
                }
                // The engine never routes anything else here.
                _ => Evidence::DnsResolver(ResolverEvidence {
                    system: None,
                    plain: Vec::new(),
                    bootstrap: Vec::new(),
                    attempts: Vec::new(),
                }),
            }
        })
    }
}

/// DoH or DoT: what runs once TLS is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Doh,
    Dot,
}

impl Protocol {
    fn alpn(self) -> &'static [&'static [u8]] {
        match self {
            Protocol::Doh => &[b"h2", b"http/1.1"],
            Protocol::Dot => &[b"dot"],
        }
    }
}

/// How far one address got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Nothing,
    Connected,
    TlsDone,
    /// The DNS exchange ran (validly or not).
    Exchanged,
}

/// Why the DNS exchange over an established TLS session was not good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeFail {
    /// The round trip itself failed (timeout, reset, eof).
    Transport(Operation, Failure),
    /// The server answered with a non-200 HTTP status.
    HttpStatus(Operation, u16),
    /// An answer came but is not a valid reply to our query.
    Bad(Operation, Failure),
    /// A valid reply, with records for a name that cannot exist.
    Lying(Operation),
}

/// What the protocol-specific exchange reports back.
#[derive(Debug, Clone)]
pub struct ExchangeReport {
    pub result: Result<(), ExchangeFail>,
    /// Round trip of the probe-name query, the latency users feel.
    pub latency_ms: Option<f64>,
    pub notes: Vec<String>,
}

/// One address tried.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub addr: SocketAddr,
    /// The address came from a lookup (system resolver or a plain-DNS
    /// bootstrap resolver).
    pub from_lookup: bool,
    /// The address is a known one (bootstrap list, stamp, IP literal).
    pub from_bootstrap: bool,
    pub reached: Stage,
    /// The step that failed, when the attempt stopped before a valid exchange.
    pub failure: Option<(Operation, Failure)>,
    /// Result of the harmless-SNI handshake, when one was made.
    pub control_tls_ok: Option<bool>,
    pub exchange: Option<Result<(), ExchangeFail>>,
    pub latency_ms: Option<f64>,
    pub notes: Vec<String>,
}

impl Attempt {
    /// An attempt on `addr` that has not got anywhere yet.
    pub fn new(addr: SocketAddr) -> Attempt {
        Attempt {
            addr,
            from_lookup: false,
            from_bootstrap: false,
            reached: Stage::Nothing,
            failure: None,
            control_tls_ok: None,
            exchange: None,
            latency_ms: None,
            notes: Vec::new(),
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(self.exchange, Some(Ok(())))
    }
}

/// Everything a DoH/DoT probe learned.
#[derive(Debug, Clone)]
pub struct ResolverEvidence {
    /// The system resolver's answer; `None` when not asked (IP literal host
    /// or system resolution disabled).
    pub system: Option<Result<Vec<IpAddr>, Failure>>,
    /// Answers of the plain-DNS bootstrap resolvers that were asked.
    pub plain: Vec<Result<Vec<IpAddr>, Failure>>,
    pub bootstrap: Vec<IpAddr>,
    pub attempts: Vec<Attempt>,
}

/// Runs the whole flow for one resolver.
pub async fn probe(
    resolver: &DnsResolver,
    protocol: Protocol,
    config: &ProbeConfig,
    rec: &Recorder,
) -> ResolverEvidence {
    let bare_host = resolver.host.trim_start_matches('[').trim_end_matches(']');
    let literal: Option<IpAddr> = bare_host.parse().ok();
    let mut bootstrap: Vec<IpAddr> = Vec::new();
    for ip in literal.iter().chain(resolver.bootstrap.iter()) {
        if !bootstrap.contains(ip) {
            bootstrap.push(*ip);
        }
    }
    if !bootstrap.is_empty() && literal.is_none() {
        // Record where the bootstrap addresses came from, as OONI's
        // dnscheck records its bootstrap lookup.
        let started = rec.begin(Operation::Resolve, Some(resolver.host.clone()));
        rec.finish(
            started,
            None,
            Some("bootstrap".into()),
            bootstrap.iter().map(ToString::to_string).collect(),
        );
    }
    let cap = config.max_addresses.max(1);
    let try_all = |ips: Vec<IpAddr>| {
        join_all(ips.into_iter().map(|ip| {
            attempt(
                SocketAddr::new(ip, resolver.port),
                resolver,
                protocol,
                config,
                rec,
            )
        }))
    };
    let boot_attempts = try_all(bootstrap.iter().take(cap).copied().collect());
    let ask_system = literal.is_none() && config.system_resolver;
    let via: Vec<IpAddr> = if literal.is_none() {
        resolver
            .bootstrap_resolvers
            .iter()
            .take(2)
            .copied()
            .collect()
    } else {
        Vec::new()
    };
    let lookup_side = async {
        let system = async {
            if ask_system {
                Some(resolve_system(bare_host, resolver.port, config, rec).await)
            } else {
                None
            }
        };
        let plain = join_all(
            via.iter()
                .map(|ns| resolve_via(*ns, bare_host, config, rec)),
        );
        let (system, plain) = tokio::join!(system, plain);
        let mut fresh: Vec<IpAddr> = Vec::new();
        let looked_up = system
            .iter()
            .chain(plain.iter())
            .filter_map(|r| r.as_ref().ok())
            .flatten();
        // A bogon answer for a host whose known addresses are public is a
        // lie; dialing it would only poke at some local machine.
        let known_public = !bootstrap.is_empty() && bootstrap.iter().all(|b| !is_bogon(b));
        for ip in looked_up {
            let skip = known_public && is_bogon(ip);
            if !skip && !bootstrap.contains(ip) && !fresh.contains(ip) && fresh.len() < cap {
                fresh.push(*ip);
            }
        }
        let attempts = try_all(fresh).await;
        (system, plain, attempts)
    };
    let (mut boot, (system, plain, looked)) = tokio::join!(boot_attempts, lookup_side);
    let looked_up: BTreeSet<IpAddr> = system
        .iter()
        .chain(plain.iter())
        .filter_map(|r| r.as_ref().ok())
        .flatten()
        .copied()
        .collect();
    for a in &mut boot {
        a.from_bootstrap = true;
        a.from_lookup = looked_up.contains(&a.addr.ip());
    }
    let mut attempts = boot;
    attempts.extend(looked.into_iter().map(|mut a| {
        a.from_lookup = true;
        a
    }));
    ResolverEvidence {
        system,
        plain,
        bootstrap,
        attempts,
    }
}

pub(crate) async fn resolve_system(
    host: &str,
    port: u16,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Result<Vec<IpAddr>, Failure> {
    let started = rec.begin(Operation::Resolve, Some(host.to_string()));
    let lookup = tokio::net::lookup_host((host.to_string(), port));
    let result = match tokio::time::timeout(config.step_timeout, lookup).await {
        Err(_) => Err(Failure::GenericTimeout),
        Ok(Err(e)) => Err(resolve_failure(&e)),
        Ok(Ok(iter)) => {
            let mut addrs: Vec<IpAddr> = Vec::new();
            for sa in iter {
                if !addrs.contains(&sa.ip()) {
                    addrs.push(sa.ip());
                }
            }
            if addrs.is_empty() {
                Err(Failure::DnsNoAnswer)
            } else {
                Ok(addrs)
            }
        }
    };
    match &result {
        Ok(addrs) => {
            let bogons = addrs.iter().filter(|ip| is_bogon(ip)).count();
            let detail = if bogons > 0 {
                format!("system; {bogons} bogon address(es)")
            } else {
                "system".to_string()
            };
            rec.finish(
                started,
                None,
                Some(detail),
                addrs.iter().map(ToString::to_string).collect(),
            );
        }
        Err(f) => {
            rec.finish(started, Some(f.clone()), Some("system".into()), Vec::new());
        }
    }
    result
}

/// Asks a plain-DNS resolver (UDP 53) for `host`'s A records, as a DNS
/// stamp's bootstrap resolvers are meant to be used. The first answer with
/// our ID counts: on a censored path that is often an injected one, which is
/// exactly what this step should show.
async fn resolve_via(
    nameserver: IpAddr,
    host: &str,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Result<Vec<IpAddr>, Failure> {
    let server = SocketAddr::new(nameserver, 53);
    let started = rec.begin(Operation::Resolve, Some(host.to_string()));
    let result = tokio::time::timeout(config.step_timeout, udp_lookup(server, host))
        .await
        .unwrap_or(Err(Failure::GenericTimeout));
    let detail = Some(format!("udp {server}"));
    match &result {
        Ok(addrs) => rec.finish(
            started,
            None,
            detail,
            addrs.iter().map(ToString::to_string).collect(),
        ),
        Err(f) => rec.finish(started, Some(f.clone()), detail, Vec::new()),
    };
    result
}

async fn udp_lookup(server: SocketAddr, host: &str) -> Result<Vec<IpAddr>, Failure> {
    let sent = dns::build_query(host, RecordType::A, rand::random())?;
    let local: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = tokio::net::UdpSocket::bind(local)
        .await
        .map_err(|e| from_io(&e))?;
    socket.connect(server).await.map_err(|e| from_io(&e))?;
    socket.send(&sent.wire).await.map_err(|e| from_io(&e))?;
    let mut buf = vec![0u8; dns::MAX_MESSAGE];
    // Skip stray datagrams with other IDs, but only a few: bounded work.
    for _ in 0..8 {
        let n = socket.recv(&mut buf).await.map_err(|e| from_io(&e))?;
        let answer = match dns::parse_answer(&sent, buf.get(..n).unwrap_or_default()) {
            Ok(a) => a,
            Err(Failure::DnsWrongQueryId) => continue,
            Err(f) => return Err(f),
        };
        dns::check_probe_answer(&answer)?;
        let addrs: Vec<IpAddr> = answer
            .records
            .iter()
            .filter_map(|r| r.parse().ok())
            .collect();
        return if addrs.is_empty() {
            Err(Failure::DnsNoAnswer)
        } else {
            Ok(addrs)
        };
    }
    Err(Failure::DnsWrongQueryId)
}

/// getaddrinfo errors only come as text; map the common ones.
fn resolve_failure(err: &std::io::Error) -> Failure {
    let msg = err.to_string();
    if msg.contains("not known") || msg.contains("No address associated") {
        Failure::DnsNxdomain
    } else if msg.contains("Temporary failure") {
        Failure::DnsServfail
    } else {
        let f = from_io(err);
        match f {
            Failure::Unknown(_) => Failure::Unknown(scrub(&msg)),
            other => other,
        }
    }
}

/// Addresses no public resolver host should resolve to.
pub fn is_bogon(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 0
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

async fn attempt(
    addr: SocketAddr,
    resolver: &DnsResolver,
    protocol: Protocol,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Attempt {
    let mut out = Attempt::new(addr);
    let tcp = match connect(addr, config, rec).await {
        Ok(s) => s,
        Err(f) => {
            out.failure = Some((Operation::TcpConnect, f));
            return out;
        }
    };
    out.reached = Stage::Connected;
    let tls_config = match config.tls.client_config(&resolver.pins, protocol.alpn()) {
        Ok(c) => c,
        Err(e) => {
            let started = rec.begin(Operation::TlsHandshake, Some(addr.to_string()));
            let f = Failure::Unknown(e.to_string());
            rec.finish(started, Some(f.clone()), None, Vec::new());
            out.failure = Some((Operation::TlsHandshake, f));
            return out;
        }
    };
    let tls = match handshake(
        tcp,
        tls_config.clone(),
        &resolver.host,
        addr,
        Operation::TlsHandshake,
        config,
        rec,
    )
    .await
    {
        Ok(s) => s,
        Err(f) => {
            // An IP-literal host sends no SNI, so there is nothing a
            // harmless name could be compared with.
            let literal = resolver
                .host
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok();
            if !f.is_certificate() && !literal {
                out.control_tls_ok = Some(control_handshake(addr, protocol, config, rec).await);
            }
            out.failure = Some((Operation::TlsHandshake, f));
            return out;
        }
    };
    out.reached = Stage::TlsDone;
    let report = match protocol {
        Protocol::Doh => super::doh::exchange(tls, tls_config, resolver, addr, config, rec).await,
        Protocol::Dot => super::dot::exchange(tls, addr, config, rec).await,
    };
    out.reached = Stage::Exchanged;
    out.latency_ms = report.latency_ms;
    out.notes = report.notes;
    if let Err(fail) = &report.result {
        out.failure = Some(match fail {
            ExchangeFail::Transport(op, f) | ExchangeFail::Bad(op, f) => (*op, f.clone()),
            ExchangeFail::HttpStatus(op, _) => (*op, Failure::HttpUnexpectedStatusCode),
            ExchangeFail::Lying(op) => (*op, lying_failure()),
        });
    }
    out.exchange = Some(report.result);
    out
}

/// No OONI string exists for an invented answer; say it plainly.
pub fn lying_failure() -> Failure {
    Failure::Unknown("resolver answered a name that does not exist".into())
}

pub(super) async fn connect(
    addr: SocketAddr,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Result<TcpStream, Failure> {
    let stream = timed_step(
        rec,
        config.step_timeout,
        Operation::TcpConnect,
        Some(addr.to_string()),
        async { TcpStream::connect(addr).await.map_err(|e| from_io(&e)) },
        |_| None,
    )
    .await?;
    rec.scan().mark_network_up();
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

pub(super) async fn handshake(
    tcp: TcpStream,
    tls_config: std::sync::Arc<rustls::ClientConfig>,
    host: &str,
    addr: SocketAddr,
    operation: Operation,
    config: &ProbeConfig,
    rec: &Recorder,
) -> Result<TlsStream<TcpStream>, Failure> {
    let Some(name) = super::tls::server_name(host) else {
        let started = rec.begin(operation, Some(addr.to_string()));
        let f = Failure::Unknown("host is not a valid TLS server name".into());
        rec.finish(started, Some(f.clone()), None, Vec::new());
        return Err(f);
    };
    let connector = TlsConnector::from(tls_config);
    timed_step(
        rec,
        config.step_timeout,
        operation,
        Some(addr.to_string()),
        async { connector.connect(name, tcp).await.map_err(|e| from_io(&e)) },
        |s: &TlsStream<TcpStream>| Some(describe_tls(s, Some(host))),
    )
    .await
}

/// `sni=… <version> alpn=…` for a step detail; no `sni=` word when none
/// was sent.
pub(crate) fn describe_tls(s: &TlsStream<TcpStream>, sni: Option<&str>) -> String {
    let conn = s.get_ref().1;
    let version = conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_else(|| "?".into());
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_else(|| "none".into());
    match sni {
        Some(sni) => format!("sni={sni} {version} alpn={alpn}"),
        None => format!("{version} alpn={alpn}"),
    }
}

/// A fresh connection to the same address with a harmless server name and
/// no certificate check: did TLS complete? Certificates are irrelevant here;
/// only whether the path lets a handshake through.
async fn control_handshake(
    addr: SocketAddr,
    protocol: Protocol,
    config: &ProbeConfig,
    rec: &Recorder,
) -> bool {
    let started = rec.begin(Operation::TcpConnect, Some(addr.to_string()));
    let tcp = match tokio::time::timeout(config.step_timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => {
            rec.finish(started, None, Some("control".into()), Vec::new());
            s
        }
        Ok(Err(e)) => {
            rec.finish(
                started,
                Some(from_io(&e)),
                Some("control".into()),
                Vec::new(),
            );
            return false;
        }
        Err(_) => {
            rec.finish(
                started,
                Some(Failure::GenericTimeout),
                Some("control".into()),
                Vec::new(),
            );
            return false;
        }
    };
    let tls_config = config.tls.control_config(protocol.alpn());
    handshake(
        tcp,
        tls_config,
        &config.control_sni,
        addr,
        Operation::TlsHandshakeControl,
        config,
        rec,
    )
    .await
    .is_ok()
}

/// The two queries every resolver must get right.
pub struct Checks {
    pub probe: SentQuery,
    pub nx: SentQuery,
}

impl Checks {
    pub fn new(config: &ProbeConfig) -> Result<Checks, Failure> {
        Ok(Checks {
            probe: dns::build_query(&config.probe_name, RecordType::A, rand::random())?,
            nx: dns::build_query(
                &dns::random_name(&config.probe_name),
                RecordType::A,
                rand::random(),
            )?,
        })
    }
}

/// Judges the probe-name answer; `Ok(detail)` when it is a real answer.
pub fn judge_probe(sent: &SentQuery, wire: &[u8]) -> Result<String, Failure> {
    let answer = dns::parse_answer(sent, wire)?;
    dns::check_probe_answer(&answer)?;
    Ok(answer.summary())
}

/// Judges the nonexistent-name answer.
pub fn judge_nx(sent: &SentQuery, wire: &[u8]) -> Result<(NxCheck, String), Failure> {
    let answer = dns::parse_answer(sent, wire)?;
    Ok((dns::check_nx_answer(&answer), answer.summary()))
}

/// Which of the two checks a query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Probe,
    Nx,
}

/// Why sending one query failed, before any judging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFail {
    Transport(Failure),
    Http(u16),
    Bad(Failure),
}

/// A transport that can carry one DNS query and bring back the raw answer.
pub trait Exchanger: Send {
    /// Step name for one query (`http_round_trip` or `dns_round_trip`).
    fn operation(&self) -> Operation;
    /// How the query for `role` is sent, for the step detail ("POST", ...).
    fn method(&self, role: Role) -> &'static str;
    fn send<'a>(
        &'a mut self,
        query: &'a SentQuery,
        role: Role,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, SendFail>> + Send + 'a;
    /// Remarks gathered while sending (HTTP/1.1 only, GET refused, ...).
    fn take_notes(&mut self) -> Vec<String>;
}

/// Sends the probe-name and nonexistent-name queries through `ex`, one
/// recorded step each, and judges the answers.
pub async fn run_checks<E: Exchanger>(
    ex: &mut E,
    target: String,
    config: &ProbeConfig,
    rec: &Recorder,
) -> ExchangeReport {
    let op = ex.operation();
    let checks = match Checks::new(config) {
        Ok(c) => c,
        Err(f) => {
            return ExchangeReport {
                result: Err(ExchangeFail::Bad(op, f)),
                latency_ms: None,
                notes: Vec::new(),
            };
        }
    };
    let mut latency_ms = None;
    for (role, sent) in [(Role::Probe, &checks.probe), (Role::Nx, &checks.nx)] {
        let label = format!("{} {} A", ex.method(role), sent.name);
        let started = rec.begin(op, Some(target.clone()));
        let t0 = std::time::Instant::now();
        let sent_result = match tokio::time::timeout(config.step_timeout, ex.send(sent, role)).await
        {
            Ok(r) => r,
            Err(_) => Err(SendFail::Transport(Failure::GenericTimeout)),
        };
        let rtt_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let wire = match sent_result {
            Ok(w) => w,
            Err(fail) => {
                let (failure, result) = match fail {
                    SendFail::Transport(f) => (f.clone(), ExchangeFail::Transport(op, f)),
                    SendFail::Bad(f) => (f.clone(), ExchangeFail::Bad(op, f)),
                    SendFail::Http(code) => (
                        Failure::HttpUnexpectedStatusCode,
                        ExchangeFail::HttpStatus(op, code),
                    ),
                };
                let detail = match &result {
                    ExchangeFail::HttpStatus(_, code) => format!("{label}: HTTP {code}"),
                    _ => label,
                };
                rec.finish(started, Some(failure), Some(detail), Vec::new());
                return ExchangeReport {
                    result: Err(result),
                    latency_ms,
                    notes: ex.take_notes(),
                };
            }
        };
        let judged = match role {
            Role::Probe => judge_probe(sent, &wire).map(|d| (d, true)),
            Role::Nx => judge_nx(sent, &wire).map(|(check, d)| match check {
                NxCheck::Honest => (d, true),
                NxCheck::Inconclusive => (format!("{d}; expected NXDOMAIN"), true),
                NxCheck::Lying => (format!("{d}; invented answer"), false),
            }),
        };
        match judged {
            Ok((detail, honest)) => {
                rec.finish(
                    started,
                    None,
                    Some(format!("{label}: {detail}")),
                    Vec::new(),
                );
                if !honest {
                    return ExchangeReport {
                        result: Err(ExchangeFail::Lying(op)),
                        latency_ms,
                        notes: ex.take_notes(),
                    };
                }
                if role == Role::Probe {
                    latency_ms = Some(rtt_ms);
                }
            }
            Err(f) => {
                rec.finish(started, Some(f.clone()), Some(label), Vec::new());
                return ExchangeReport {
                    result: Err(ExchangeFail::Bad(op, f)),
                    latency_ms,
                    notes: ex.take_notes(),
                };
            }
        }
    }
    ExchangeReport {
        result: Ok(()),
        latency_ms,
        notes: ex.take_notes(),
    }
}
