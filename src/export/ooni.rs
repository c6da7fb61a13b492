//! OONI export: one measurement per line in OONI's base data format
//! (df-000-base, data format version 0.2.0), `test_keys` shaped like the
//! OONI nettest closest to what was measured.
//!
//! One mapping function per endpoint kind, chosen in [`test_keys`]:
//!
//! * DoH, DoT → [`dnscheck_test_keys`] (OONI `dnscheck`, ts-028).
//! * Tor bridges → [`tor_test_keys`] (OONI `tor`, ts-023).
//! * VPNs and proxies → [`vpn_test_keys`] under the namespaced
//!   [`VPN_TEST_NAME`], since OONI has no generic VPN nettest.
//!
//! The input is an already redacted run, so pseudonyms flow through;
//! `probe_ip` is always the withheld value `127.0.0.1`.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::UNIX_EPOCH;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::redact::Redactor;
use crate::catalog::EndpointKind;
use crate::measurement::{Measurement, Operation, Step};
use crate::run::{Run, RunMeta};

pub const DATA_FORMAT_VERSION: &str = "0.2.0";
pub const SOFTWARE_NAME: &str = "bridgescout";
/// OONI's value for a probe address that is not disclosed.
pub const WITHHELD_PROBE_IP: &str = "127.0.0.1";
pub const UNKNOWN_ASN: &str = "AS0";
pub const UNKNOWN_CC: &str = "ZZ";
/// Version of our mapping onto OONI's test keys (not OONI's own test
/// versions: this data was not produced by OONI Probe).
pub const MAPPING_VERSION: &str = "0.1.0";
/// Test name for VPN measurements, outside OONI's own names.
pub const VPN_TEST_NAME: &str = "bridgescout_vpn";

/// One OONI measurement (df-000-base top level).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OoniMeasurement {
    pub annotations: BTreeMap<String, String>,
    pub data_format_version: String,
    pub input: Option<String>,
    /// `YYYY-MM-DD hh:mm:ss`, UTC.
    pub measurement_start_time: String,
    pub probe_asn: String,
    pub probe_cc: String,
    pub probe_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_network_name: Option<String>,
    pub report_id: String,
    pub software_name: String,
    pub software_version: String,
    pub test_keys: Value,
    pub test_name: String,
    pub test_runtime: f64,
    pub test_start_time: String,
    pub test_version: String,
}

/// OONI test name for an endpoint kind.
pub fn test_name(kind: EndpointKind) -> &'static str {
    match kind {
        EndpointKind::Doh | EndpointKind::Dot => "dnscheck",
        k if k.is_vpn() => VPN_TEST_NAME,
        _ => "tor",
    }
}

/// Test keys for one measurement, by endpoint kind.
pub fn test_keys(m: &Measurement) -> Value {
    match m.endpoint.kind {
        EndpointKind::Doh | EndpointKind::Dot => dnscheck_test_keys(m),
        // OONI's tor test calls vanilla bridges `or_port`.
        EndpointKind::Tor => tor_test_keys(m, "or_port"),
        k if k.is_vpn() => vpn_test_keys(m),
        other => tor_test_keys(m, other.as_str()),
    }
}

/// `YYYY-MM-DD hh:mm:ss` for an RFC 3339 time; the epoch if unparsable
/// (OONI requires a time, and inventing a plausible one would mislead).
pub fn ooni_time(ts: &str) -> String {
    let t = humantime::parse_rfc3339_weak(ts).unwrap_or(UNIX_EPOCH);
    let s = humantime::format_rfc3339_seconds(t).to_string();
    s.trim_end_matches('Z').replacen('T', " ", 1)
}

/// OONI's report id: `YYYYMMDDThhmmssZ_<test>_<CC>_<ASN>_n1_<random>`;
/// the random part is keyed by the export salt, so it is unlinkable.
fn report_id(meta: &RunMeta, run_index: usize, test: &str, redactor: &Redactor) -> String {
    let compact: String = ooni_time(&meta.started_at)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let (date, time) = compact.split_at(compact.len().min(8));
    let cc = meta.network.country.as_deref().unwrap_or(UNKNOWN_CC);
    let asn = meta.network.asn.unwrap_or(0);
    let random = redactor.hash_hex(
        "report",
        &format!("{run_index}\0{}\0{test}", meta.started_at),
        16,
    );
    format!("{date}T{time}Z_{test}_{cc}_{asn}_n1_{random}")
}

