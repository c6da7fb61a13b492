//! The whole life of a result through the binary: scans recorded in the
//! history database, shown by `history`, exported in every format with
//! nothing identifying left, and three exports merged into one report.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Output};

use common::inproc::{DEFAULT_PROBE_NAME, Fault, TestPki, TestServer, closed_port};

const SECRET_HOST: &str = "secret-pipeline.test";
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 91);

fn bin(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bridgescout"))
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("run bridgescout")
}

fn scan(db: &Path, ca: &Path, label: &str, inputs: &[String]) -> Output {
    let mut args: Vec<String> = vec!["scan".into(), "--format".into(), "jsonl".into()];
    args.extend(inputs.iter().cloned());
    args.extend(
        [
            "--ca-file",
            &ca.display().to_string(),
            "--probe-name",
            DEFAULT_PROBE_NAME,
            "--no-system-dns",
            "--timeout",
            "2",
            "--network-label",
            label,
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    bin(&refs, db)
}

#[tokio::test(flavor = "multi_thread")]
async fn scans_land_in_history_export_clean_and_merge_with_right_numbers() {
    let pki = TestPki::new(SECRET_HOST);
    let server = TestServer::start_on(&pki, Fault::Normal, IpAddr::V4(SERVER_IP)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("history.sqlite3");
    let doh = format!(
        "https://{SECRET_HOST}:{}/dns-query bootstrap={SERVER_IP} name=\"Private DoH\"",
        server.doh_port()
    );
    let dot = format!(
        "tls://{SECRET_HOST}:{} bootstrap={SERVER_IP} name=\"Private DoT\"",
        server.dot_port()
    );
    let dead = format!(
        "tls://{SECRET_HOST}:{} bootstrap={SERVER_IP} name=\"Private DoT\"",
        closed_port()
    );
    let ca = pki.ca_path().to_path_buf();
    let (db2, ca2) = (db.clone(), ca.clone());
    // Three "participants": 2 of 2 work, 1 of 2 works, 0 of 1 works.
    let outs = tokio::task::spawn_blocking(move || {
        [
            scan(&db2, &ca2, "home fiber", &[doh.clone(), dot.clone()]),
            scan(&db2, &ca2, "mobile", &[doh.clone(), dead.clone()]),
            scan(&db2, &ca2, "hotel", std::slice::from_ref(&dead)),
        ]
    })
    .await
    .expect("join");
    for o in &outs {
        assert!(
            o.stderr.is_empty() || !String::from_utf8_lossy(&o.stderr).contains("history"),
            "history warnings: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_eq!(outs.map(|o| o.status.code()), [Some(0), Some(0), Some(3)]);

    // History shows three runs and the endpoints over time.
    let hist = bin(&["history", "--format", "json"], &db);
    assert!(hist.status.success());
    let h: serde_json::Value = serde_json::from_slice(&hist.stdout).expect("history JSON");
    let text = h.to_string();
    for label in [
        "home fiber",
        "mobile",
        "hotel",
        "Private DoH",
        "Private DoT",
    ] {
        assert!(text.contains(label), "{label} in history: {text}");
    }

    // Every export format, redacted by default: no trace of the endpoints.
    let secrets = [
        SECRET_HOST.to_string(),
        SERVER_IP.to_string(),
        format!(":{}", server.doh_port()),
        format!(":{}", server.dot_port()),
    ];
    for format in ["json", "jsonl", "csv", "ooni"] {
        let file = dir.path().join(format!("all.{format}"));
        let out = bin(
            &[
                "export",
                "--format",
                format,
                "-o",
                &file.display().to_string(),
            ],
            &db,
        );
        assert!(
            out.status.success(),
            "export {format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let body = std::fs::read_to_string(&file).expect("read export");
        assert!(body.len() > 100, "{format} export has content");
        for s in &secrets {
            assert!(
                !body.contains(s.as_str()),
                "{format} export leaks {s}:\n{body}"
            );
        }
    }
    // Asked for, endpoints are kept, with a warning.
    let kept = dir.path().join("kept.json");
    let out = bin(
        &[
            "export",
            "--format",
            "json",
            "--include-endpoints",
            "-o",
            &kept.display().to_string(),
        ],
        &db,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT redacted"));
    assert!(
        std::fs::read_to_string(&kept)
            .expect("read")
            .contains(SECRET_HOST)
    );

    // One export per participant, merged.
    let mut files = Vec::new();
    for run in 1..=3 {
        let f = dir.path().join(format!("run{run}.json"));
        let out = bin(
            &[
                "export",
                "--format",
                "json",
                "--run",
                &run.to_string(),
                "-o",
                &f.display().to_string(),
            ],
            &db,
        );
        assert!(out.status.success());
        files.push(f.display().to_string());
    }
    let report = dir.path().join("report.md");
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    let report_arg = report.display().to_string();
    args.extend(["-o", &report_arg]);
    let out = Command::new(env!("CARGO_BIN_EXE_bridgescout"))
        .args(&args)
        .output()
        .expect("merge");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(&report).expect("report");
    assert!(md.contains("3 run(s) on 3 network(s)"), "{md}");
    // 5 tested, 3 working overall.
    assert!(md.contains("3 / 5"), "{md}");
    let row = |net: &str, method: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {net} | {method} |")))
            .unwrap_or_else(|| panic!("row {net}/{method} in {md}"))
            .to_string()
    };
    assert!(row("home fiber", "DoT").contains("| 1 / 1 (100 %) |"));
    assert!(row("mobile", "DoT").contains("| 0 / 1 (0 %) |"));
    assert!(row("mobile", "DoT").contains("connection_refused"));
    assert!(row("hotel", "DoT").contains("| 0 / 1 (0 %) |"));
}
