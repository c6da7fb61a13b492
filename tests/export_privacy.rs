//! Privacy of exports: a real scan of user endpoints on in-process servers
//! (on 127.0.0.77/78, so 127.0.0.1 stays free for OONI's withheld
//! `probe_ip`), exported in every format, must not contain any address,
//! host name, URL, port-bearing address or pin of those endpoints, nor any
//! of this machine's addresses.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bridgescout::catalog::{Endpoint, Origin, Target};
use bridgescout::engine::{EngineConfig, run_all};
use bridgescout::export::{ExportFormat, ExportOptions, export, local_addresses};
use bridgescout::measurement::Failure;
use bridgescout::probe::ProbeConfig;
use bridgescout::probe::tls::tbs_sha256;
use bridgescout::run::{NetworkContext, Run, RunMeta};

use common::inproc::{DEFAULT_PROBE_NAME, Fault, TestPki, TestServer, closed_port};

const SECRET_HOST: &str = "secret-resolver.test";
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 77);
const FAILING_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 78);
/// Pretend interface address of this machine, planted in a message.
const PLANTED_LOCAL: &str = "198.51.100.23";

fn with_bootstrap(mut ep: Endpoint, ip: Ipv4Addr, label: &str, pins: Vec<[u8; 32]>) -> Endpoint {
    match &mut ep.target {
        Target::Doh(r) | Target::Dot(r) => {
            r.bootstrap = vec![IpAddr::V4(ip)];
            r.pins = pins;
        }
        _ => unreachable!("resolver endpoints only"),
    }
    ep.label = label.to_string();
    ep.origin = Origin::User;
    ep
}

struct Scanned {
    runs: Vec<Run>,
    /// Strings that must not appear in any redacted export.
    forbidden: Vec<String>,
}

async fn scan() -> Scanned {
    let pki = TestPki::new(SECRET_HOST);
    let good = TestServer::start_on(&pki, Fault::Normal, IpAddr::V4(SERVER_IP)).await;
    let bad = TestServer::start_on(&pki, Fault::ResetAfterAccept, IpAddr::V4(FAILING_IP)).await;
    let pin = tbs_sha256(good.cert_der()).expect("leaf TBS hash");
    let wrong_pin = [0x5a; 32];
    let endpoints = vec![
        with_bootstrap(good.doh_endpoint(), SERVER_IP, "my secret doh", vec![pin]),
        with_bootstrap(good.dot_endpoint(), SERVER_IP, "my secret dot", vec![]),
        with_bootstrap(
            good.dot_endpoint(),
            SERVER_IP,
            "pinned wrong",
            vec![wrong_pin],
        ),
        with_bootstrap(bad.doh_endpoint(), FAILING_IP, "reset doh", vec![]),
    ];
    let mut forbidden: Vec<String> = vec![
        SECRET_HOST.into(),
        "secret-resolver".into(),
        SERVER_IP.to_string(),
        FAILING_IP.to_string(),
        "my secret".into(),
        "pinned wrong".into(),
        "reset doh".into(),
        PLANTED_LOCAL.into(),
    ];
    for ep in &endpoints {
        let address = ep.address();
        forbidden.push(address.clone());
        forbidden.push(address.replace("tls://", "dot://"));
    }
    for (ip, port) in [
        (SERVER_IP, good.doh_port()),
        (SERVER_IP, good.dot_port()),
        (FAILING_IP, bad.doh_port()),
    ] {
        forbidden.push(format!("{ip}:{port}"));
        forbidden.push(format!("{SECRET_HOST}:{port}"));
        forbidden.push(format!(":{port}"));
    }
    for p in [pin, wrong_pin] {
        let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
        forbidden.push(hex.clone());
        forbidden.push(hex.to_uppercase());
        forbidden.push(hex[..16].to_string());
    }
    for ip in local_addresses() {
        forbidden.push(ip.to_string());
    }

    let config = EngineConfig {
        concurrency: 8,
        probe: ProbeConfig {
            step_timeout: Duration::from_secs(2),
            probe_name: DEFAULT_PROBE_NAME.to_string(),
            tls: pki.tls_settings(),
            system_resolver: false,
            ..ProbeConfig::default()
        },
    };
    let mut measurements =
        tokio::time::timeout(Duration::from_secs(60), run_all(endpoints, config))
            .await
            .expect("scan finished in time");
    assert_eq!(measurements.len(), 4);
    // The scan really touched the secrets, so the test can fail.
    let raw = serde_json::to_string(&measurements).expect("encode");
    for s in [SECRET_HOST, "127.0.0.77:", "127.0.0.78:"] {
        assert!(raw.contains(s), "raw scan lacks {s}: nothing to redact");
    }
    assert!(measurements[0].is_reachable(), "{:#?}", measurements[0]);
    assert!(!measurements[2].is_reachable(), "wrong pin must fail");
    // A message that leaks this machine's address (as an OS error might).
    measurements[3].failure = Some(Failure::Unknown(format!(
        "bind {PLANTED_LOCAL}:40000 for {SECRET_HOST} failed; peer {FAILING_IP}:{}",
        bad.doh_port()
    )));
    measurements[3]
        .notes
        .push(format!("via [{PLANTED_LOCAL}] to {SERVER_IP}"));

    let network = NetworkContext {
        label: Some("workshop wifi".into()),
        country: Some("KZ".into()),
        asn: Some(9198),
        as_name: Some("Example Telecom".into()),
    };
    let meta = RunMeta {
        id: Some(1),
        started_at: "2024-05-06T07:08:09.123Z".into(),
        finished_at: Some("2024-05-06T07:08:19.456Z".into()),
        software_version: "0.1.0".into(),
        network,
    };
    let mut second = meta.clone();
    second.id = Some(2);
    second.started_at = "2024-05-06T08:00:01.000Z".into();
    let runs = vec![
        Run {
            meta,
            measurements: measurements.clone(),
        },
        Run {
            meta: second,
            measurements,
        },
    ];
    Scanned { runs, forbidden }
}

