//! Control measurements: a few ordinary hosts, tried beside the scan, so
//! the verdict can tell "the internet is down" apart from "circumvention is
//! blocked".
//!
//! A [`Control`] has a [`Scope`] (domestic or foreign) and a [`Check`]: a
//! DNS query over UDP to a resolver, a TCP connect plus a verified TLS
//! handshake, or a bare TCP connect. [`assess`] reads the results:
//! nothing answers at all → the network looks down; a domestic host
//! answers and no foreign one does → international traffic looks cut; a
//! foreign host answers → the internet works, so failing methods are
//! blocked on purpose.
//!
//! The defaults ([`system_defaults`]) need no list from anywhere: the
//! domestic side is this system's configured resolver (an ISP's resolver is
//! domestic by definition), the foreign side TLS to `www.wikipedia.org:443`
//! and to `1.1.1.1:443` (an IP literal, so it does not depend on DNS).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde::{Serialize, Serializer};
use tokio::net::{TcpStream, UdpSocket};

use crate::measurement::{Diagnosis, Failure};
use crate::probe::failure::from_io;
use crate::probe::tls::{TlsSettings, server_name};
use crate::probe::{dns, resolver};

/// Which side of the border a control host is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Domestic,
    Foreign,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Domestic => "domestic",
            Scope::Foreign => "foreign",
        }
    }
}

/// What is tried.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Check {
    /// A DNS query over UDP; the answer must carry our ID and question.
    Dns(SocketAddr),
    /// TCP connect plus a TLS handshake whose certificate must verify for
    /// `host` (a name, or an IP literal).
    Tls { host: String, port: u16 },
    /// A TCP connect only.
    Tcp(SocketAddr),
}

/// One control target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Control {
    pub scope: Scope,
    pub check: Check,
}

impl Control {
    pub fn dns(scope: Scope, server: SocketAddr) -> Control {
        Control {
            scope,
            check: Check::Dns(server),
        }
    }

    pub fn tls(scope: Scope, host: &str, port: u16) -> Control {
        Control {
            scope,
            check: Check::Tls {
                host: host.to_string(),
                port,
            },
        }
    }

    pub fn tcp(scope: Scope, addr: SocketAddr) -> Control {
        Control {
            scope,
            check: Check::Tcp(addr),
        }
    }

    /// The spec without the scope: `dns:IP:PORT`, `tls:HOST:PORT`, `tcp:IP:PORT`.
    pub fn target(&self) -> String {
        match &self.check {
            Check::Dns(a) => format!("dns:{a}"),
            Check::Tls { host, port } => format!("tls:{}:{port}", bracket(host)),
            Check::Tcp(a) => format!("tcp:{a}"),
        }
    }

    /// The address part alone, for hiding in privacy mode.
    pub fn address(&self) -> String {
        match &self.check {
            Check::Dns(a) | Check::Tcp(a) => a.to_string(),
            Check::Tls { host, port } => format!("{}:{port}", bracket(host)),
        }
    }

    /// The scope a spec without a prefix gets: a resolver you name is
    /// usually your own network's, a TCP or TLS host usually abroad.
    fn default_scope(check: &Check) -> Scope {
        match check {
            Check::Dns(_) => Scope::Domestic,
            Check::Tls { .. } | Check::Tcp(_) => Scope::Foreign,
        }
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `domestic=dns:192.0.2.53:53` and the like; parses back with [`FromStr`].
impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.scope.as_str(), self.target())
    }
}

impl Serialize for Control {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A `--control` spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad control {spec:?}: {why}")]
pub struct SpecError {
    pub spec: String,
    pub why: String,
}

const SPEC_HELP: &str = "use dns:IP[:PORT], tls:HOST:PORT or tcp:IP:PORT, optionally prefixed with domestic= or foreign=";

impl FromStr for Control {
    type Err = SpecError;

