//! Crash safety of the history store: a child process (this test binary,
//! re-entered through `child_writer`) writes batches in a loop and is
//! SIGKILLed mid-run, several times over the same file. Afterwards every
//! batch it reported committed is intact, no batch is partial, and SQLite's
//! integrity check passes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bridgescout::catalog::{EndpointKind, Origin};
use bridgescout::measurement::{
    Diagnosis, EndpointInfo, Measurement, Operation, SCHEMA_VERSION, Step, Verdict,
};
use bridgescout::run::{NetworkContext, RunMeta};
use bridgescout::store::{RunFilter, Store};

/// Set in the child's environment: the database to write to.
const CHILD_DB: &str = "BRIDGESCOUT_STORE_CRASH_CHILD_DB";
const BATCH: usize = 40;

fn measurement(index: usize) -> Measurement {
    Measurement {
        schema_version: SCHEMA_VERSION,
        id: index,
        endpoint: EndpointInfo {
            kind: EndpointKind::Doh,
            label: format!("endpoint-{}", index % 17),
            address: "https://resolver.example/dns-query".into(),
            origin: Origin::Builtin,
        },
        start_time: "2024-05-01T10:00:00.000Z".into(),
        runtime: 0.5,
        // Bulky steps so a batch spans many pages and the kill has a fair
        // chance to land inside a commit.
        steps: (0..8)
            .map(|i| Step {
                operation: Operation::HttpRoundTrip,
                target: Some(format!("https://resolver.example/{i}/{}", "x".repeat(200))),
                t0: f64::from(i),
                t: f64::from(i) + 0.25,
                failure: None,
                detail: Some("y".repeat(100)),
                addresses: vec![],
            })
            .collect(),
        verdict: Verdict::Reachable,
        diagnosis: Diagnosis::Ok,
        failure: None,
        failed_operation: None,
        latency_ms: Some(12.5),
        notes: vec![],
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    }
}

/// Not a test on its own: without the environment variable it returns at
/// once. In the child it writes forever until killed, announcing each
/// committed batch on stdout.
#[test]
fn child_writer() {
    let Some(db) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let mut store = Store::open(Path::new(&db)).unwrap();
    let run = store
        .begin_run(&RunMeta {
            id: None,
            started_at: "2024-05-01T10:00:00.000Z".into(),
            finished_at: None,
            software_version: "crash-test".into(),
            network: NetworkContext::default(),
        })
        .unwrap();
    // Leading newline: libtest has already printed "test child_writer ... ".
    println!("\nrun {run}");
    for batch in 0.. {
        let ms: Vec<Measurement> = (0..BATCH).map(|i| measurement(batch * BATCH + i)).collect();
        store.record(run, &ms).unwrap();
        // Printed only after the commit returned.
        println!("committed {run} {batch}");
    }
}

/// Runs a child writer until it reports `after` commits (plus a little
/// jitter), SIGKILLs it, and returns (run id, last batch reported).
fn write_and_kill(db: &Path, after: usize, extra: Duration) -> (i64, usize) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut run = None;
    let mut last = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while let Some(Ok(line)) = lines.next() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["run", id] => run = Some(id.parse::<i64>().unwrap()),
            ["committed", _, b] => {
                let b: usize = b.parse().unwrap();
                last = Some(b);
                if b + 1 >= after {
                    break;
                }
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "child too slow");
    }
    std::thread::sleep(extra);
    // Child::kill is SIGKILL on Unix: no destructors, no clean close.
    child.kill().unwrap();
    child.wait().unwrap();
    // Commits announced while we slept count as committed too.
    for line in lines.map_while(Result::ok) {
        if let ["committed", _, b] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
            last = Some(b.parse().unwrap());
        }
    }
    (
        run.expect("child announced its run"),
        last.expect("child committed at least one batch"),
    )
}

#[test]
fn killed_writer_leaves_only_whole_committed_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let mut rounds = Vec::new();
    for (after, extra_ms) in [(5, 0), (12, 7), (3, 23)] {
        let (run, last) = write_and_kill(&db, after, Duration::from_millis(extra_ms));
        // The WAL of the killed writer is still there to be recovered.
        rounds.push((run, last));

        let store = Store::open(&db).unwrap();
        store.check_integrity().unwrap();
        for &(run, last) in &rounds {
            let loaded = store
                .load_runs(
                    &RunFilter {
                        since: None,
                        run: Some(run),
                    },
                    None,
                )
                .unwrap();
            assert_eq!(loaded.len(), 1);
            let ms = &loaded[0].measurements;
            assert_eq!(ms.len() % BATCH, 0, "a partial batch is visible");
            let batches = ms.len() / BATCH;
            // Everything announced is there; at most the one batch whose
            // announcement the kill cut off is extra.
            assert!(
                batches == last + 1 || batches == last + 2,
                "run {run}: {batches} batches stored, last announced {last}"
            );
            for (i, m) in ms.iter().enumerate() {
                assert_eq!(m, &measurement(i), "run {run} measurement {i}");
            }
        }
    }
    // And SQLite itself agrees, through a plain connection.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let per_batch: Vec<i64> = conn
        .prepare("SELECT count(*) FROM measurements GROUP BY run_id, endpoint_index / ?1")
        .unwrap()
        .query_map([BATCH as i64], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!per_batch.is_empty());
    assert!(
        per_batch.iter().all(|&n| n == BATCH as i64),
        "{per_batch:?}"
    );
}