/// The endpoint as OONI's dnscheck takes it as input (`dot://` for DoT).
fn input_for(m: &Measurement) -> String {
    match m.endpoint.kind {
        EndpointKind::Dot => match m.endpoint.address.strip_prefix("tls://") {
            Some(rest) => format!("dot://{rest}"),
            None => m.endpoint.address.clone(),
        },
        _ => m.endpoint.address.clone(),
    }
}

pub fn to_ooni(
    m: &Measurement,
    meta: &RunMeta,
    report_id: &str,
    redacted: bool,
) -> OoniMeasurement {
    let mut annotations = BTreeMap::new();
    annotations.insert("bridgescout_kind".into(), m.endpoint.kind.to_string());
    annotations.insert(
        "bridgescout_origin".into(),
        match m.endpoint.origin {
            crate::catalog::Origin::Builtin => "builtin".into(),
            crate::catalog::Origin::User => "user".into(),
        },
    );
    annotations.insert("bridgescout_redacted".into(), redacted.to_string());
    OoniMeasurement {
        annotations,
        data_format_version: DATA_FORMAT_VERSION.into(),
        input: Some(input_for(m)),
        measurement_start_time: ooni_time(&m.start_time),
        probe_asn: meta
            .network
            .asn
            .map(|a| format!("AS{a}"))
            .unwrap_or_else(|| UNKNOWN_ASN.into()),
        probe_cc: meta
            .network
            .country
            .clone()
            .unwrap_or_else(|| UNKNOWN_CC.into()),
        probe_ip: WITHHELD_PROBE_IP.into(),
        probe_network_name: meta.network.as_name.clone(),
        report_id: report_id.into(),
        software_name: SOFTWARE_NAME.into(),
        software_version: meta.software_version.clone(),
        test_keys: test_keys(m),
        test_name: test_name(m.endpoint.kind).into(),
        test_runtime: m.runtime,
        test_start_time: ooni_time(&meta.started_at),
        test_version: MAPPING_VERSION.into(),
    }
}

/// Writes redacted `runs` as OONI JSON Lines.
pub fn write(
    runs: &[Run],
    redactor: &Redactor,
    out: &mut impl Write,
) -> Result<(), serde_json::Error> {
    for (i, run) in runs.iter().enumerate() {
        // One OONI report per run and test name, as OONI Probe does.
        let mut ids: BTreeMap<&'static str, String> = BTreeMap::new();
        for m in &run.measurements {
            let test = test_name(m.endpoint.kind);
            let id = ids
                .entry(test)
                .or_insert_with(|| report_id(&run.meta, i, test, redactor))
                .clone();
            let o = to_ooni(m, &run.meta, &id, redactor.redacts_endpoints());
            serde_json::to_writer(&mut *out, &o)?;
            out.write_all(b"\n").map_err(serde_json::Error::io)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- mapping

/// OONI operation name of a failed step (df-007 `failed_operation`).
fn ooni_operation(op: Operation) -> &'static str {
    match op {
        Operation::Resolve => "resolve",
        Operation::TcpConnect => "connect",
        Operation::TlsHandshake | Operation::TlsHandshakeControl => "tls_handshake",
        Operation::HttpRoundTrip => "http_transaction",
        Operation::DnsRoundTrip => "dns_round_trip",
        // No OONI names for these; ours, unchanged.
        other => other.as_str(),
    }
}

fn failure_value(s: &Step) -> Value {
    s.failure
        .as_ref()
        .map_or(Value::Null, |f| json!(f.to_string()))
}

/// The peer address a step talked to: the first word of its target.
fn step_peer(s: &Step) -> Option<&str> {
    s.target.as_deref()?.split_whitespace().next()
}

fn answers(addresses: impl IntoIterator<Item = String>) -> Vec<Value> {
    addresses
        .into_iter()
        .map(|a| match a.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => json!({"answer_type": "A", "ipv4": a, "ttl": null}),
            Ok(IpAddr::V6(_)) => json!({"answer_type": "AAAA", "ipv6": a, "ttl": null}),
            // A redacted address: type unknown, value kept as the pseudonym.
            Err(_) => json!({"answer_type": "A", "ipv4": a, "ttl": null}),
        })
        .collect()
}

/// df-002 query for a name-resolution step.
fn resolve_query(s: &Step) -> Value {
    let detail = s.detail.as_deref().unwrap_or("");
    let (engine, resolver_address) = if let Some(server) = detail.strip_prefix("udp ") {
        let server = server.split_whitespace().next().unwrap_or("");
        let addr = match server.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, 53).to_string(),
            Err(_) => server.to_string(),
        };
        ("udp", addr)
    } else if detail.starts_with("system") {
        ("system", String::new())
    } else {
        ("bootstrap", String::new())
    };
    json!({
        "answers": if s.addresses.is_empty() { Value::Null } else { json!(answers(s.addresses.clone())) },
        "engine": engine,
        "failure": failure_value(s),
        "hostname": s.target.clone().unwrap_or_default(),
        "query_type": "ANY",
        "resolver_address": resolver_address,
        "resolver_hostname": null,
        "resolver_port": null,
        "t0": s.t0,
        "t": s.t,
    })
}