    /// `[domestic=|foreign=](dns:IP[:PORT] | tls:HOST[:PORT] | tcp:IP:PORT)`;
    /// IPv6 in brackets when a port follows.
    fn from_str(spec: &str) -> Result<Control, SpecError> {
        let err = |why: &str| SpecError {
            spec: spec.to_string(),
            why: why.to_string(),
        };
        let s = spec.trim();
        let (scope, rest) = match s.split_once('=') {
            Some((p, rest)) => match p.trim().to_ascii_lowercase().as_str() {
                "domestic" => (Some(Scope::Domestic), rest.trim()),
                "foreign" => (Some(Scope::Foreign), rest.trim()),
                _ => return Err(err("the scope must be domestic= or foreign=")),
            },
            None => (None, s),
        };
        let (kind, target) = rest.split_once(':').ok_or_else(|| err(SPEC_HELP))?;
        let check = match kind.to_ascii_lowercase().as_str() {
            "dns" => Check::Dns(
                parse_ip_port(target, Some(53)).ok_or_else(|| err("dns: needs an IP address"))?,
            ),
            "tcp" => {
                Check::Tcp(parse_ip_port(target, None).ok_or_else(|| err("tcp: needs IP:PORT"))?)
            }
            "tls" => {
                let (host, port) =
                    parse_host_port(target).ok_or_else(|| err("tls: needs HOST:PORT"))?;
                Check::Tls { host, port }
            }
            _ => return Err(err(SPEC_HELP)),
        };
        let scope = scope.unwrap_or_else(|| Control::default_scope(&check));
        Ok(Control { scope, check })
    }
}

/// `IP:PORT`, `[v6]:PORT`, or (with a default port) `IP` and bare IPv6.
fn parse_ip_port(s: &str, default_port: Option<u16>) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return (a.port() != 0).then_some(a);
    }
    let port = default_port?;
    let ip = s.trim_start_matches('[').trim_end_matches(']');
    ip.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port))
}

/// `host:port` or `[v6]:port`; the port may be left out (443).
fn parse_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after.strip_prefix(':') {
            Some(p) => (host, p.parse().ok()?),
            None if after.is_empty() => (host, 443),
            None => return None,
        }
    } else if s.matches(':').count() > 1 {
        // A bare IPv6 literal: no port possible without brackets.
        (s, 443)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (s, 443),
        }
    };
    let host = host.trim().to_ascii_lowercase();
    let valid = !host.is_empty()
        && port != 0
        && (host.parse::<IpAddr>().is_ok()
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    valid.then_some((host, port))
}

/// Settings a check needs.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// Limit for each network step (name lookup, connect, handshake, query).
    pub step_timeout: Duration,
    pub tls: TlsSettings,
    /// The name asked in DNS checks.
    pub query_name: String,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            step_timeout: Duration::from_secs(5),
            tls: TlsSettings::default(),
            query_name: "example.com".to_string(),
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlResult {
    pub control: Control,
    pub ok: bool,
    /// Time of the decisive exchange (query, connect, or connect plus
    /// handshake), without any name lookup.
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// What answered (`NOERROR 93.184.216.34`, `TLSv1.3`), or what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How a result bears on the assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Ok,
    /// Something answered, but not as it should: a reset, a refusal, a
    /// certificate that does not verify. The path is up; someone interferes.
    Interfered,
    /// Nothing answered (timeout, unreachable, no name, no resolution).
    Silent,
}

impl ControlResult {
    fn failed(control: &Control, failure: Failure, detail: Option<String>) -> ControlResult {
        ControlResult {
            control: control.clone(),
            ok: false,
            latency_ms: None,
            failure: Some(failure),
            detail,
        }
    }

    pub fn answered(&self) -> Answered {
        if self.ok {
            return Answered::Ok;
        }
        match &self.failure {
            Some(
                Failure::ConnectionRefused
                | Failure::ConnectionReset
                | Failure::ConnectionAborted
                | Failure::Eof
                | Failure::SslInvalidHostname
                | Failure::SslUnknownAuthority
                | Failure::SslInvalidCertificate
                | Failure::SslFailedHandshake
                | Failure::SslPinMismatch
                | Failure::DnsWrongQueryId
                | Failure::DnsServerMisbehaving,
            ) => Answered::Interfered,
            _ => Answered::Silent,
        }
    }

