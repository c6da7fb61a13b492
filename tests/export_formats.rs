//! Export formats against real scans of the in-process test server:
//! JSON validated by the JSON Schema in `schema/`, JSONL lines by its
//! `$defs/line`, CSV read back, OONI checked field by field against
//! df-000-base and the dnscheck shape.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde_json::Value;

use bridgescout::catalog::{Endpoint, Origin, Target};
use bridgescout::engine::{EngineConfig, run_all};
use bridgescout::export::{
    EXPORT_SCHEMA, ExportDocument, ExportFormat, ExportOptions, JSON_SCHEMA, csv::COLUMNS, export,
};
use bridgescout::probe::ProbeConfig;
use bridgescout::run::{NetworkContext, Run, RunMeta};

use common::inproc::{DEFAULT_PROBE_NAME, Fault, TestPki, TestServer};

const HOST: &str = "doh.test";
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 77);

fn on(mut ep: Endpoint, origin: Origin) -> Endpoint {
    match &mut ep.target {
        Target::Doh(r) | Target::Dot(r) => r.bootstrap = vec![IpAddr::V4(SERVER_IP)],
        _ => unreachable!("resolver endpoints only"),
    }
    ep.origin = origin;
    ep
}

/// Two runs: one from a known network, one from an unknown one.
async fn scan() -> Vec<Run> {
    let pki = TestPki::new(HOST);
    let good = TestServer::start_on(&pki, Fault::Normal, IpAddr::V4(SERVER_IP)).await;
    let reset = TestServer::start_on(&pki, Fault::ResetAfterAccept, IpAddr::V4(SERVER_IP)).await;
    let endpoints = vec![
        on(good.doh_endpoint(), Origin::User),
        on(good.dot_endpoint(), Origin::Builtin),
        on(reset.doh_endpoint(), Origin::User),
        on(reset.dot_endpoint(), Origin::Builtin),
    ];
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
    let ms = tokio::time::timeout(Duration::from_secs(60), run_all(endpoints, config))
        .await
        .expect("scan in time");
    assert_eq!(ms.len(), 4);
    assert!(ms[0].is_reachable() && ms[1].is_reachable(), "{ms:#?}");
    assert!(!ms[2].is_reachable() && !ms[3].is_reachable(), "{ms:#?}");
    let mut known = RunMeta::starting_now(NetworkContext {
        label: Some("hotel, \"wifi\"".into()),
        country: Some("KZ".into()),
        asn: Some(9198),
        as_name: Some("Example Telecom".into()),
    });
    known.id = Some(7);
    known.finished_at = Some(known.started_at.clone());
    let unknown = RunMeta::starting_now(NetworkContext::default());
    vec![
        Run {
            meta: known,
            measurements: ms.clone(),
        },
        Run {
            meta: unknown,
            measurements: ms,
        },
    ]
}

fn opts() -> ExportOptions {
    ExportOptions {
        salt: Some([9; 32]),
        local_addresses: Vec::new(),
        ..ExportOptions::default()
    }
}

fn export_text(runs: &[Run], format: ExportFormat, o: &ExportOptions) -> String {
    let mut out = Vec::new();
    export(runs, format, o, &mut out).expect("export");
    String::from_utf8(out).expect("utf8")
}

fn schema() -> Value {
    serde_json::from_str(JSON_SCHEMA).expect("schema is JSON")
}

fn errors(validator: &jsonschema::Validator, v: &Value) -> Vec<String> {
    validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[tokio::test]
async fn json_export_matches_schema() {
    let runs = scan().await;
    let text = export_text(&runs, ExportFormat::Json, &opts());
    std::fs::write(
        std::env::temp_dir().join("bridgescout-export-sample.json"),
        &text,
    )
    .ok();
    let doc: Value = serde_json::from_str(&text).expect("one JSON document");
    let schema = schema();
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let errs = errors(&validator, &doc);
    assert!(errs.is_empty(), "{errs:#?}\n{text}");
    assert_eq!(doc["schema"], EXPORT_SCHEMA);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["redacted"], true);
    assert_eq!(doc["round_to_seconds"], 60);
    assert_eq!(doc["runs"].as_array().map(Vec::len), Some(2));
    // Rounded to the minute.
    let start = doc["runs"][0]["measurements"][0]["start_time"]
        .as_str()
        .unwrap_or("");
    assert!(start.ends_with(":00Z"), "{start}");
    // Typed round trip.
    let typed: ExportDocument = serde_json::from_str(&text).expect("typed");
    assert_eq!(typed.runs[0].measurements.len(), 4);

    // The schema is strict: it rejects what it does not describe.
    let mut extra = doc.clone();
    extra["runs"][0]["measurements"][0]["client_ip"] = Value::from("192.0.2.1");
    assert!(!validator.is_valid(&extra));
    let mut bad_enum = doc.clone();
    bad_enum["runs"][0]["measurements"][0]["verdict"] = Value::from("maybe");
    assert!(!validator.is_valid(&bad_enum));
    let mut extra_meta = doc.clone();
    extra_meta["runs"][0]["client_ip"] = Value::from("192.0.2.1");
    assert!(!validator.is_valid(&extra_meta));
    let mut missing = doc;
    if let Some(o) = missing.as_object_mut() {
        o.remove("exported_at");
    }
    assert!(!validator.is_valid(&missing));
}