/// Splits an exchange detail `POST probe.test A: <summary>` into the name,
/// the query type and any addresses in the summary.
fn parse_exchange_detail(detail: &str) -> Option<(String, String, Vec<String>)> {
    let (head, summary) = match detail.split_once(':') {
        Some((h, s)) => (h, s),
        None => (detail, ""),
    };
    let words: Vec<&str> = head.split_whitespace().collect();
    let [_method, name, qtype] = words.as_slice() else {
        return None;
    };
    let addrs = summary
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|w| w.parse::<IpAddr>().is_ok() || w.starts_with(super::redact::VALUE_PREFIX))
        .map(str::to_string)
        .collect();
    // OONI writes names without the root dot.
    let name = name.strip_suffix('.').unwrap_or(name);
    Some((name.to_string(), qtype.to_string(), addrs))
}

/// `sni=<name> <version> alpn=<proto>` → (server name, TLS version, ALPN).
fn parse_tls_detail(detail: &str) -> (Option<String>, String, String) {
    let mut sni = None;
    let mut version = String::new();
    let mut alpn = String::new();
    for word in detail.split_whitespace() {
        if let Some(v) = word.strip_prefix("sni=") {
            sni = Some(v.to_string());
        } else if let Some(v) = word.strip_prefix("alpn=") {
            if v != "none" {
                alpn = v.to_string();
            }
        } else if let Some(v) = word.strip_prefix("TLSv") {
            // rustls spells `TLSv1_3`; OONI writes `TLSv1.3`.
            version = format!("TLSv{}", v.replace('_', "."));
        }
    }
    (sni, version, alpn)
}

