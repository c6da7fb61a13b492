//! The measurement model: what one probe of one endpoint found, step by step.
//!
//! This is the unit that `scan --format jsonl` prints and that exports and the
//! history store keep, so it is versioned (`schema_version`) and every field
//! has a stable serialized name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalog::{EndpointKind, Origin};

/// Bumped whenever a serialized field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// One network operation, named as OONI names them where OONI has a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Name resolution (system resolver or a bootstrap list).
    Resolve,
    TcpConnect,
    TlsHandshake,
    /// A TLS handshake with a harmless server name, used to tell SNI
    /// filtering apart from an IP block.
    TlsHandshakeControl,
    HttpRoundTrip,
    DnsRoundTrip,
    /// Starting a pluggable-transport client binary (managed-PT protocol).
    PtLaunch,
    /// The transport's own handshake and the Tor channel through it.
    PtHandshake,
    /// Tor link handshake: VERSIONS, CERTS, AUTH_CHALLENGE, NETINFO, with
    /// the bridge identity checked against the line.
    TorHandshake,
    /// A one-hop circuit (CREATE_FAST) on the channel.
    TorCircuit,
    /// Directory downloads over BEGIN_DIR: the data test.
    TorDirFetch,
    /// A full Tor client bootstrapping through the bridge (deep mode).
    TorBootstrap,
    /// WireGuard (or AmneziaWG) handshake initiation and its verified response.
    WireguardHandshake,
    /// A DNS query through an established VPN tunnel, answer verified.
    TunnelData,
    /// OpenVPN `P_CONTROL_HARD_RESET_CLIENT` and the server's reset reply.
    OpenvpnReset,
    /// TLS on the OpenVPN control channel, up to the server certificate.
    OpenvpnTls,
    /// IKEv2 `IKE_SA_INIT` request and a reply carrying our SPI.
    IkeSaInit,
    /// An authenticated Shadowsocks request through the server and its answer.
    ShadowsocksRoundTrip,
    /// A QUIC handshake (Hysteria2, TUIC fronts).
    QuicHandshake,
}

impl Operation {
    /// Every operation, for schema and translation completeness checks.
    pub const ALL: [Operation; 19] = [
        Operation::Resolve,
        Operation::TcpConnect,
        Operation::TlsHandshake,
        Operation::TlsHandshakeControl,
        Operation::HttpRoundTrip,
        Operation::DnsRoundTrip,
        Operation::PtLaunch,
        Operation::PtHandshake,
        Operation::TorHandshake,
        Operation::TorCircuit,
        Operation::TorDirFetch,
        Operation::TorBootstrap,
        Operation::WireguardHandshake,
        Operation::TunnelData,
        Operation::OpenvpnReset,
        Operation::OpenvpnTls,
        Operation::IkeSaInit,
        Operation::ShadowsocksRoundTrip,
        Operation::QuicHandshake,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Resolve => "resolve",
            Operation::TcpConnect => "tcp_connect",
            Operation::TlsHandshake => "tls_handshake",
            Operation::TlsHandshakeControl => "tls_handshake_control",
            Operation::HttpRoundTrip => "http_round_trip",
            Operation::DnsRoundTrip => "dns_round_trip",
            Operation::PtLaunch => "pt_launch",
            Operation::PtHandshake => "pt_handshake",
            Operation::TorHandshake => "tor_handshake",
            Operation::TorCircuit => "tor_circuit",
            Operation::TorDirFetch => "tor_dir_fetch",
            Operation::TorBootstrap => "tor_bootstrap",
            Operation::WireguardHandshake => "wireguard_handshake",
            Operation::TunnelData => "tunnel_data",
            Operation::OpenvpnReset => "openvpn_reset",
            Operation::OpenvpnTls => "openvpn_tls",
            Operation::IkeSaInit => "ike_sa_init",
            Operation::ShadowsocksRoundTrip => "shadowsocks_round_trip",
            Operation::QuicHandshake => "quic_handshake",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a step failed, as an OONI failure string.
///
/// Serialized as the bare string (`"generic_timeout_error"`, or
/// `"unknown_failure: <message>"` for anything without a better name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Failure {
    GenericTimeout,
    ConnectionRefused,
    ConnectionReset,
    ConnectionAborted,
    Eof,
    HostUnreachable,
    NetworkUnreachable,
    SslInvalidHostname,
    SslUnknownAuthority,
    SslInvalidCertificate,
    SslFailedHandshake,
    /// The certificate chain validated but matched none of the pinned hashes.
    SslPinMismatch,
    DnsNxdomain,
    DnsServfail,
    DnsRefused,
    DnsNoAnswer,
    DnsWrongQueryId,
    DnsServerMisbehaving,
    DnsBogon,
    HttpUnexpectedStatusCode,
    Interrupted,
    /// Anything else; the message must already be scrubbed of addresses.
    Unknown(String),
}

impl Failure {
    pub fn as_string(&self) -> String {
        self.to_string()
    }

