//! The `history` renderer: table, JSON and CSV from store rows.

use bridgescout::catalog::EndpointKind;
use bridgescout::measurement::{Diagnosis, Verdict};
use bridgescout::run::{NetworkContext, RunMeta};
use bridgescout::store::{
    EndpointHistoryRow, HistoryFormat, HistoryPoint, RunSummary, render_history,
};

fn run(id: i64, day: u32, label: Option<&str>, tested: usize, reachable: usize) -> RunSummary {
    RunSummary {
        meta: RunMeta {
            id: Some(id),
            started_at: format!("2024-05-{day:02}T09:30:00.000Z"),
            finished_at: None,
            software_version: "0.1.0".into(),
            network: NetworkContext {
                label: label.map(str::to_string),
                country: Some("KZ".into()),
                asn: Some(9198),
                as_name: Some("JSC Kazakhtelecom".into()),
            },
        },
        tested,
        reachable,
    }
}

fn point(run_id: i64, ok: bool) -> HistoryPoint {
    HistoryPoint {
        run_id,
        start_time: format!("2024-05-0{run_id}T09:30:01.000Z"),
        verdict: if ok {
            Verdict::Reachable
        } else {
            Verdict::Failed
        },
        diagnosis: if ok {
            Diagnosis::Ok
        } else {
            Diagnosis::SniFiltered
        },
        latency_ms: ok.then_some(42.4),
    }
}

fn sample() -> (Vec<RunSummary>, Vec<EndpointHistoryRow>) {
    let runs = vec![
        run(1, 1, Some("home fiber"), 2, 1),
        run(2, 2, None, 2, 1),
        run(3, 3, Some("cafe\u{1b}[2J"), 1, 1),
    ];
    let rows = vec![
        EndpointHistoryRow {
            kind: EndpointKind::Doh,
            label: "Cloudflare".into(),
            results: vec![point(1, true), point(2, false), point(3, true)],
        },
        EndpointHistoryRow {
            kind: EndpointKind::Dot,
            label: "Quad9".into(),
            // Not tested in run 3.
            results: vec![point(1, false), point(2, true)],
        },
    ];
    (runs, rows)
}

fn render(format: HistoryFormat) -> String {
    let (runs, rows) = sample();
    let mut out = Vec::new();
    render_history(&runs, &rows, format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn table_lists_runs_and_timelines() {
    let text = render(HistoryFormat::Table);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Runs");
    assert!(lines[1].contains("STARTED (UTC)") && lines[1].contains("REACHABLE"));
    assert!(
        lines[2].contains("2024-05-01 09:30")
            && lines[2].contains("home fiber, KZ, AS9198 JSC Kazakhtelecom"),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains("KZ, AS9198"), "{}", lines[3]);
    // Escape sequences from stored text are neutralised.
    assert!(!text.contains('\u{1b}'));
    let cloudflare = lines.iter().find(|l| l.contains("Cloudflare")).unwrap();
    assert!(cloudflare.contains("DoH"), "{cloudflare}");
    assert!(cloudflare.contains("✔✘✔"), "{cloudflare}");
    assert!(cloudflare.contains("2/3"), "{cloudflare}");
    assert!(cloudflare.contains("ok 42 ms"), "{cloudflare}");
    let quad9 = lines.iter().find(|l| l.contains("Quad9")).unwrap();
    assert!(quad9.contains("DoT") && quad9.contains("✘✔·"), "{quad9}");
    assert!(quad9.trim_end().ends_with("ok 42 ms"), "{quad9}");
    // Timelines line up in one column.
    let col = |l: &str| l.find(['✔', '✘', '·']).unwrap();
    assert_eq!(col(cloudflare), col(quad9));
}

#[test]
fn table_without_runs_says_so() {
    let mut out = Vec::new();
    render_history(&[], &[], HistoryFormat::Table, &mut out).unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("No runs"));
}

#[test]
fn long_histories_elide_old_runs() {
    let runs: Vec<RunSummary> = (1..=60).map(|i| run(i, 1, None, 1, 1)).collect();
    let rows = vec![EndpointHistoryRow {
        kind: EndpointKind::Doh,
        label: "x".repeat(80),
        results: (1..=60).map(|i| point(i, i % 2 == 0)).collect(),
    }];
    let mut out = Vec::new();
    render_history(&runs, &rows, HistoryFormat::Table, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let line = text.lines().last().unwrap();
    assert!(line.contains("…✘✔"), "{line}");
    let marks = line.chars().filter(|c| *c == '✔' || *c == '✘').count();
    assert_eq!(marks, 40, "{line}");
    assert!(line.contains("30/60"), "{line}");
    // The label is clipped, not printed whole.
    assert!(!line.contains(&"x".repeat(40)), "{line}");
}

#[test]
fn json_is_one_document_with_runs_and_endpoints() {
    let text = render(HistoryFormat::Json);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 3);
    assert_eq!(v["runs"][0]["id"], 1);
    assert_eq!(v["runs"][0]["tested"], 2);
    assert_eq!(v["runs"][0]["network"]["asn"], 9198);
    assert_eq!(v["endpoints"][0]["kind"], "doh");
    assert_eq!(v["endpoints"][0]["label"], "Cloudflare");
    assert_eq!(v["endpoints"][0]["results"][1]["verdict"], "failed");
    assert_eq!(v["endpoints"][0]["results"][1]["diagnosis"], "sni_filtered");
    assert_eq!(v["endpoints"][0]["results"][0]["latency_ms"], 42.4);
}

#[test]
fn csv_has_one_row_per_result() {
    let text = render(HistoryFormat::Csv);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, bridgescout::store::CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0].iter().collect::<Vec<_>>(),
        [
            "doh",
            "Cloudflare",
            "1",
            "2024-05-01T09:30:00.000Z",
            "home fiber",
            "KZ",
            "9198",
            "2024-05-01T09:30:01.000Z",
            "reachable",
            "ok",
            "42.4"
        ]
    );
    assert_eq!(&rows[4][0], "dot");
    assert_eq!(&rows[4][8], "reachable");
    assert_eq!(&rows[1][4], "");
}