    /// The failure as one of the scan's diagnoses, for a short phrase.
    pub fn diagnosis(&self) -> Diagnosis {
        let Some(f) = &self.failure else {
            return Diagnosis::Ok;
        };
        match f {
            Failure::GenericTimeout => Diagnosis::Timeout,
            Failure::ConnectionRefused => Diagnosis::ConnectionRefused,
            Failure::ConnectionReset | Failure::ConnectionAborted | Failure::Eof => {
                Diagnosis::ConnectionReset
            }
            Failure::HostUnreachable | Failure::NetworkUnreachable => Diagnosis::HostUnreachable,
            f if f.is_certificate() => Diagnosis::CertificateInvalid,
            Failure::SslFailedHandshake => Diagnosis::TlsFailed,
            Failure::DnsNxdomain | Failure::DnsNoAnswer => Diagnosis::ResolveFailed,
            _ => Diagnosis::BadResponse,
        }
    }
}

/// Runs one control; never panics, always bounded by a few step timeouts.
pub async fn check(control: &Control, config: &ControlConfig) -> ControlResult {
    match &control.check {
        Check::Dns(server) => check_dns(control, *server, config).await,
        Check::Tcp(addr) => match connect(*addr, config.step_timeout).await {
            Ok((_, took)) => ok(control, took, None),
            Err(f) => ControlResult::failed(control, f, None),
        },
        Check::Tls { host, port } => check_tls(control, host, *port, config).await,
    }
}

/// Runs every control at once; results in the order of `controls`.
pub async fn run_all(controls: &[Control], config: &ControlConfig) -> Vec<ControlResult> {
    futures::future::join_all(controls.iter().map(|c| check(c, config))).await
}

fn ok(control: &Control, took: Duration, detail: Option<String>) -> ControlResult {
    ControlResult {
        control: control.clone(),
        ok: true,
        latency_ms: Some(took.as_secs_f64() * 1000.0),
        failure: None,
        detail,
    }
}

async fn connect(addr: SocketAddr, limit: Duration) -> Result<(TcpStream, Duration), Failure> {
    let t0 = Instant::now();
    match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => Ok((s, t0.elapsed())),
        Ok(Err(e)) => Err(from_io(&e)),
        Err(_) => Err(Failure::GenericTimeout),
    }
}

async fn check_tls(
    control: &Control,
    host: &str,
    port: u16,
    config: &ControlConfig,
) -> ControlResult {
    let limit = config.step_timeout;
    let Some(name) = server_name(host) else {
        return ControlResult::failed(control, Failure::Unknown("bad server name".into()), None);
    };
    let addr = match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => match tokio::time::timeout(limit, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(mut addrs)) => match addrs.next() {
                Some(a) => a,
                None => return ControlResult::failed(control, Failure::DnsNoAnswer, None),
            },
            // The system resolver's errors say little; "no address" is
            // what matters for the assessment.
            Ok(Err(_)) => {
                return ControlResult::failed(
                    control,
                    Failure::DnsNoAnswer,
                    Some("name lookup failed".into()),
                );
            }
            Err(_) => {
                return ControlResult::failed(
                    control,
                    Failure::GenericTimeout,
                    Some("name lookup timed out".into()),
                );
            }
        },
    };
    let tls_config = match config.tls.client_config(&[], &[]) {
        Ok(c) => c,
        Err(e) => return ControlResult::failed(control, Failure::Unknown(e.to_string()), None),
    };
    let t0 = Instant::now();
    let (tcp, _) = match connect(addr, limit).await {
        Ok(s) => s,
        Err(f) => return ControlResult::failed(control, f, None),
    };
    let connector = tokio_rustls::TlsConnector::from(tls_config);
    match tokio::time::timeout(limit, connector.connect(name, tcp)).await {
        Ok(Ok(stream)) => {
            let version = stream
                .get_ref()
                .1
                .protocol_version()
                .and_then(|v| v.as_str())
                .unwrap_or("TLS");
            ok(control, t0.elapsed(), Some(version.to_string()))
        }
        Ok(Err(e)) => ControlResult::failed(control, from_io(&e), None),
        Err(_) => ControlResult::failed(control, Failure::GenericTimeout, None),
    }
}