/// The df-001/005/006/008 keys of one peer's steps, as OONI's urlgetter
/// (dnscheck lookups, tor targets) records them.
fn peer_keys(steps: &[&Step], engine: &str) -> serde_json::Map<String, Value> {
    let mut tcp = Vec::new();
    let mut tls = Vec::new();
    let mut queries = Vec::new();
    let mut events = Vec::new();
    let mut failure = Value::Null;
    let mut failed_operation = Value::Null;
    for s in steps {
        let peer = step_peer(s).unwrap_or("").to_string();
        if s.failure.is_some() && failure.is_null() {
            failure = failure_value(s);
            failed_operation = json!(ooni_operation(s.operation));
        }
        let event_op = match s.operation {
            Operation::Resolve => "resolve_done",
            Operation::TcpConnect => "connect",
            Operation::TlsHandshake | Operation::TlsHandshakeControl => "tls_handshake_done",
            Operation::HttpRoundTrip => "http_transaction_done",
            Operation::DnsRoundTrip => "dns_round_trip_done",
            other => other.as_str(),
        };
        events.push(json!({
            "address": peer,
            "failure": failure_value(s),
            "operation": event_op,
            "proto": step_proto(s.operation),
            "t0": s.t0,
            "t": s.t,
        }));
        match s.operation {
            Operation::TcpConnect => {
                // A redacted peer has no parsable port: the port would
                // identify the endpoint as much as the address.
                let (ip, port) = match peer.parse::<SocketAddr>() {
                    Ok(sa) => (json!(sa.ip().to_string()), json!(sa.port())),
                    Err(_) => (json!(peer), Value::Null),
                };
                tcp.push(json!({
                    "ip": ip,
                    "port": port,
                    "status": {
                        "failure": failure_value(s),
                        "success": s.failure.is_none(),
                    },
                    "t0": s.t0,
                    "t": s.t,
                }));
            }
            Operation::TlsHandshake | Operation::TlsHandshakeControl => {
                let (sni, version, alpn) = parse_tls_detail(s.detail.as_deref().unwrap_or(""));
                tls.push(json!({
                    "address": peer,
                    "cipher_suite": "",
                    "failure": failure_value(s),
                    "negotiated_protocol": alpn,
                    "no_tls_verify": s.operation == Operation::TlsHandshakeControl,
                    "peer_certificates": null,
                    "server_name": sni,
                    "t0": s.t0,
                    "t": s.t,
                    "tls_version": version,
                }));
            }
            Operation::HttpRoundTrip | Operation::DnsRoundTrip => {
                if let Some((name, qtype, addrs)) =
                    s.detail.as_deref().and_then(parse_exchange_detail)
                {
                    queries.push(json!({
                        "answers": if addrs.is_empty() { Value::Null } else { json!(answers(addrs)) },
                        "engine": engine,
                        "failure": failure_value(s),
                        "hostname": name,
                        "query_type": qtype,
                        "resolver_address": peer,
                        "resolver_hostname": null,
                        "resolver_port": null,
                        "t0": s.t0,
                        "t": s.t,
                    }));
                }
            }
            _ => {}
        }
    }
    let none_if_empty = |v: Vec<Value>| {
        if v.is_empty() {
            Value::Null
        } else {
            Value::Array(v)
        }
    };
    let mut out = serde_json::Map::new();
    out.insert("agent".into(), json!("redirect"));
    out.insert("failed_operation".into(), failed_operation);
    out.insert("failure".into(), failure);
    out.insert("network_events".into(), none_if_empty(events));
    out.insert("queries".into(), none_if_empty(queries));
    out.insert("requests".into(), Value::Null);
    out.insert("tcp_connect".into(), none_if_empty(tcp));
    out.insert("tls_handshakes".into(), none_if_empty(tls));
    out
}

/// Our own verdict, namespaced so OONI tools ignore it.
fn bridgescout_keys(m: &Measurement) -> Value {
    json!({
        "kind": m.endpoint.kind,
        "label": m.endpoint.label,
        "origin": m.endpoint.origin,
        "verdict": m.verdict,
        "diagnosis": m.diagnosis,
        "failed_operation": m.failed_operation,
        "latency_ms": m.latency_ms,
        "notes": m.notes,
        "schema_version": m.schema_version,
    })
}

