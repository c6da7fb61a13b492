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

/// The binary with its own config directory, so a developer's real config
/// file never leaks into the test.
fn bin_in(config_home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bridgescout"));
    cmd.env("XDG_CONFIG_HOME", config_home)
        .env_remove("BRIDGESCOUT_CONFIG")
        .env_remove("BRIDGESCOUT_TIMEOUT")
        .env_remove("BRIDGESCOUT_CONCURRENCY")
        .env_remove("BRIDGESCOUT_LANG");
    cmd
}

/// `bridgescout config` as (key → (value, source)).
fn effective(cmd: &mut Command) -> std::collections::BTreeMap<String, (String, String)> {
    let out = cmd.arg("config").output().expect("run config");
    assert!(
        out.status.success(),
        "config failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 3, "bad line {l:?}");
            (f[0].to_string(), (f[1].to_string(), f[2].to_string()))
        })
        .collect()
}

#[test]
fn config_precedence_cli_then_env_then_file_then_default() {
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("bridgescout");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("config.toml"),
        "timeout = 7\nconcurrency = 9\nprobe-name = \"file.example\"\nstall-after = 3\n\
         control = [\"tcp:127.0.0.1:9\"]\n",
    )
    .expect("write config");
    let got = effective(
        bin_in(home.path())
            .env("BRIDGESCOUT_TIMEOUT", "6")
            .env("BRIDGESCOUT_CONCURRENCY", "8")
            .args(["--timeout", "4"]),
    );
    let v = |k: &str| {
        got.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("no {k}: {got:?}"))
    };
    assert_eq!(v("timeout"), ("4".into(), "cli".into()));
    assert_eq!(v("concurrency"), ("8".into(), "env".into()));
    assert_eq!(
        v("probe-name"),
        ("file.example".into(), "config file".into())
    );
    assert_eq!(v("stall-after"), ("3".into(), "config file".into()));
    assert_eq!(
        v("control"),
        ("tcp:127.0.0.1:9".into(), "config file".into())
    );
    assert_eq!(v("control-sni"), ("example.org".into(), "default".into()));
    // Env over file when the command line says nothing.
    let got = effective(bin_in(home.path()).env("BRIDGESCOUT_TIMEOUT", "6"));
    assert_eq!(got["timeout"], ("6".into(), "env".into()));
    let got = effective(&mut bin_in(home.path()));
    assert_eq!(got["timeout"], ("7".into(), "config file".into()));
    // --config points elsewhere.
    let other = home.path().join("other.toml");
    std::fs::write(&other, "timeout = 2.5\n").expect("write");
    let got = effective(bin_in(home.path()).arg("--config").arg(&other));
    assert_eq!(got["timeout"], ("2.5".into(), "config file".into()));
    assert_eq!(got["concurrency"], ("64".into(), "default".into()));
}

#[test]
fn config_template_round_trips_to_the_defaults() {
    let empty = tempfile::tempdir().expect("tempdir");
    let out = bin_in(empty.path())
        .arg("--print-config-template")
        .output()
        .expect("template");
    assert_eq!(out.status.code(), Some(0));
    let template = String::from_utf8(out.stdout).expect("utf-8");
    for key in [
        "timeout = 5",
        "concurrency = 64",
        "# control = [",
        "no-controls = false",
        "probe-name = \"example.com\"",
    ] {
        assert!(template.contains(key), "{key} missing:\n{template}");
    }
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("bridgescout");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("config.toml"), &template).expect("write");
    let values = |m: std::collections::BTreeMap<String, (String, String)>| {
        m.into_iter().map(|(k, (v, _))| (k, v)).collect::<Vec<_>>()
    };
    let defaults = values(effective(&mut bin_in(empty.path())));
    let from_template = values(effective(&mut bin_in(home.path())));
    assert!(defaults.len() > 20, "{defaults:?}");
    assert_eq!(defaults, from_template);
}