#[tokio::test]
async fn jsonl_lines_match_schema_line_definition() {
    let runs = scan().await;
    let text = export_text(&runs, ExportFormat::Jsonl, &opts());
    let full = schema();
    let line_schema = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/$defs/line",
        "$defs": full["$defs"].clone(),
    });
    let validator = jsonschema::draft202012::new(&line_schema).expect("compiles");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    for line in lines {
        let v: Value = serde_json::from_str(line).expect("line is JSON");
        let errs = errors(&validator, &v);
        assert!(errs.is_empty(), "{errs:#?}\n{line}");
        assert!(v["run"]["started_at"].is_string());
        assert!(v["measurement"]["verdict"].is_string());
    }
}

#[tokio::test]
async fn csv_round_trips_to_the_json_values() {
    let runs = scan().await;
    let o = opts();
    let csv_text = export_text(&runs, ExportFormat::Csv, &o);
    let doc: ExportDocument =
        serde_json::from_str(&export_text(&runs, ExportFormat::Json, &o)).expect("json");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, COLUMNS.to_vec());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let expected: Vec<(
        &bridgescout::export::ExportedRun,
        &bridgescout::measurement::Measurement,
    )> = doc
        .runs
        .iter()
        .flat_map(|r| r.measurements.iter().map(move |m| (r, m)))
        .collect();
    assert_eq!(rows.len(), expected.len());
    for (row, (run, m)) in rows.iter().zip(expected) {
        let col = |name: &str| {
            let i = COLUMNS.iter().position(|c| *c == name).expect("column");
            row.get(i).unwrap_or("missing").to_string()
        };
        let net = &run.meta.network;
        assert_eq!(
            col("run_id"),
            run.meta.id.map(|i| i.to_string()).unwrap_or_default()
        );
        assert_eq!(col("network_label"), net.label.clone().unwrap_or_default());
        assert_eq!(col("country"), net.country.clone().unwrap_or_default());
        assert_eq!(
            col("asn"),
            net.asn.map(|a| a.to_string()).unwrap_or_default()
        );
        assert_eq!(col("kind"), m.endpoint.kind.as_str());
        assert_eq!(col("label"), m.endpoint.label);
        assert_eq!(col("address"), m.endpoint.address);
        assert_eq!(
            col("origin"),
            match m.endpoint.origin {
                Origin::Builtin => "builtin",
                Origin::User => "user",
            }
        );
        assert_eq!(col("start_time"), m.start_time);
        assert_eq!(
            col("verdict"),
            if m.is_reachable() {
                "reachable"
            } else {
                "failed"
            }
        );
        assert_eq!(col("diagnosis"), m.diagnosis.as_str());
        assert_eq!(
            col("failure"),
            m.failure
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert_eq!(
            col("failed_operation"),
            m.failed_operation
                .map(|o| o.to_string())
                .unwrap_or_default()
        );
        let latency: Option<f64> = Some(col("latency_ms"))
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("number"));
        assert_eq!(latency, m.latency_ms);
        assert_eq!(col("steps"), bridgescout::report::step_trace(m));
    }
    // Quoting survived: the label with a comma and quotes came back whole.
    assert!(
        rows.iter()
            .any(|r| r.iter().any(|f| f == "hotel, \"wifi\""))
    );
}