/// OONI `dnscheck` test keys: `bootstrap` from the name-resolution steps,
/// `lookups` keyed by the resolver address each exchange went to.
pub fn dnscheck_test_keys(m: &Measurement) -> Value {
    let resolves: Vec<&Step> = m
        .steps
        .iter()
        .filter(|s| s.operation == Operation::Resolve)
        .collect();
    let (bootstrap, bootstrap_failure) = if resolves.is_empty() {
        (Value::Null, Value::Null)
    } else {
        let failure = if resolves.iter().all(|s| s.failure.is_some()) {
            failure_value(resolves[0])
        } else {
            Value::Null
        };
        let queries: Vec<Value> = resolves.iter().map(|s| resolve_query(s)).collect();
        (
            json!({
                "agent": "",
                "failed_operation": if failure.is_null() { Value::Null } else { json!("resolve") },
                "failure": failure,
                "network_events": null,
                "queries": queries,
                "requests": null,
                "tcp_connect": null,
                "tls_handshakes": null,
            }),
            failure,
        )
    };
    let (scheme, engine) = match m.endpoint.kind {
        EndpointKind::Doh => ("https", "doh"),
        // Only DoT (and DoH above) reach dnscheck.
        _ => ("dot", "dot"),
    };
    // The DoH path, when the address is a (non-redacted) URL.
    let path = m
        .endpoint
        .address
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
        .filter(|_| m.endpoint.kind == EndpointKind::Doh)
        .unwrap_or_default();
    let mut by_peer: BTreeMap<String, Vec<&Step>> = BTreeMap::new();
    for s in m.steps.iter().filter(|s| s.operation != Operation::Resolve) {
        if let Some(peer) = step_peer(s) {
            by_peer.entry(peer.to_string()).or_default().push(s);
        }
    }
    let mut lookups = serde_json::Map::new();
    let mut domain = Value::Null;
    for (peer, steps) in by_peer {
        let keys = peer_keys(&steps, engine);
        if domain.is_null()
            && let Some(q) = keys
                .get("queries")
                .and_then(Value::as_array)
                .and_then(|q| q.first())
        {
            domain = q.get("hostname").cloned().unwrap_or(Value::Null);
        }
        lookups.insert(format!("{scheme}://{peer}{path}"), Value::Object(keys));
    }
    json!({
        "bootstrap": bootstrap,
        "bootstrap_failure": bootstrap_failure,
        "domain": domain,
        "failure": m.failure.as_ref().map(ToString::to_string),
        "lookups": lookups,
        "x_bridgescout": bridgescout_keys(m),
    })
}

/// OONI `tor` test keys for a bridge measurement, `protocol` being OONI's
/// target protocol (`obfs4`, `or_port`, ...). Targets are keyed by the
/// SHA-256 of the address, as OONI does for bridges, so the key itself
/// reveals nothing the (possibly redacted) address does not.
pub fn tor_test_keys(m: &Measurement, protocol: &str) -> Value {
    let steps: Vec<&Step> = m.steps.iter().collect();
    let mut target = peer_keys(&steps, "system");
    target.insert(
        "failure".into(),
        json!(m.failure.as_ref().map(ToString::to_string)),
    );
    target.insert("target_address".into(), json!(m.endpoint.address));
    target.insert("target_name".into(), json!(m.endpoint.label));
    target.insert("target_protocol".into(), json!(protocol));
    let id: String = Sha256::digest(m.endpoint.address.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut keys = serde_json::Map::new();
    for p in ["dir_port", "obfs4", "or_port_dirauth", "or_port"] {
        let (total, ok) = if p == protocol {
            (1, usize::from(m.is_reachable()))
        } else {
            (0, 0)
        };
        keys.insert(format!("{p}_total"), json!(total));
        keys.insert(format!("{p}_accessible"), json!(ok));
    }
    let mut targets = serde_json::Map::new();
    targets.insert(id, Value::Object(target));
    keys.insert("targets".into(), Value::Object(targets));
    keys.insert("x_bridgescout".into(), bridgescout_keys(m));
    Value::Object(keys)
}

/// Transport of a step, for OONI network events.
fn step_proto(op: Operation) -> &'static str {
    match op {
        Operation::WireguardHandshake
        | Operation::TunnelData
        | Operation::IkeSaInit
        | Operation::QuicHandshake => "udp",
        _ => "tcp",
    }
}

