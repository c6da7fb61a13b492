//! The binary's contract: `scan` output formats, exit codes, input errors.
//! Servers are the in-process test servers on loopback.

mod common;

use std::process::{Command, Output};

use common::inproc::{DEFAULT_HOST, DEFAULT_PROBE_NAME, Fault, TestPki, TestServer, closed_port};

fn scan(pki: &TestPki, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bridgescout"))
        .arg("scan")
        .args(args)
        .args(["--ca-file", &pki.ca_path().display().to_string()])
        .args([
            "--probe-name",
            DEFAULT_PROBE_NAME,
            "--no-system-dns",
            "--timeout",
            "2",
            "--no-history",
        ])
        .output()
        .expect("run bridgescout")
}

fn jsonl(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_records_carry_the_contract_fields_and_exit_zero() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let doh = format!(
        "https://{DEFAULT_HOST}:{}/dns-query bootstrap=127.0.0.1 name=A",
        server.doh_port()
    );
    let dot = format!(
        "tls://{DEFAULT_HOST}:{} bootstrap=127.0.0.1 name=B",
        server.dot_port()
    );
    let ca = pki.ca_path().display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_bridgescout"))
            .args([
                "scan",
                "--format",
                "jsonl",
                &doh,
                &dot,
                "--ca-file",
                &ca,
                "--no-history",
            ])
            .args([
                "--probe-name",
                DEFAULT_PROBE_NAME,
                "--no-system-dns",
                "--timeout",
                "2",
            ])
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = jsonl(&out);
    assert_eq!(records.len(), 2);
    for r in &records {
        for key in [
            "kind",
            "label",
            "verdict",
            "diagnosis",
            "latency_ms",
            "steps",
            "schema_version",
        ] {
            assert!(r.get(key).is_some(), "missing {key} in {r}");
        }
        assert_eq!(r["verdict"], "reachable", "{r}");
        assert_eq!(r["diagnosis"], "ok");
        assert!(r["latency_ms"].as_f64().is_some_and(|l| l > 0.0));
        assert!(r["steps"].as_array().is_some_and(|s| s.len() >= 4));
    }
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"doh") && kinds.contains(&"dot"),
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn none_reachable_exits_three_with_failure_fields() {
    let pki = TestPki::new(DEFAULT_HOST);
    let port = closed_port();
    let out = tokio::task::spawn_blocking(move || {
        scan(
            &pki,
            &["--format", "jsonl", &format!("tls://127.0.0.1:{port}")],
        )
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(3));
    let records = jsonl(&out);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["verdict"], "failed");
    assert_eq!(records[0]["failure"], "connection_refused");
    assert_eq!(records[0]["failed_operation"], "tcp_connect");
    assert_eq!(records[0]["diagnosis"], "connection_refused");
}

#[test]
fn bad_lines_are_named_and_skipped_and_no_input_is_a_usage_error() {
    let pki = TestPki::new(DEFAULT_HOST);
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("list.txt");
    let port = closed_port();
    std::fs::write(
        &list,
        format!("# comment\n\nhttps://\ntls://127.0.0.1:{port}\nftp://nope\n"),
    )
    .expect("write");
    let out = scan(&pki, &["--format", "jsonl", &list.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3:", list.display())),
        "line 3 named: {stderr}"
    );
    assert!(
        stderr.contains(&format!("{}:5:", list.display())),
        "line 5 named: {stderr}"
    );
    // The good line still ran.
    assert_eq!(jsonl(&out).len(), 1, "stderr: {stderr}");

    let only_bad = dir.path().join("bad.txt");
    std::fs::write(&only_bad, "not a resolver\n").expect("write");
    let out = scan(
        &pki,
        &["--format", "jsonl", &only_bad.display().to_string()],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = scan(&pki, &["--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}

#[test]
fn csv_has_stable_header_and_one_row_per_endpoint() {
    let pki = TestPki::new(DEFAULT_HOST);
    let a = closed_port();
    let b = closed_port();
    let out = scan(
        &pki,
        &[
            "--format",
            "csv",
            &format!("tls://127.0.0.1:{a}"),
            &format!("tls://127.0.0.1:{b}"),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(header, bridgescout::report::csv::COLUMNS.to_vec());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(&row[7], "failed");
        assert_eq!(&row[8], "connection_refused");
        assert!(
            row[12].contains("tcp_connect connection_refused"),
            "{row:?}"
        );
    }
}

#[test]
fn bundled_list_parses_without_errors() {
    let catalog = bridgescout::catalog::bundled();
    assert!(catalog.errors.is_empty(), "{:?}", catalog.errors);
    assert!(catalog.endpoints.len() >= 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_cancels_promptly_with_partial_results() {
    let pki = TestPki::new(DEFAULT_HOST);
    let silent = TestServer::start(&pki, Fault::SilentAccept).await;
    let port = closed_port();
    let ca = pki.ca_path().display().to_string();
    let silent_port = silent.dot_port();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bridgescout"))
            .args([
                "scan",
                "--format",
                "jsonl",
                "--ca-file",
                &ca,
                "--no-system-dns",
                "--no-history",
            ])
            .args(["--timeout", "30"])
            .arg(format!("tls://127.0.0.1:{port}"))
            .arg(format!(
                "tls://{DEFAULT_HOST}:{silent_port} bootstrap=127.0.0.1"
            ))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // Wait for the refused endpoint's record: by then the signal
        // handler is installed and the silent one hangs in TLS.
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut first).expect("first record");
        let started = std::time::Instant::now();
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).expect("rest of output");
        let status = child.wait().expect("wait");
        (status, first, rest, started.elapsed())
    })
    .await
    .expect("join");
    let (status, first, rest, took) = out;
    assert_eq!(status.code(), Some(130), "interrupted exit code");
    assert!(
        took < std::time::Duration::from_secs(10),
        "cancel took {took:?}, not the 30 s timeout"
    );
    let first: serde_json::Value = serde_json::from_str(&first).expect("JSON record");
    assert_eq!(first["diagnosis"], "connection_refused");
    assert!(
        rest.trim().is_empty(),
        "the unfinished endpoint is not reported: {rest}"
    );
}

#[test]
fn skipped_bridge_lines_do_not_print_their_secrets() {
    let pki = TestPki::new(DEFAULT_HOST);
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("bridges.txt");
    let port = closed_port();
    // A wrong-length fingerprint and a bad port: both rejected, neither
    // value may be echoed (a shared screen or log would leak them).
    std::fs::write(
        &list,
        format!(
            "127.0.0.1:{port} 4C17FB532E20B2A8AC199441ECD2B0178B69B0A\n\
             obfs4 127.0.0.1:99999 2B280B23E1107BB62ABFC40DDCC8824814F80A72 cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa+7kTOa9/m+tGWT1SmSYpQ9uTBGa6Hw iat-mode=0\n\
             tls://127.0.0.1:{port}\n"
        ),
    )
    .expect("write");
    let out = scan(&pki, &["--format", "jsonl", &list.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bridges.txt:1:") && stderr.contains("bridges.txt:2:"),
        "{stderr}"
    );
    for secret in ["4C17FB532E", "2B280B23E1", "ssH+9rP8", "127.0.0.1:99999"] {
        assert!(!stderr.contains(secret), "stderr leaks {secret}: {stderr}");
    }
}