#[tokio::test]
async fn ooni_lines_follow_df_000_base_and_dnscheck() {
    let runs = scan().await;
    let text = export_text(&runs, ExportFormat::Ooni, &opts());
    std::fs::write(
        std::env::temp_dir().join("bridgescout-export-sample.ooni.jsonl"),
        &text,
    )
    .ok();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("OONI line is JSON"))
        .collect();
    assert_eq!(lines.len(), 8);
    let time_re = |s: &str| {
        s.len() == 19
            && s.chars().enumerate().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == ' ',
                13 | 16 => c == ':',
                _ => c.is_ascii_digit(),
            })
    };
    let base_keys = [
        "annotations",
        "data_format_version",
        "input",
        "measurement_start_time",
        "probe_asn",
        "probe_cc",
        "probe_ip",
        "report_id",
        "software_name",
        "software_version",
        "test_keys",
        "test_name",
        "test_runtime",
        "test_start_time",
        "test_version",
    ];
    for (i, v) in lines.iter().enumerate() {
        for k in base_keys {
            assert!(v.get(k).is_some(), "line {i} lacks {k}: {v}");
        }
        assert!(
            v["annotations"]
                .as_object()
                .is_some_and(|a| a.values().all(Value::is_string))
        );
        assert_eq!(v["data_format_version"], "0.2.0");
        assert!(v["input"].is_string());
        assert!(
            time_re(v["measurement_start_time"].as_str().unwrap_or("")),
            "{v}"
        );
        assert!(time_re(v["test_start_time"].as_str().unwrap_or("")), "{v}");
        assert!(
            v["measurement_start_time"]
                .as_str()
                .unwrap_or("")
                .ends_with(":00")
        );
        assert_eq!(v["probe_ip"], "127.0.0.1");
        assert_eq!(v["software_name"], "bridgescout");
        assert!(v["software_version"].is_string());
        assert_eq!(v["test_name"], "dnscheck");
        assert!(v["test_runtime"].as_f64().is_some_and(|t| t > 0.0));
        assert!(v["test_version"].is_string());
        let known = i < 4;
        assert_eq!(v["probe_asn"], if known { "AS9198" } else { "AS0" });
        assert_eq!(v["probe_cc"], if known { "KZ" } else { "ZZ" });
        let rid = v["report_id"].as_str().unwrap_or("");
        let parts: Vec<&str> = rid.split('_').collect();
        assert_eq!(parts.len(), 6, "{rid}");
        assert_eq!(parts[0].len(), 16, "{rid}");
        assert!(
            parts[0].ends_with('Z') && parts[0].as_bytes()[8] == b'T',
            "{rid}"
        );
        assert_eq!(parts[1], "dnscheck");
        assert_eq!(parts[2], if known { "KZ" } else { "ZZ" });
        assert_eq!(parts[3], if known { "9198" } else { "0" });
        assert_eq!(parts[4], "n1");

        let tk = &v["test_keys"];
        for k in [
            "bootstrap",
            "bootstrap_failure",
            "lookups",
            "failure",
            "domain",
        ] {
            assert!(tk.get(k).is_some(), "test_keys lacks {k}: {tk}");
        }
        // Bootstrap: the resolve step of the host name (bootstrap list).
        let q = &tk["bootstrap"]["queries"][0];
        assert_eq!(q["engine"], "bootstrap");
        assert!(tk["bootstrap_failure"].is_null());
        let lookups = tk["lookups"].as_object().expect("lookups object");
        assert!(!lookups.is_empty(), "{tk}");
        for (key, lk) in lookups {
            assert!(
                key.starts_with("https://") || key.starts_with("dot://"),
                "{key}"
            );
            for k in [
                "tcp_connect",
                "tls_handshakes",
                "network_events",
                "queries",
                "failure",
                "failed_operation",
            ] {
                assert!(lk.get(k).is_some(), "lookup lacks {k}: {lk}");
            }
            let tcp = &lk["tcp_connect"][0];
            assert_eq!(tcp["status"]["success"], true, "{lk}");
            assert!(tcp["t"].is_number());
        }
        let m_ok = i % 4 < 2;
        let user = i % 4 == 0 || i % 4 == 2;
        let first = lookups.values().next().cloned().unwrap_or(Value::Null);
        if m_ok {
            assert!(tk["failure"].is_null(), "{tk}");
            assert_eq!(tk["domain"], DEFAULT_PROBE_NAME);
            let q = &first["queries"][0];
            assert_eq!(q["hostname"], DEFAULT_PROBE_NAME);
            assert_eq!(q["query_type"], "A");
            assert_eq!(q["answers"][0]["answer_type"], "A");
            let hs = &first["tls_handshakes"][0];
            assert!(hs["failure"].is_null());
            assert!(
                hs["tls_version"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("TLSv1.")),
                "{hs}"
            );
            if !user {
                assert_eq!(hs["server_name"], HOST);
                assert_eq!(first["tcp_connect"][0]["ip"], SERVER_IP.to_string());
                assert!(first["tcp_connect"][0]["port"].is_u64());
            }
        } else {
            assert!(tk["failure"].is_string(), "{tk}");
            assert!(first["failure"].is_string(), "{first}");
            assert_eq!(first["failed_operation"], "tls_handshake");
        }
        if user {
            assert!(
                v["input"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("user-endpoint-"),
                "{v}"
            );
            assert!(first["tcp_connect"][0]["port"].is_null(), "{first}");
        } else {
            let input = v["input"].as_str().unwrap_or("");
            assert!(input.starts_with("dot://doh.test:"), "{input}");
        }
    }
}