async fn check_dns(control: &Control, server: SocketAddr, config: &ControlConfig) -> ControlResult {
    let id: u16 = rand::random();
    let sent = match dns::build_query(&config.query_name, RecordType::A, id) {
        Ok(q) => q,
        Err(f) => return ControlResult::failed(control, f, None),
    };
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = match UdpSocket::bind(bind).await {
        Ok(s) => s,
        Err(e) => return ControlResult::failed(control, from_io(&e), None),
    };
    if let Err(e) = socket.connect(server).await {
        return ControlResult::failed(control, from_io(&e), None);
    }
    let t0 = Instant::now();
    if let Err(e) = socket.send(&sent.wire).await {
        return ControlResult::failed(control, from_io(&e), None);
    }
    let exchange = async {
        let mut buf = vec![0u8; dns::MAX_MESSAGE];
        // Datagrams that are not an answer to our query (late, stray, or
        // forged with a wrong ID) are skipped, as a stub resolver would.
        loop {
            let n = match socket.recv(&mut buf).await {
                Ok(n) => n,
                Err(e) => return Err(from_io(&e)),
            };
            if let Ok(answer) = dns::parse_answer(&sent, buf.get(..n).unwrap_or(&[])) {
                return Ok(answer);
            }
        }
    };
    let answer = match tokio::time::timeout(config.step_timeout, exchange).await {
        Ok(Ok(a)) => a,
        Ok(Err(f)) => return ControlResult::failed(control, f, None),
        Err(_) => return ControlResult::failed(control, Failure::GenericTimeout, None),
    };
    let took = t0.elapsed();
    let resolved = matches!(answer.rcode, ResponseCode::NoError | ResponseCode::NXDomain);
    // A resolver on this machine or the local network (a home router)
    // answers even when the line behind it is dead, with SERVFAIL: only a
    // real resolution shows it reaches beyond. A resolver out in the
    // network proves the path to it works by answering at all.
    if resolved || !resolver::is_bogon(&server.ip()) {
        ok(control, took, Some(answer.summary()))
    } else {
        let failure = match answer.rcode {
            ResponseCode::Refused => Failure::DnsRefused,
            ResponseCode::ServFail => Failure::DnsServfail,
            _ => Failure::DnsServerMisbehaving,
        };
        ControlResult::failed(control, failure, Some(answer.summary()))
    }
}

/// What the controls say about this network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    /// Nothing answers, not even the control hosts.
    NetworkDown,
    /// A domestic host answers; no foreign one does.
    InternationalCut,
    /// Foreign control hosts answer, but with resets or bad certificates.
    Filtered,
    /// A foreign control host works: the internet is up.
    InternetUp,
}

impl Reading {
    pub fn as_str(self) -> &'static str {
        match self {
            Reading::NetworkDown => "network_down",
            Reading::InternationalCut => "international_cut",
            Reading::Filtered => "filtered",
            Reading::InternetUp => "internet_up",
        }
    }
}

/// Reads control results (`None`: still running). A foreign host that
/// works settles it at once; anything else waits for every result.
///
/// 1. some foreign control works → [`Reading::InternetUp`];
/// 2. still running → `None`;
/// 3. a foreign control was reset or intercepted → [`Reading::Filtered`];
/// 4. nothing answered at all → [`Reading::NetworkDown`];
/// 5. foreign controls exist, all silent, a domestic one answered →
///    [`Reading::InternationalCut`];
/// 6. otherwise (no foreign controls, or none at all) → `None`.
pub fn assess<'a>(
    results: impl IntoIterator<Item = (Scope, Option<&'a ControlResult>)>,
) -> Option<Reading> {
    let results: Vec<(Scope, Option<&ControlResult>)> = results.into_iter().collect();
    if results.is_empty() {
        return None;
    }
    let foreign = |a: Answered| {
        results
            .iter()
            .any(|(s, r)| *s == Scope::Foreign && r.is_some_and(|r| r.answered() == a))
    };
    if foreign(Answered::Ok) {
        return Some(Reading::InternetUp);
    }
    if results.iter().any(|(_, r)| r.is_none()) {
        return None;
    }
    if foreign(Answered::Interfered) {
        return Some(Reading::Filtered);
    }
    let answered = |r: &&ControlResult| r.answered() != Answered::Silent;
    if !results.iter().any(|(_, r)| r.is_some_and(|r| answered(&r))) {
        return Some(Reading::NetworkDown);
    }
    let has_foreign = results.iter().any(|(s, _)| *s == Scope::Foreign);
    let domestic = results
        .iter()
        .any(|(s, r)| *s == Scope::Domestic && r.is_some_and(|r| answered(&r)));
    (has_foreign && domestic).then_some(Reading::InternationalCut)
}