    /// True for failures that mean the peer never answered in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Failure::GenericTimeout)
    }

    /// Certificate problems: possible interception, never a plain outage.
    pub fn is_certificate(&self) -> bool {
        matches!(
            self,
            Failure::SslInvalidHostname
                | Failure::SslUnknownAuthority
                | Failure::SslInvalidCertificate
                | Failure::SslPinMismatch
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Failure::GenericTimeout => "generic_timeout_error",
            Failure::ConnectionRefused => "connection_refused",
            Failure::ConnectionReset => "connection_reset",
            Failure::ConnectionAborted => "connection_aborted",
            Failure::Eof => "eof_error",
            Failure::HostUnreachable => "host_unreachable",
            Failure::NetworkUnreachable => "network_unreachable",
            Failure::SslInvalidHostname => "ssl_invalid_hostname",
            Failure::SslUnknownAuthority => "ssl_unknown_authority",
            Failure::SslInvalidCertificate => "ssl_invalid_certificate",
            Failure::SslFailedHandshake => "ssl_failed_handshake",
            Failure::SslPinMismatch => "ssl_pin_mismatch",
            Failure::DnsNxdomain => "dns_nxdomain_error",
            Failure::DnsServfail => "dns_servfail_error",
            Failure::DnsRefused => "dns_refused_error",
            Failure::DnsNoAnswer => "dns_no_answer",
            Failure::DnsWrongQueryId => "dns_reply_with_wrong_query_id",
            Failure::DnsServerMisbehaving => "dns_server_misbehaving",
            Failure::DnsBogon => "dns_bogon_error",
            Failure::HttpUnexpectedStatusCode => "http_unexpected_status_code",
            Failure::Interrupted => "interrupted",
            Failure::Unknown(msg) => return write!(f, "unknown_failure: {msg}"),
        };
        f.write_str(s)
    }
}

impl FromStr for Failure {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "generic_timeout_error" => Failure::GenericTimeout,
            "connection_refused" => Failure::ConnectionRefused,
            "connection_reset" => Failure::ConnectionReset,
            "connection_aborted" => Failure::ConnectionAborted,
            "eof_error" => Failure::Eof,
            "host_unreachable" => Failure::HostUnreachable,
            "network_unreachable" => Failure::NetworkUnreachable,
            "ssl_invalid_hostname" => Failure::SslInvalidHostname,
            "ssl_unknown_authority" => Failure::SslUnknownAuthority,
            "ssl_invalid_certificate" => Failure::SslInvalidCertificate,
            "ssl_failed_handshake" => Failure::SslFailedHandshake,
            "ssl_pin_mismatch" => Failure::SslPinMismatch,
            "dns_nxdomain_error" => Failure::DnsNxdomain,
            "dns_servfail_error" => Failure::DnsServfail,
            "dns_refused_error" => Failure::DnsRefused,
            "dns_no_answer" => Failure::DnsNoAnswer,
            "dns_reply_with_wrong_query_id" => Failure::DnsWrongQueryId,
            "dns_server_misbehaving" => Failure::DnsServerMisbehaving,
            "dns_bogon_error" => Failure::DnsBogon,
            "http_unexpected_status_code" => Failure::HttpUnexpectedStatusCode,
            "interrupted" => Failure::Interrupted,
            other => Failure::Unknown(
                other
                    .strip_prefix("unknown_failure: ")
                    .unwrap_or(other)
                    .to_string(),
            ),
        })
    }
}

impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Failure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let Ok(f) = s.parse();
        Ok(f)
    }
}

/// Where a resolved address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressSource {
    /// The operating system's resolver (what an app would use).
    System,
    /// Addresses shipped with the endpoint (stamp, list) or configured.
    Bootstrap,
}

/// One timed step of a measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub operation: Operation,
    /// What the step talked to: `ip:port`, a host name, or a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Seconds since the measurement started.
    pub t0: f64,
    pub t: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Extra facts: resolver engine, TLS server name, HTTP status, ALPN,
    /// DNS answer summary. Never a secret the endpoint did not already show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

impl Step {
    pub fn duration_ms(&self) -> f64 {
        (self.t - self.t0) * 1000.0
    }
}

/// The bottom line of a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Protocol-level evidence that the endpoint works from here.
    Reachable,
    /// The server's front (TCP/TLS/QUIC) answered, but the protocol gives
    /// no way to prove the login without carrying real traffic: never
    /// counted as working.
    Unverified,
    Failed,
}

/// The blocking diagnosis: what the evidence says happened, in one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Diagnosis {
    Ok,
    Timeout,
    ConnectionReset,
    ConnectionRefused,
    HostUnreachable,
    /// The real server name fails while a harmless one to the same address works.
    SniFiltered,
    /// The system resolver's answer for the endpoint host is bogus while the
    /// bootstrap address works.
    DnsPoisoned,
    /// Every address dropped our connections while other hosts answered.
    IpBlocked,
    /// Certificate did not validate: possible interception.
    CertificateInvalid,
    /// The resolver answered a name that does not exist.
    LyingResolver,
    HttpError,
    BadResponse,
    /// The endpoint's host name could not be resolved and no bootstrap
    /// address was available.
    ResolveFailed,
    /// TLS to the bridge failed (not a reset or timeout).
    TlsFailed,
    /// The bridge proved a different identity than the line names: a wrong
    /// line, or someone in the middle.
    IdentityMismatch,
    /// The pluggable transport's client binary is not installed.
    PtMissing,
    /// The transport's client program is installed but would not start.
    PtLaunchFailed,
    /// The transport's handshake failed although the bridge port answers.
    PtHandshakeFailed,
    /// The handshake worked but data stopped after some bytes.
    Stalled,
    /// Data flowed, far below a usable rate.
    Slow,
    /// Certificates rejected because this computer's clock is wrong.
    ClockSkew,
    /// A full Tor client could not bootstrap through the bridge.
    BootstrapFailed,
    /// ICMP port unreachable came back for our UDP packets.
    PortUnreachable,
    /// An authenticated request went out and nothing came back: blocked,
    /// wrong key or server down (notes say which checks ruled what out).
    NoResponse,
    /// The server said our credentials are wrong.
    AuthFailed,
    /// Only the server's front (TCP/TLS/QUIC) was checked; the login was not.
    FrontReachable,
    /// The configuration needs something bridgescout cannot speak (a
    /// Shadowsocks plugin, an obfuscated QUIC): nothing was sent.
    NotTestable,
}

