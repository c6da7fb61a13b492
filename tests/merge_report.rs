//! Workshop merge: three exports with known counts, merged and checked
//! number by number; foreign files rejected; the HTML report rendered by
//! headless Chromium (required unless BRIDGESCOUT_SKIP_BROWSER=1).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bridgescout::catalog::{EndpointKind, Origin};
use bridgescout::export::{ExportFormat, ExportOptions, export};
use bridgescout::measurement::{Diagnosis, EndpointInfo, Failure, Measurement, Operation, Verdict};
use bridgescout::merge::{MergeError, MergedReport, merge, render_html, render_markdown};
use bridgescout::run::{NetworkContext, Run, RunMeta};

fn m(kind: EndpointKind, result: Result<f64, Diagnosis>, n: usize, origin: Origin) -> Measurement {
    let (verdict, diagnosis, latency, failure) = match result {
        Ok(l) => (Verdict::Reachable, Diagnosis::Ok, Some(l), None),
        Err(d) => (Verdict::Failed, d, None, Some(Failure::GenericTimeout)),
    };
    Measurement {
        schema_version: 1,
        id: n,
        endpoint: EndpointInfo {
            kind,
            label: format!("endpoint {n}"),
            address: format!("tls://resolver{n}.example:853"),
            origin,
        },
        start_time: "2024-05-06T07:08:09.123Z".into(),
        runtime: 0.25,
        steps: vec![],
        verdict,
        diagnosis,
        failure: failure.clone(),
        failed_operation: failure.map(|_| Operation::TcpConnect),
        latency_ms: latency,
        notes: vec![],
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    }
}

fn run(country: Option<&str>, asn: Option<u32>, label: Option<&str>, ms: Vec<Measurement>) -> Run {
    Run {
        meta: RunMeta {
            id: Some(1),
            started_at: "2024-05-06T07:08:00Z".into(),
            finished_at: None,
            software_version: "0.1.0".into(),
            network: NetworkContext {
                label: label.map(str::to_string),
                country: country.map(str::to_string),
                asn,
                as_name: asn.map(|_| "Example <Telecom>".to_string()),
            },
        },
        measurements: ms,
    }
}

fn write_export(dir: &Path, name: &str, runs: &[Run], format: ExportFormat) -> PathBuf {
    let path = dir.join(name);
    let mut out = Vec::new();
    let opts = ExportOptions {
        local_addresses: Vec::new(),
        ..ExportOptions::default()
    };
    export(runs, format, &opts, &mut out).expect("export");
    std::fs::write(&path, out).expect("write export");
    path
}

use Diagnosis::{ConnectionReset, SniFiltered, Timeout};
use EndpointKind::{Doh, Dot};

/// Three participants' files with known numbers (see the assertions).
fn three_exports(dir: &Path) -> Vec<PathBuf> {
    let a = vec![run(
        Some("KZ"),
        Some(9198),
        Some("hotel"),
        vec![
            m(Doh, Ok(10.0), 0, Origin::Builtin),
            m(Doh, Ok(30.0), 1, Origin::User),
            m(Doh, Err(Timeout), 2, Origin::Builtin),
            m(Dot, Err(SniFiltered), 3, Origin::Builtin),
            m(Dot, Err(SniFiltered), 4, Origin::User),
        ],
    )];
    let b = vec![
        run(
            Some("KZ"),
            Some(9198),
            Some("hotel"),
            vec![m(Doh, Ok(50.0), 0, Origin::Builtin)],
        ),
        run(
            None,
            None,
            Some("home"),
            vec![
                m(Dot, Ok(40.0), 0, Origin::Builtin),
                m(Dot, Err(ConnectionReset), 1, Origin::User),
            ],
        ),
    ];
    let c = vec![run(
        Some("DE"),
        Some(3320),
        None,
        (0..4)
            .map(|i| m(Doh, Ok(f64::from(i as u8 + 1)), i, Origin::Builtin))
            .collect(),
    )];
    vec![
        write_export(dir, "a.json", &a, ExportFormat::Json),
        write_export(dir, "b.jsonl", &b, ExportFormat::Jsonl),
        write_export(dir, "c.json", &c, ExportFormat::Json),
    ]
}