#[tokio::test]
async fn rounding_is_configurable() {
    let runs = scan().await;
    let o = ExportOptions {
        round_to: Duration::ZERO,
        ..opts()
    };
    let doc: ExportDocument =
        serde_json::from_str(&export_text(&runs, ExportFormat::Json, &o)).expect("json");
    assert_eq!(
        doc.runs[0].measurements[0].start_time,
        runs[0].measurements[0].start_time
    );
    assert_eq!(doc.round_to_seconds, 0);
    let o = ExportOptions {
        round_to: Duration::from_secs(3600),
        ..opts()
    };
    let doc: ExportDocument =
        serde_json::from_str(&export_text(&runs, ExportFormat::Json, &o)).expect("json");
    assert!(
        doc.runs[0].meta.started_at.ends_with(":00:00Z"),
        "{}",
        doc.runs[0].meta.started_at
    );
    // Durations are untouched.
    assert_eq!(
        doc.runs[0].measurements[0].runtime,
        runs[0].measurements[0].runtime
    );
    assert_eq!(
        doc.runs[0].measurements[0].latency_ms,
        runs[0].measurements[0].latency_ms
    );
}

/// Every code the model can produce is allowed by the schema, and a Tor
/// measurement with a data test, clock skew and bootstrap validates.
#[test]
fn schema_covers_every_code_and_tor_measurements() {
    use bridgescout::catalog::EndpointKind;
    use bridgescout::measurement::{
        BootstrapTrace, DataTest, Diagnosis, EndpointInfo, Failure, Measurement, Operation, Step,
        Verdict,
    };
    let schema = schema();
    let defs = &schema["$defs"];
    let listed = |def: &str| -> Vec<String> {
        defs[def]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("$defs/{def} has an enum"))
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    };
    for d in Diagnosis::ALL {
        assert!(listed("diagnosis").contains(&d.as_str().to_string()), "{d}");
    }
    for o in Operation::ALL {
        assert!(listed("operation").contains(&o.as_str().to_string()), "{o}");
    }
    for k in EndpointKind::ALL {
        assert!(listed("kind").contains(&k.as_str().to_string()), "{k}");
    }

    let step = |op: Operation, t0: f64, failure: Option<Failure>| Step {
        operation: op,
        target: Some("127.0.0.1:9001".into()),
        t0,
        t: t0 + 0.01,
        failure,
        detail: None,
        addresses: Vec::new(),
    };
    let m = Measurement {
        schema_version: bridgescout::measurement::SCHEMA_VERSION,
        id: 0,
        endpoint: EndpointInfo {
            kind: EndpointKind::Obfs4,
            label: "obfs4 test".into(),
            address:
                "obfs4 127.0.0.1:9001 0000000000000000000000000000000000000000 cert=x iat-mode=0"
                    .into(),
            origin: Origin::Builtin,
        },
        start_time: "2026-11-27T20:00:00.000Z".into(),
        runtime: 1.5,
        steps: vec![
            step(Operation::TcpConnect, 0.0, None),
            step(Operation::PtLaunch, 0.01, None),
            step(Operation::PtHandshake, 0.02, None),
            step(Operation::TorHandshake, 0.1, None),
            step(Operation::TorCircuit, 0.2, None),
            step(Operation::TorDirFetch, 0.3, Some(Failure::GenericTimeout)),
        ],
        verdict: Verdict::Failed,
        diagnosis: Diagnosis::Stalled,
        failure: Some(Failure::Unknown("data stopped after 28000 bytes".into())),
        failed_operation: Some(Operation::TorDirFetch),
        latency_ms: None,
        notes: vec!["handshake worked, then data stopped".into()],
        data_test: Some(DataTest {
            target_bytes: 65536,
            bytes: 28000,
            seconds: 12.0,
            kib_per_s: 2.3,
            stalled_after: Some(28000),
            samples: vec![(0.1, 4000), (0.5, 28000)],
        }),
        clock_skew_s: Some(-2.0),
        bootstrap: Some(BootstrapTrace {
            percent: 15,
            seconds_to_100: None,
            events: vec![(0.1, 15, "handshaking".into())],
        }),
    };
    let run = Run {
        meta: RunMeta::starting_now(NetworkContext::default()),
        measurements: vec![m],
    };
    let text = export_text(&[run], ExportFormat::Json, &opts());
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let errs = errors(&validator, &doc);
    assert!(errs.is_empty(), "{errs:#?}\n{text}");
}