impl Diagnosis {
    /// Every diagnosis, for schema and translation completeness checks.
    pub const ALL: [Diagnosis; 27] = [
        Diagnosis::Ok,
        Diagnosis::Timeout,
        Diagnosis::ConnectionReset,
        Diagnosis::ConnectionRefused,
        Diagnosis::HostUnreachable,
        Diagnosis::SniFiltered,
        Diagnosis::DnsPoisoned,
        Diagnosis::IpBlocked,
        Diagnosis::CertificateInvalid,
        Diagnosis::LyingResolver,
        Diagnosis::HttpError,
        Diagnosis::BadResponse,
        Diagnosis::ResolveFailed,
        Diagnosis::TlsFailed,
        Diagnosis::IdentityMismatch,
        Diagnosis::PtMissing,
        Diagnosis::PtLaunchFailed,
        Diagnosis::PtHandshakeFailed,
        Diagnosis::Stalled,
        Diagnosis::Slow,
        Diagnosis::ClockSkew,
        Diagnosis::BootstrapFailed,
        Diagnosis::PortUnreachable,
        Diagnosis::NoResponse,
        Diagnosis::AuthFailed,
        Diagnosis::FrontReachable,
        Diagnosis::NotTestable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Diagnosis::Ok => "ok",
            Diagnosis::Timeout => "timeout",
            Diagnosis::ConnectionReset => "connection_reset",
            Diagnosis::ConnectionRefused => "connection_refused",
            Diagnosis::HostUnreachable => "host_unreachable",
            Diagnosis::SniFiltered => "sni_filtered",
            Diagnosis::DnsPoisoned => "dns_poisoned",
            Diagnosis::IpBlocked => "ip_blocked",
            Diagnosis::CertificateInvalid => "certificate_invalid",
            Diagnosis::LyingResolver => "lying_resolver",
            Diagnosis::HttpError => "http_error",
            Diagnosis::BadResponse => "bad_response",
            Diagnosis::ResolveFailed => "resolve_failed",
            Diagnosis::TlsFailed => "tls_failed",
            Diagnosis::IdentityMismatch => "identity_mismatch",
            Diagnosis::PtMissing => "pt_missing",
            Diagnosis::PtLaunchFailed => "pt_launch_failed",
            Diagnosis::PtHandshakeFailed => "pt_handshake_failed",
            Diagnosis::Stalled => "stalled",
            Diagnosis::Slow => "slow",
            Diagnosis::ClockSkew => "clock_skew",
            Diagnosis::BootstrapFailed => "bootstrap_failed",
            Diagnosis::PortUnreachable => "port_unreachable",
            Diagnosis::NoResponse => "no_response",
            Diagnosis::AuthFailed => "auth_failed",
            Diagnosis::FrontReachable => "front_reachable",
            Diagnosis::NotTestable => "not_testable",
        }
    }

    /// One plain-language sentence for people, not researchers.
    pub fn explain(self) -> &'static str {
        match self {
            Diagnosis::Ok => "Works from this network.",
            Diagnosis::Timeout => {
                "Nothing answered in time, and nothing else was reachable either: the network may be down."
            }
            Diagnosis::ConnectionReset => {
                "The connection was cut by a reset: often a censor's injected packet."
            }
            Diagnosis::ConnectionRefused => {
                "The connection was refused: the server is down or a firewall answers for it."
            }
            Diagnosis::HostUnreachable => {
                "The network said the host is unreachable (ICMP): routed away or filtered."
            }
            Diagnosis::SniFiltered => {
                "Blocked by server name: the same address works with a harmless name."
            }
            Diagnosis::DnsPoisoned => {
                "Your network's DNS gives a wrong address for this server; its known address works."
            }
            Diagnosis::IpBlocked => {
                "Connections to this address are silently dropped while other hosts answer."
            }
            Diagnosis::CertificateInvalid => {
                "The certificate is not valid for this server: possible interception."
            }
            Diagnosis::LyingResolver => {
                "The resolver invents answers for names that do not exist: do not trust it."
            }
            Diagnosis::HttpError => "The server answered with an HTTP error.",
            Diagnosis::BadResponse => "The server's answer was not a valid DNS response.",
            Diagnosis::ResolveFailed => {
                "The server's name could not be resolved and no fallback address is known."
            }
            Diagnosis::TlsFailed => "The encrypted connection to the bridge could not be set up.",
            Diagnosis::IdentityMismatch => {
                "The bridge is not the one the line names: a wrong line, or interception."
            }
            Diagnosis::PtLaunchFailed => {
                "The program for this transport is installed but would not start."
            }
            Diagnosis::PtMissing => {
                "The program for this transport is not installed, so it could not be tested."
            }
            Diagnosis::PtHandshakeFailed => {
                "The bridge answers, but the transport's handshake failed: wrong line or blocked."
            }
            Diagnosis::Stalled => {
                "Connected fine, then data stopped: a censor cutting flows after some traffic."
            }
            Diagnosis::Slow => "Works, but data is very slow from here.",
            Diagnosis::ClockSkew => {
                "This computer's clock is wrong; fix the date and time, then try again."
            }
            Diagnosis::BootstrapFailed => "A full Tor client could not start through this bridge.",
            Diagnosis::PortUnreachable => {
                "The network answered that nothing listens on this port (ICMP): server down or filtered."
            }
            Diagnosis::NoResponse => {
                "Our signed request got no answer: blocked, a wrong key, or the server is down."
            }
            Diagnosis::AuthFailed => {
                "The server rejected these credentials: the config is wrong or outdated."
            }
            Diagnosis::FrontReachable => {
                "The server answers, but the login could not be checked without sending real traffic."
            }
            Diagnosis::NotTestable => {
                "This config needs a plugin or transport bridgescout cannot speak, so it was not tested."
            }
        }
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bytes over time through an established tunnel: the test that catches
/// censors who let handshakes through and cut flows later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataTest {
    /// What the test wanted to receive.
    pub target_bytes: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Average rate over the test, KiB/s.
    pub kib_per_s: f64,
    /// Set when data stopped flowing before the target: bytes received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled_after: Option<u64>,
    /// (seconds since the test started, cumulative bytes), decimated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<(f64, u64)>,
}