/// VPN and proxy test keys: OONI-style `network_events`, `tcp_connect`
/// and `tls_handshakes` from the steps, plus which protocol was spoken and
/// whether it proved an authenticated round trip.
pub fn vpn_test_keys(m: &Measurement) -> Value {
    let steps: Vec<&Step> = m.steps.iter().collect();
    let mut keys = peer_keys(&steps, "system");
    keys.insert("vpn_protocol".into(), json!(m.endpoint.kind.as_str()));
    keys.insert("target_address".into(), json!(m.endpoint.address));
    keys.insert("success".into(), json!(m.is_reachable()));
    keys.insert("x_bridgescout".into(), bridgescout_keys(m));
    Value::Object(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ooni_time_format() {
        assert_eq!(ooni_time("2024-05-06T07:08:09.5Z"), "2024-05-06 07:08:09");
        assert_eq!(ooni_time("garbage"), "1970-01-01 00:00:00");
    }

    #[test]
    fn details_parse() {
        let (name, qtype, addrs) =
            parse_exchange_detail("POST probe.test A: 192.0.2.1").unwrap_or_default();
        assert_eq!((name.as_str(), qtype.as_str()), ("probe.test", "A"));
        assert_eq!(addrs, vec!["192.0.2.1".to_string()]);
        assert!(parse_exchange_detail("HTTP/2 connection").is_none());
        let (sni, v, alpn) = parse_tls_detail("sni=doh.test TLSv1_3 alpn=h2");
        assert_eq!(sni.as_deref(), Some("doh.test"));
        assert_eq!(v, "TLSv1.3");
        assert_eq!(alpn, "h2");
    }

    #[test]
    fn tor_mapping_shape() {
        use crate::catalog::Origin;
        use crate::measurement::{Diagnosis, EndpointInfo, Failure, Verdict};
        let m = Measurement {
            schema_version: 1,
            id: 0,
            endpoint: EndpointInfo {
                kind: EndpointKind::Dot,
                label: "bridge".into(),
                address: "192.0.2.9:443".into(),
                origin: Origin::Builtin,
            },
            start_time: "2024-05-06T07:08:09Z".into(),
            runtime: 1.0,
            steps: vec![Step {
                operation: Operation::TcpConnect,
                target: Some("192.0.2.9:443".into()),
                t0: 0.0,
                t: 1.0,
                failure: Some(Failure::GenericTimeout),
                detail: None,
                addresses: vec![],
            }],
            verdict: Verdict::Failed,
            diagnosis: Diagnosis::Timeout,
            failure: Some(Failure::GenericTimeout),
            failed_operation: Some(Operation::TcpConnect),
            latency_ms: None,
            notes: vec![],
            data_test: None,
            clock_skew_s: None,
            bootstrap: None,
        };
        let k = tor_test_keys(&m, "obfs4");
        assert_eq!(k["obfs4_total"], 1);
        assert_eq!(k["obfs4_accessible"], 0);
        let targets = k["targets"].as_object().cloned().unwrap_or_default();
        assert_eq!(targets.len(), 1);
        let (id, t) = targets
            .iter()
            .next()
            .map(|(a, b)| (a.clone(), b.clone()))
            .unwrap_or_default();
        assert_eq!(id.len(), 64);
        assert_eq!(t["target_protocol"], "obfs4");
        assert_eq!(t["failure"], "generic_timeout_error");
        assert_eq!(t["tcp_connect"][0]["ip"], "192.0.2.9");
        assert_eq!(t["tcp_connect"][0]["port"], 443);
        assert_eq!(t["tcp_connect"][0]["status"]["success"], false);
    }

    #[test]
    fn vpn_mapping_names_protocol_and_udp_events() {
        use crate::catalog::Origin;
        use crate::measurement::{Diagnosis, EndpointInfo, Verdict};
        let m = Measurement {
            schema_version: 1,
            id: 0,
            endpoint: EndpointInfo {
                kind: EndpointKind::Wireguard,
                label: "wg".into(),
                address: "wireguard://192.0.2.9:51820".into(),
                origin: Origin::User,
            },
            start_time: "2024-05-06T07:08:09Z".into(),
            runtime: 1.0,
            steps: vec![Step {
                operation: Operation::WireguardHandshake,
                target: Some("192.0.2.9:51820".into()),
                t0: 0.0,
                t: 0.02,
                failure: None,
                detail: None,
                addresses: vec![],
            }],
            verdict: Verdict::Reachable,
            diagnosis: Diagnosis::Ok,
            failure: None,
            failed_operation: None,
            latency_ms: Some(20.0),
            notes: vec![],
            data_test: None,
            clock_skew_s: None,
            bootstrap: None,
        };
        assert_eq!(test_name(m.endpoint.kind), VPN_TEST_NAME);
        let k = test_keys(&m);
        assert_eq!(k["vpn_protocol"], "wireguard");
        assert_eq!(k["success"], true);
        assert_eq!(k["network_events"][0]["proto"], "udp");
        assert_eq!(k["network_events"][0]["operation"], "wireguard_handshake");
        assert_eq!(k["x_bridgescout"]["verdict"], "reachable");
    }
}