/// Network, method, tested, working, median latency, typical failure.
type RowNumbers = (
    String,
    EndpointKind,
    usize,
    usize,
    Option<f64>,
    Option<Diagnosis>,
);

fn check_numbers(r: &MergedReport) {
    assert_eq!(r.files, 3);
    assert_eq!(r.runs, 4);
    assert_eq!(r.networks, 3);
    assert_eq!(r.duplicate_runs, 0);
    let rows: Vec<RowNumbers> = r
        .rows
        .iter()
        .map(|row| {
            (
                row.network.display(),
                row.kind,
                row.tally.tested,
                row.tally.working,
                row.tally.median_latency_ms,
                row.tally.typical_failure,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("home".into(), Dot, 2, 1, Some(40.0), Some(ConnectionReset)),
            ("DE · AS3320".into(), Doh, 4, 4, Some(2.5), None),
            (
                "KZ · AS9198 · hotel".into(),
                Doh,
                4,
                3,
                Some(30.0),
                Some(Timeout)
            ),
            (
                "KZ · AS9198 · hotel".into(),
                Dot,
                2,
                0,
                None,
                Some(SniFiltered)
            ),
        ]
    );
    // The KZ DoH row merges two participants' runs.
    assert_eq!(r.rows[2].runs, 2);
    assert_eq!(r.total.tested, 12);
    assert_eq!(r.total.working, 8);
    // Latencies 1 2 3 4 10 30 40 50.
    assert_eq!(r.total.median_latency_ms, Some(7.0));
    assert_eq!(r.total.typical_failure, Some(SniFiltered));
    let by: Vec<(EndpointKind, usize, usize)> = r
        .by_method
        .iter()
        .map(|(k, t)| (*k, t.tested, t.working))
        .collect();
    assert_eq!(by, vec![(Doh, 8, 7), (Dot, 4, 1)]);
}

#[test]
fn merges_three_exports_with_known_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = three_exports(dir.path());
    let report = merge(&files).expect("merge");
    check_numbers(&report);

    let md = render_markdown(&report);
    assert!(
        md.contains("| KZ · AS9198 · hotel (Example <Telecom>) | DoH | 4 | 3 / 4 (75 %) | 30 ms |"),
        "{md}"
    );
    assert!(
        md.contains("| **All networks** | all | 12 | 8 / 12 (67 %) | 7 ms |"),
        "{md}"
    );
    assert!(md.contains("| DoT | 4 | 1 / 4 (25 %) |"), "{md}");

    let html = render_html(&report);
    assert!(
        html.contains("<style>") && !html.contains("<script"),
        "self-contained, no JS"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    assert!(html.contains("Example &lt;Telecom&gt;"), "escaped");
}

#[test]
fn the_same_file_twice_counts_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = three_exports(dir.path());
    let twice = vec![files[0].clone(), files[0].clone()];
    let r = merge(&twice).expect("merge");
    assert_eq!(r.duplicate_runs, 1);
    assert_eq!(r.total.tested, 5);
}