/// Why the default domestic controls are what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefaultNote {
    /// Only a resolver on this machine (a stub like 127.0.0.53) is set up;
    /// it is used, though it may answer from its cache.
    LoopbackOnly,
    /// /etc/resolv.conf names a local stub; its upstream servers came from
    /// systemd-resolved's list.
    FromSystemd,
    /// A well-known public resolver (Google, Cloudflare, Quad9, …) is set
    /// up: not domestic, so it is not used as a domestic control.
    PublicSkipped,
    /// No resolver is configured: there is no domestic control.
    NoResolver,
    /// `--no-system-dns`: the control that needs a name lookup is left out.
    NameSkipped,
}

impl fmt::Display for DefaultNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DefaultNote::LoopbackOnly => {
                "only a local stub resolver is configured; it is the domestic control, though it may answer from its cache"
            }
            DefaultNote::FromSystemd => "domestic resolvers taken from systemd-resolved",
            DefaultNote::PublicSkipped => {
                "a public resolver in resolv.conf is not domestic and was skipped"
            }
            DefaultNote::NoResolver => "no resolver configured: no domestic control",
            DefaultNote::NameSkipped => {
                "--no-system-dns: the control that needs a name lookup is left out"
            }
        })
    }
}

/// The default controls and why they look as they do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Defaults {
    pub controls: Vec<Control>,
    pub notes: Vec<DefaultNote>,
}

/// Most domestic resolvers tried (resolv.conf itself holds at most three).
const MAX_DOMESTIC: usize = 3;

/// Well-known public anycast resolvers: never "domestic", wherever they are.
const PUBLIC_RESOLVERS: [IpAddr; 10] = [
    IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
    IpAddr::V4(Ipv4Addr::new(8, 8, 4, 4)),
    IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)),
    IpAddr::V4(Ipv4Addr::new(1, 0, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(9, 9, 9, 9)),
    IpAddr::V4(Ipv4Addr::new(149, 112, 112, 112)),
    IpAddr::V4(Ipv4Addr::new(208, 67, 222, 222)),
    IpAddr::V4(Ipv4Addr::new(208, 67, 220, 220)),
    IpAddr::V4(Ipv4Addr::new(94, 140, 14, 14)),
    IpAddr::V4(Ipv4Addr::new(94, 140, 15, 15)),
];

/// The `nameserver` addresses in resolv.conf text, in order. IPv6
/// link-local addresses with a zone (`fe80::1%eth0`) are left out: they
/// cannot be reached without resolving the interface.
pub fn parse_resolv_conf(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            if words.next()? != "nameserver" {
                return None;
            }
            let addr = words.next()?;
            if addr.contains('%') {
                return None;
            }
            addr.parse().ok()
        })
        .collect()
}

/// The default controls from resolv.conf text (and, when it only names a
/// local stub, systemd-resolved's upstream list). `lookups`: whether a
/// control may need the system resolver (`--no-system-dns` says no).
pub fn defaults(resolv_conf: Option<&str>, systemd: Option<&str>, lookups: bool) -> Defaults {
    let mut notes = Vec::new();
    let configured = resolv_conf.map(parse_resolv_conf).unwrap_or_default();
    let usable = |ips: &[IpAddr], notes: &mut Vec<DefaultNote>| -> Vec<IpAddr> {
        let mut out = Vec::new();
        for ip in ips {
            if PUBLIC_RESOLVERS.contains(ip) {
                if !notes.contains(&DefaultNote::PublicSkipped) {
                    notes.push(DefaultNote::PublicSkipped);
                }
            } else if !ip.is_loopback() && !out.contains(ip) {
                out.push(*ip);
            }
        }
        out
    };
    let mut domestic = usable(&configured, &mut notes);
    if domestic.is_empty() && configured.iter().any(IpAddr::is_loopback) {
        let upstream = systemd.map(parse_resolv_conf).unwrap_or_default();
        domestic = usable(&upstream, &mut notes);
        if domestic.is_empty() {
            domestic = configured
                .iter()
                .copied()
                .filter(IpAddr::is_loopback)
                .collect();
            notes.push(DefaultNote::LoopbackOnly);
        } else {
            notes.push(DefaultNote::FromSystemd);
        }
    }
    if domestic.is_empty() {
        notes.push(DefaultNote::NoResolver);
    }
    domestic.truncate(MAX_DOMESTIC);
    let mut controls: Vec<Control> = domestic
        .into_iter()
        .map(|ip| Control::dns(Scope::Domestic, SocketAddr::new(ip, 53)))
        .collect();
    if lookups {
        controls.push(Control::tls(Scope::Foreign, "www.wikipedia.org", 443));
    } else {
        notes.push(DefaultNote::NameSkipped);
    }
    controls.push(Control::tls(Scope::Foreign, "1.1.1.1", 443));
    Defaults { controls, notes }
}