fn options() -> ExportOptions {
    let mut locals = local_addresses();
    locals.push(PLANTED_LOCAL.parse().expect("ip"));
    ExportOptions {
        local_addresses: locals,
        ..ExportOptions::default()
    }
}

fn export_to_string(runs: &[Run], format: ExportFormat, opts: &ExportOptions) -> String {
    let mut out = Vec::new();
    let summary = export(runs, format, opts, &mut out).expect("export");
    assert_eq!(summary.measurements, 8);
    String::from_utf8(out).expect("UTF-8 export")
}

const ALL: [ExportFormat; 4] = [
    ExportFormat::Json,
    ExportFormat::Jsonl,
    ExportFormat::Csv,
    ExportFormat::Ooni,
];

#[tokio::test]
async fn no_secret_survives_any_format() {
    let s = scan().await;
    let opts = options();
    for format in ALL {
        let text = export_to_string(&s.runs, format, &opts);
        let lower = text.to_lowercase();
        for f in &s.forbidden {
            assert!(
                !lower.contains(&f.to_lowercase()),
                "{format:?} export contains {f:?}:\n{text}"
            );
        }
        assert!(
            text.contains("user-endpoint-"),
            "{format:?}: no pseudonyms?\n{text}"
        );
        // The planted local address was scrubbed, not just absent.
        assert!(text.contains("redacted-"), "{format:?}");
    }
}

#[tokio::test]
async fn only_ooni_probe_ip_says_127_0_0_1() {
    let s = scan().await;
    let opts = options();
    let ooni = export_to_string(&s.runs, ExportFormat::Ooni, &opts);
    for line in ooni.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("OONI line is JSON");
        assert_eq!(v["probe_ip"], "127.0.0.1");
        let mut rest = v.clone();
        rest["probe_ip"] = serde_json::Value::Null;
        let rest = rest.to_string();
        assert!(
            !rest.contains("127.0.0."),
            "loopback address outside probe_ip: {rest}"
        );
    }
    for format in [ExportFormat::Json, ExportFormat::Jsonl, ExportFormat::Csv] {
        let text = export_to_string(&s.runs, format, &opts);
        assert!(!text.contains("127.0.0."), "{format:?}:\n{text}");
    }
}