#[test]
fn foreign_files_are_rejected_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runs = vec![run(
        None,
        None,
        None,
        vec![m(Doh, Ok(1.0), 0, Origin::Builtin)],
    )];
    let ooni = write_export(dir.path(), "o.jsonl", &runs, ExportFormat::Ooni);
    let csv = write_export(dir.path(), "c.csv", &runs, ExportFormat::Csv);
    let scan = dir.path().join("scan.jsonl");
    std::fs::write(
        &scan,
        serde_json::to_string(&runs[0].measurements[0]).expect("json") + "\n",
    )
    .expect("write");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "  \n").expect("write");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(
        &garbage,
        "{\"schema\": \"bridgescout-export\", \"schema_version\": 1, \"runs\": 5}",
    )
    .expect("write");
    let future = dir.path().join("future.json");
    std::fs::write(
        &future,
        "{\"schema\": \"bridgescout-export\", \"schema_version\": 9}",
    )
    .expect("write");
    let binary = dir.path().join("bin.json");
    std::fs::write(&binary, [0xff_u8, 0xfe, 0x00, 0x7b]).expect("write");

    let err = |p: &PathBuf| merge(std::slice::from_ref(p)).expect_err("must be rejected");
    let e = err(&ooni);
    assert!(
        matches!(e, MergeError::NotOurs { .. }) && e.to_string().contains("OONI"),
        "{e}"
    );
    let e = err(&csv);
    assert!(e.to_string().contains("CSV"), "{e}");
    let e = err(&scan);
    assert!(e.to_string().contains("scan"), "{e}");
    assert!(matches!(err(&empty), MergeError::Empty { .. }));
    assert!(
        matches!(err(&garbage), MergeError::Invalid { .. }),
        "{}",
        err(&garbage)
    );
    assert!(matches!(err(&future), MergeError::Version { found: 9, .. }));
    assert!(matches!(err(&binary), MergeError::NotOurs { .. }));
    assert!(matches!(
        err(&dir.path().join("missing.json")),
        MergeError::Read { .. }
    ));
    assert!(matches!(merge(&[]), Err(MergeError::NoFiles)));
    // Every message names the file.
    assert!(err(&csv).to_string().contains("c.csv"));
}

// ------------------------------------------------------------- browser

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_skipped() -> bool {
    std::env::var("BRIDGESCOUT_SKIP_BROWSER").is_ok_and(|v| v == "1")
}

/// Runs headless Chromium with `args` on `page`, bounded in time.
fn chromium(profile: &Path, page: &Path, args: &[&str]) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install -y chromium (or set BRIDGESCOUT_SKIP_BROWSER=1)"
    );
    let url = format!("file://{}", page.display());
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait().expect("wait chromium") {
            Some(status) => {
                assert!(status.success(), "chromium failed: {status}");
                break;
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish in time");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    reader.join().unwrap_or_default()
}

#[test]
fn html_report_renders_in_headless_chromium() {
    if browser_skipped() {
        eprintln!("BRIDGESCOUT_SKIP_BROWSER=1: browser check skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let report = merge(&three_exports(dir.path())).expect("merge");
    let page = dir.path().join("report.html");
    std::fs::write(&page, render_html(&report)).expect("write html");
    let profile = dir.path().join("profile");

    let dom = chromium(&profile, &page, &["--dump-dom"]);
    assert!(
        dom.contains("<table class=\"stack\" id=\"results\">"),
        "{dom}"
    );
    assert!(dom.contains("id=\"total-tested\">12<"), "{dom}");
    assert!(dom.contains("id=\"total-working\">8<"), "{dom}");
    for text in [
        "KZ · AS9198 · hotel",
        "3 / 4 (75 %)",
        "0 / 2 (0 %)",
        "4 / 4 (100 %)",
        "sni_filtered",
        "connection_reset",
        "30 ms",
        "8 / 12 (67 %)",
    ] {
        assert!(dom.contains(text), "{text} missing from the DOM:\n{dom}");
    }
    // Four body rows in the main table.
    let table = dom.split("id=\"results\"").nth(1).unwrap_or("");
    let body = table.split("<tbody>").nth(1).unwrap_or("");
    let body = body.split("</tbody>").next().unwrap_or("");
    assert_eq!(body.matches("<tr>").count(), 4, "{body}");

    // Phone-width screenshot, kept for a human to look at.
    let shot = dir.path().join("phone.png");
    chromium(
        &profile,
        &page,
        &[
            "--window-size=390,1600",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 10_000, "suspiciously small screenshot");
    let keep = std::env::temp_dir().join("bridgescout-merge-phone.png");
    let _ = std::fs::copy(&shot, keep);
}