/// [`defaults`] from this system's `/etc/resolv.conf` and, if present,
/// `/run/systemd/resolve/resolv.conf`.
pub fn system_defaults(lookups: bool) -> Defaults {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    defaults(
        read("/etc/resolv.conf").as_deref(),
        read("/run/systemd/resolve/resolv.conf").as_deref(),
        lookups,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Control {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn specs_parse_and_print_back() {
        let cases = [
            ("dns:192.0.2.53", "domestic=dns:192.0.2.53:53"),
            ("dns:192.0.2.53:5353", "domestic=dns:192.0.2.53:5353"),
            (
                "foreign=dns:[2001:db8::1]:53",
                "foreign=dns:[2001:db8::1]:53",
            ),
            ("dns:2001:db8::1", "domestic=dns:[2001:db8::1]:53"),
            (
                "tls:www.wikipedia.org:443",
                "foreign=tls:www.wikipedia.org:443",
            ),
            ("tls:WWW.Example.ORG", "foreign=tls:www.example.org:443"),
            ("domestic=tls:1.1.1.1:443", "domestic=tls:1.1.1.1:443"),
            (
                "tls:[2606:4700::1111]:853",
                "foreign=tls:[2606:4700::1111]:853",
            ),
            (" Foreign = tcp:192.0.2.1:80 ", "foreign=tcp:192.0.2.1:80"),
            ("domestic=tcp:[::1]:22", "domestic=tcp:[::1]:22"),
        ];
        for (spec, shown) in cases {
            let control = c(spec);
            assert_eq!(control.to_string(), shown, "{spec}");
            assert_eq!(c(shown), control, "round trip of {shown}");
        }
        assert_eq!(c("tls:1.1.1.1:443").address(), "1.1.1.1:443");
        assert_eq!(c("tls:1.1.1.1:443").target(), "tls:1.1.1.1:443");
    }

    #[test]
    fn bad_specs_say_why() {
        for spec in [
            "",
            "dns",
            "http:example.org:80",
            "dns:example.org",
            "dns:192.0.2.1:0",
            "tcp:192.0.2.1",
            "tcp:host.example:80",
            "tls:",
            "tls:a b:443",
            "tls:host:99999",
            "tls:[::1]x",
            "abroad=tcp:192.0.2.1:80",
            "domestic=",
        ] {
            let e = spec.parse::<Control>().expect_err(spec);
            assert_eq!(e.spec, spec);
            assert!(e.to_string().starts_with("bad control"), "{e}");
        }
    }

    #[test]
    fn resolv_conf_nameservers() {
        let text = "# generated\nsearch lan\nnameserver 192.0.2.53 # ISP\n\
                    nameserver fe80::1%eth0\n  nameserver   2001:db8::53\n\
                    ;nameserver 192.0.2.99\nnameserver bogus\noptions edns0\n";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                "192.0.2.53".parse::<IpAddr>().unwrap(),
                "2001:db8::53".parse().unwrap()
            ]
        );
        assert!(parse_resolv_conf("").is_empty());
    }

    #[test]
    fn defaults_prefer_real_resolvers_and_say_why() {
        let d = defaults(
            Some("nameserver 192.0.2.53\nnameserver 8.8.8.8\n"),
            None,
            true,
        );
        let specs: Vec<String> = d.controls.iter().map(ToString::to_string).collect();
        assert_eq!(
            specs,
            [
                "domestic=dns:192.0.2.53:53",
                "foreign=tls:www.wikipedia.org:443",
                "foreign=tls:1.1.1.1:443"
            ]
        );
        assert_eq!(d.notes, [DefaultNote::PublicSkipped]);

        // A stub resolver: its upstream from systemd-resolved, if known.
        let stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\n";
        let d = defaults(Some(stub), Some("nameserver 198.51.100.1\n"), false);
        let specs: Vec<String> = d.controls.iter().map(ToString::to_string).collect();
        assert_eq!(
            specs,
            ["domestic=dns:198.51.100.1:53", "foreign=tls:1.1.1.1:443"]
        );
        assert_eq!(
            d.notes,
            [DefaultNote::FromSystemd, DefaultNote::NameSkipped]
        );

        // Only the stub: used, and said so.
        let d = defaults(Some(stub), None, true);
        assert_eq!(d.controls[0].to_string(), "domestic=dns:127.0.0.53:53");
        assert_eq!(d.notes, [DefaultNote::LoopbackOnly]);

        // Nothing at all: foreign controls only.
        let d = defaults(None, None, true);
        assert_eq!(d.controls.len(), 2);
        assert!(d.controls.iter().all(|c| c.scope == Scope::Foreign));
        assert_eq!(d.notes, [DefaultNote::NoResolver]);
    }

    fn result(scope: Scope, ok: bool, failure: Option<Failure>) -> (Scope, ControlResult) {
        let control = Control::tcp(scope, "192.0.2.1:443".parse().unwrap());
        (
            scope,
            ControlResult {
                control,
                ok,
                latency_ms: ok.then_some(12.0),
                failure,
                detail: None,
            },
        )
    }

    fn read(items: &[(Scope, ControlResult)], pending: &[Scope]) -> Option<Reading> {
        assess(
            items
                .iter()
                .map(|(s, r)| (*s, Some(r)))
                .chain(pending.iter().map(|s| (*s, None))),
        )
    }

    #[test]
    fn assessment_rules() {
        use Scope::{Domestic as D, Foreign as F};
        let ok = |s| result(s, true, None);
        let timeout = |s| result(s, false, Some(Failure::GenericTimeout));
        let reset = |s| result(s, false, Some(Failure::ConnectionReset));
        let servfail = |s| result(s, false, Some(Failure::DnsServfail));

        assert_eq!(read(&[], &[]), None);
        // A working foreign host settles it, even with others pending.
        assert_eq!(read(&[ok(F)], &[D]), Some(Reading::InternetUp));
        assert_eq!(
            read(&[timeout(D), ok(F), timeout(F)], &[]),
            Some(Reading::InternetUp)
        );
        // Anything else waits for every result.
        assert_eq!(read(&[timeout(D)], &[F]), None);
        assert_eq!(
            read(&[timeout(D), timeout(F)], &[]),
            Some(Reading::NetworkDown)
        );
        assert_eq!(
            read(&[servfail(D), timeout(F)], &[]),
            Some(Reading::NetworkDown)
        );
        assert_eq!(
            read(&[ok(D), timeout(F), timeout(F)], &[]),
            Some(Reading::InternationalCut)
        );
        assert_eq!(read(&[ok(D), reset(F)], &[]), Some(Reading::Filtered));
        assert_eq!(
            read(&[timeout(D), reset(F), timeout(F)], &[]),
            Some(Reading::Filtered)
        );
        // Only domestic controls: up or down, nothing to compare with.
        assert_eq!(read(&[ok(D)], &[]), None);
        assert_eq!(read(&[timeout(D)], &[]), Some(Reading::NetworkDown));
        // A domestic refusal still shows the path works.
        let refused = result(D, false, Some(Failure::ConnectionRefused));
        assert_eq!(
            read(&[refused, timeout(F)], &[]),
            Some(Reading::InternationalCut)
        );
    }

    #[test]
    fn failures_map_to_diagnoses() {
        let (_, r) = result(Scope::Foreign, false, Some(Failure::SslUnknownAuthority));
        assert_eq!(r.diagnosis(), Diagnosis::CertificateInvalid);
        assert_eq!(r.answered(), Answered::Interfered);
        let (_, r) = result(Scope::Foreign, false, Some(Failure::GenericTimeout));
        assert_eq!(r.diagnosis(), Diagnosis::Timeout);
        let (_, r) = result(Scope::Foreign, true, None);
        assert_eq!(r.diagnosis(), Diagnosis::Ok);
    }
}