fn endpoint_tokens(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for (i, _) in text.match_indices("user-endpoint-") {
        let tail: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        out.insert(tail);
    }
    out
}

#[tokio::test]
async fn hashes_are_stable_within_and_unlinkable_across_exports() {
    let s = scan().await;
    let opts = options();
    let a = export_to_string(&s.runs, ExportFormat::Json, &opts);
    let b = export_to_string(&s.runs, ExportFormat::Json, &opts);
    let ta = endpoint_tokens(&a);
    let tb = endpoint_tokens(&b);
    // One pseudonym per distinct address (two endpoints share one), the
    // same in both runs.
    assert_eq!(ta.len(), 3, "{ta:?}");
    assert_eq!(tb.len(), 3, "{tb:?}");
    assert!(
        ta.is_disjoint(&tb),
        "salt must change per export: {ta:?} {tb:?}"
    );
    let doc: serde_json::Value = serde_json::from_str(&a).expect("json");
    let addr = |run: usize, m: usize| doc["runs"][run]["measurements"][m]["address"].clone();
    for m in 0..4 {
        assert_eq!(addr(0, m), addr(1, m), "stable within one export");
    }
    // With a fixed salt, exports are reproducible.
    let fixed = ExportOptions {
        salt: Some([1; 32]),
        ..options()
    };
    assert_eq!(
        endpoint_tokens(&export_to_string(&s.runs, ExportFormat::Csv, &fixed)),
        endpoint_tokens(&export_to_string(&s.runs, ExportFormat::Jsonl, &fixed)),
    );
}

#[tokio::test]
async fn include_endpoints_keeps_them_but_still_scrubs_local_addresses() {
    let s = scan().await;
    let opts = ExportOptions {
        include_endpoints: true,
        ..options()
    };
    let mut out = Vec::new();
    let summary = export(&s.runs, ExportFormat::Json, &opts, &mut out).expect("export");
    assert_eq!(summary.warnings.len(), 1, "{summary:?}");
    assert!(summary.warnings[0].contains("NOT redacted"));
    let text = String::from_utf8(out).expect("utf8");
    assert!(text.contains(SECRET_HOST));
    assert!(
        !text.contains(PLANTED_LOCAL),
        "local address survived:\n{text}"
    );
    assert!(summary.local_addresses_scrubbed >= 4, "{summary:?}");
}

#[tokio::test]
async fn builtin_endpoints_keep_names_and_addresses() {
    let port = closed_port();
    let mut ep = common::inproc::dot_endpoint("public-resolver.test", port, "Public Resolver");
    ep.origin = Origin::Builtin;
    let pki = TestPki::new("public-resolver.test");
    let config = EngineConfig {
        concurrency: 2,
        probe: ProbeConfig {
            step_timeout: Duration::from_secs(2),
            tls: pki.tls_settings(),
            system_resolver: false,
            ..ProbeConfig::default()
        },
    };
    let measurements = run_all(vec![ep], config).await;
    let run = Run {
        meta: RunMeta::starting_now(NetworkContext::default()),
        measurements,
    };
    let text = export_to_string_any(&[run], ExportFormat::Json);
    assert!(text.contains("Public Resolver"), "{text}");
    assert!(
        text.contains(&format!("tls://public-resolver.test:{port}")),
        "{text}"
    );
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("user-endpoint-"), "{text}");
}

fn export_to_string_any(runs: &[Run], format: ExportFormat) -> String {
    let mut out = Vec::new();
    export(runs, format, &options(), &mut out).expect("export");
    String::from_utf8(out).expect("utf8")
}