#[test]
fn config_errors_name_the_key_file_and_line() {
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("bridgescout");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("config.toml");
    std::fs::write(&file, "timeout = 3\ncolour = \"never\"\n").expect("write");
    let out = bin_in(home.path()).arg("config").output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown key \"colour\""), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");

    std::fs::write(&file, "timeout = 3\nprobe-name = \"unterminated\n").expect("write");
    let out = bin_in(home.path()).arg("config").output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");

    std::fs::write(&file, "timeout = 9999\n").expect("write");
    let out = bin_in(home.path()).arg("config").output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("timeout:"), "{stderr}");

    let out = bin_in(home.path())
        .args(["--config", "/nonexistent/bridgescout.toml", "config"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn scan_runs_controls_only_when_asked() {
    let pki = TestPki::new(DEFAULT_HOST);
    let port = closed_port();
    let target = format!("tls://127.0.0.1:{port}");
    let out = scan(&pki, &["--format", "jsonl", &target]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("controls:"), "{stderr}");
    let control = format!("tcp:127.0.0.1:{port}");
    let out = scan(&pki, &["--format", "jsonl", &target, "--control", &control]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "controls: foreign=tcp:127.0.0.1:{port} connection_refused"
        )),
        "{stderr}"
    );
    // stdout still carries only the endpoint's record.
    assert_eq!(jsonl(&out).len(), 1);
    let out = scan(
        &pki,
        &["--format", "jsonl", &target, "--control", "bogus:1"],
    );
    assert_eq!(out.status.code(), Some(2), "bad spec is a usage error");
}

#[test]
fn kind_ikev2_takes_bare_hosts() {
    let pki = TestPki::new(DEFAULT_HOST);
    // A UDP port nothing listens on: the probe's packets stay on loopback.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    drop(socket);
    let host = format!("127.0.0.1:{port}");
    let out = scan(&pki, &["--format", "jsonl", "--kind", "ikev2", &host]);
    let records = jsonl(&out);
    assert_eq!(
        records.len(),
        1,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(records[0]["kind"], "ikev2", "{}", records[0]);
    // Without --kind ikev2, IP:PORT reads as a (vanilla) bridge line.
    let out = scan(&pki, &["--format", "jsonl", &host]);
    let records = jsonl(&out);
    assert_eq!(records.len(), 1);
    assert_ne!(records[0]["kind"], "ikev2", "{}", records[0]);
    // A bare name is nothing without --kind ikev2 …
    let out = scan(&pki, &["--format", "jsonl", "vpn.invalid"]);
    assert_eq!(out.status.code(), Some(2));
    // … and an IKEv2 server with it (--no-system-dns: never looked up).
    let out = scan(
        &pki,
        &["--format", "jsonl", "--kind", "ikev2", "vpn.invalid"],
    );
    let records = jsonl(&out);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["kind"], "ikev2", "{}", records[0]);
    assert_eq!(records[0]["label"], "ike vpn.invalid", "{}", records[0]);
}

#[test]
fn watch_reports_controls_per_round_when_asked() {
    let pki = TestPki::new(DEFAULT_HOST);
    let port = closed_port();
    let out = Command::new(env!("CARGO_BIN_EXE_bridgescout"))
        .args([
            "watch",
            "--rounds",
            "2",
            "--interval",
            "0",
            "--format",
            "jsonl",
        ])
        .arg(format!("tls://127.0.0.1:{port}"))
        .args(["--control", &format!("domestic=tcp:127.0.0.1:{port}")])
        .args(["--ca-file", &pki.ca_path().display().to_string()])
        .args(["--no-system-dns", "--timeout", "2", "--no-history"])
        .output()
        .expect("run watch");
    let lines = jsonl(&out);
    let controls: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["type"] == "controls").collect();
    assert_eq!(controls.len(), 2, "one per round: {lines:?}");
    assert_eq!(controls[1]["round"], 1);
    let result = &controls[0]["results"][0];
    assert_eq!(result["control"], format!("domestic=tcp:127.0.0.1:{port}"));
    assert_eq!(result["ok"], false);
    assert_eq!(result["failure"], "connection_refused");
    // Only a domestic control, and it answered (refused): nothing to
    // compare with abroad, so no reading.
    assert!(controls[0]["reading"].is_null(), "{}", controls[0]);
}