/// Progress of a full Tor client bootstrapping through one bridge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BootstrapTrace {
    /// Highest percentage reached.
    pub percent: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_to_100: Option<f64>,
    /// (seconds since start, percent, what the client said).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<(f64, u8, String)>,
}

/// What was measured, as shown to people and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointInfo {
    pub kind: EndpointKind,
    pub label: String,
    /// How to reach it: a URL or `host:port`. May be a secret for
    /// user-supplied endpoints; exports redact it by `origin`.
    pub address: String,
    pub origin: Origin,
}

/// One probe of one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub schema_version: u32,
    /// Index of the endpoint within its scan.
    pub id: usize,
    /// Flattened so records carry `kind`, `label`, `address`, `origin` at
    /// the top level.
    #[serde(flatten)]
    pub endpoint: EndpointInfo,
    /// RFC 3339 UTC time the measurement started.
    pub start_time: String,
    /// Seconds from start to verdict.
    pub runtime: f64,
    pub steps: Vec<Step>,
    pub verdict: Verdict,
    pub diagnosis: Diagnosis,
    /// The failure that decided the verdict, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_operation: Option<Operation>,
    /// Time of the protocol round trip that proved reachability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Plain-language remarks (HTTP/1.1 only, GET unsupported, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_test: Option<DataTest>,
    /// Peer's clock minus ours, seconds, as the peer claimed it (Tor NETINFO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapTrace>,
}

impl Measurement {
    pub fn is_reachable(&self) -> bool {
        self.verdict == Verdict::Reachable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_strings_round_trip() {
        let all = [
            Failure::GenericTimeout,
            Failure::ConnectionRefused,
            Failure::ConnectionReset,
            Failure::Eof,
            Failure::SslInvalidHostname,
            Failure::DnsNxdomain,
            Failure::Unknown("weird thing".into()),
        ];
        for f in all {
            let s = serde_json::to_string(&f).unwrap();
            let back: Failure = serde_json::from_str(&s).unwrap();
            assert_eq!(back, f, "{s}");
        }
        assert_eq!(
            Failure::Unknown("x".into()).to_string(),
            "unknown_failure: x"
        );
        assert_eq!(Failure::GenericTimeout.to_string(), "generic_timeout_error");
    }

    #[test]
    fn diagnosis_serializes_as_code() {
        let s = serde_json::to_string(&Diagnosis::SniFiltered).unwrap();
        assert_eq!(s, "\"sni_filtered\"");
        assert_eq!(Diagnosis::DnsPoisoned.as_str(), "dns_poisoned");
    }
}
