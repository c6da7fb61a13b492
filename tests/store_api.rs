//! History store: opening, migrations, refusal to touch foreign or damaged
//! files, round trips and filters. Real files in temporary directories.

use std::path::Path;

use bridgescout::catalog::{EndpointKind, Origin};
use bridgescout::measurement::{
    Diagnosis, EndpointInfo, Failure, Measurement, Operation, SCHEMA_VERSION, Step, Verdict,
};
use bridgescout::run::{NetworkContext, Run, RunMeta};
use bridgescout::store::{RunFilter, SUPPORTED_VERSION, Store, StoreError};

fn measurement(id: usize, kind: EndpointKind, label: &str, start: &str, ok: bool) -> Measurement {
    let mut steps = vec![Step {
        operation: Operation::TcpConnect,
        target: Some("192.0.2.1:443".into()),
        t0: 0.001,
        t: 0.0123,
        failure: None,
        detail: None,
        addresses: vec![],
    }];
    if !ok {
        steps.push(Step {
            operation: Operation::TlsHandshake,
            target: Some(label.to_string()),
            t0: 0.0123,
            t: 5.0,
            failure: Some(Failure::Unknown("odd \"quoted\" thing".into())),
            detail: Some("sni=x".into()),
            addresses: vec!["192.0.2.1".into(), "2001:db8::1".into()],
        });
    }
    Measurement {
        schema_version: SCHEMA_VERSION,
        id,
        endpoint: EndpointInfo {
            kind,
            label: label.to_string(),
            address: format!("https://{label}/dns-query"),
            origin: if id.is_multiple_of(2) {
                Origin::Builtin
            } else {
                Origin::User
            },
        },
        start_time: start.to_string(),
        runtime: 0.123_456_789,
        steps,
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
        failure: (!ok).then(|| Failure::Unknown("odd \"quoted\" thing".into())),
        failed_operation: (!ok).then_some(Operation::TlsHandshake),
        latency_ms: ok.then_some(31.25),
        notes: if ok {
            vec!["HTTP/1.1 only".into()]
        } else {
            vec![]
        },
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    }
}

fn meta(started_at: &str, label: &str) -> RunMeta {
    RunMeta {
        id: None,
        started_at: started_at.to_string(),
        finished_at: None,
        software_version: "0.1.0".into(),
        network: NetworkContext {
            label: Some(label.to_string()),
            country: Some("KZ".into()),
            asn: Some(9198),
            as_name: Some("JSC Kazakhtelecom".into()),
        },
    }
}

fn sidecars(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn round_trip_measurements_are_equal_after_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/history.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let meta = meta("2024-05-01T10:00:00.000Z", "home fiber");
    let run = store.begin_run(&meta).unwrap();
    let first = vec![
        measurement(
            0,
            EndpointKind::Doh,
            "a.example",
            "2024-05-01T10:00:00.100Z",
            true,
        ),
        measurement(
            1,
            EndpointKind::Dot,
            "b.example",
            "2024-05-01T10:00:00.200Z",
            false,
        ),
    ];
    let second = vec![measurement(
        2,
        EndpointKind::Doh,
        "c.example",
        "2024-05-01T10:00:00.300Z",
        false,
    )];
    // Finished out of order: stored order follows the endpoint index.
    store.record(run, &second).unwrap();
    store.record(run, &first).unwrap();
    store.record(run, &[]).unwrap();
    store.finish_run(run, "2024-05-01T10:00:09.000Z").unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    let runs = store.load_runs(&RunFilter::default(), None).unwrap();
    let mut want_meta = meta.clone();
    want_meta.id = Some(run);
    want_meta.finished_at = Some("2024-05-01T10:00:09.000Z".into());
    let mut all = first.clone();
    all.extend(second.clone());
    assert_eq!(
        runs,
        vec![Run {
            meta: want_meta.clone(),
            measurements: all,
        }]
    );
    assert_eq!(store.runs(&RunFilter::default()).unwrap(), vec![want_meta]);
    store.check_integrity().unwrap();
}

#[test]
fn empty_file_is_migrated_to_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    std::fs::write(&path, b"").unwrap();
    let mut store = Store::open(&path).unwrap();
    let run = store
        .begin_run(&meta("2024-05-01T10:00:00.000Z", "x"))
        .unwrap();
    assert_eq!(run, 1);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SUPPORTED_VERSION);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table','index') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for want in [
        "measurements",
        "measurements_kind_time",
        "measurements_run",
        "runs",
    ] {
        assert!(tables.iter().any(|t| t == want), "{want} in {tables:?}");
    }
    // Reopening does not migrate again or lose data.
    drop(conn);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.runs(&RunFilter::default()).unwrap().len(), 1);
}

#[test]
fn newer_schema_is_refused_and_the_file_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY, future TEXT);
             INSERT INTO runs (future) VALUES ('from a newer build');",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", SUPPORTED_VERSION + 1)
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let files_before = sidecars(dir.path());
    match Store::open(&path) {
        Err(StoreError::NewerSchema { found, supported }) => {
            assert_eq!(found, SUPPORTED_VERSION + 1);
            assert_eq!(supported, SUPPORTED_VERSION);
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(sidecars(dir.path()), files_before);
    // Header bytes 18/19 say rollback journal (1), not WAL (2).
    assert_eq!(&before[18..20], &[1, 1]);
}

#[test]
fn garbage_files_are_corrupt_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mut noise = Vec::new();
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..8192 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push(x as u8);
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "text.sqlite3",
            b"these are my precious notes, not a database\n".to_vec(),
        ),
        ("noise.sqlite3", noise),
        // SQLite alone would take these for empty databases and overwrite them.
        ("tiny.sqlite3", b"x".to_vec()),
        ("short.sqlite3", b"SQLite format".to_vec()),
        ("zeros.sqlite3", vec![0u8; 4096]),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let files_before = sidecars(dir.path());
        match Store::open(&path) {
            Err(e @ StoreError::Corrupt { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(name), "{msg}");
                assert!(msg.contains("not an SQLite database"), "{msg}");
                assert!(msg.contains("left untouched"), "{msg}");
            }
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} changed");
        assert_eq!(sidecars(dir.path()), files_before, "{name}");
    }
}

#[test]
fn damaged_database_is_corrupt_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    {
        let mut store = Store::open(&path).unwrap();
        let run = store
            .begin_run(&meta("2024-05-01T10:00:00.000Z", "x"))
            .unwrap();
        let batch: Vec<_> = (0..50)
            .map(|i| {
                measurement(
                    i,
                    EndpointKind::Doh,
                    "a.example",
                    "2024-05-01T10:00:01Z",
                    true,
                )
            })
            .collect();
        store.record(run, &batch).unwrap();
    }
    // The closed store checkpointed its WAL: everything is in the main file.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8192);
    // Overwrite the schema page after the 100-byte file header.
    for (i, b) in bytes[100..4096].iter_mut().enumerate() {
        *b = (i * 7 + 13) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    match Store::open(&path) {
        Err(StoreError::Corrupt { message, .. }) => {
            assert!(message.contains("malformed"), "{message}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn someone_elses_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('a');")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::Foreign { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn unknown_runs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let m = measurement(0, EndpointKind::Doh, "a", "2024-05-01T10:00:00Z", true);
    assert!(matches!(
        store.record(42, &[m]),
        Err(StoreError::UnknownRun(42))
    ));
    assert!(matches!(
        store.finish_run(7, "2024-05-01T10:00:00Z"),
        Err(StoreError::UnknownRun(7))
    ));
    assert!(
        store
            .load_runs(&RunFilter::default(), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn unparsable_stored_measurement_is_reported_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let run = store.begin_run(&meta("2024-05-01T10:00:00Z", "x")).unwrap();
    let batch: Vec<_> = (0..3)
        .map(|i| measurement(i, EndpointKind::Doh, "a", "2024-05-01T10:00:00Z", true))
        .collect();
    store.record(run, &batch).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE measurements SET json = '{\"truncated\": ' WHERE endpoint_index = 1",
            [],
        )
        .unwrap();
    }
    let bad_id: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT id FROM measurements WHERE endpoint_index = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    match store.load_runs(&RunFilter::default(), None) {
        Err(e @ StoreError::BadRow { .. }) => {
            let StoreError::BadRow { table, id, .. } = &e else {
                unreachable!()
            };
            assert_eq!(*table, "measurements");
            assert_eq!(*id, bad_id);
            assert!(e.to_string().contains(&format!("row {bad_id}")), "{e}");
        }
        other => panic!("expected BadRow, got {other:?}"),
    }
}

/// Three runs over three days, with DoH and DoT results.
fn three_days(store: &mut Store) -> Vec<i64> {
    let mut ids = Vec::new();
    // Inserted out of chronological order on purpose.
    for (day, start, ok) in [
        ("2024-05-03", "2024-05-03T09:00:00.000Z", true),
        ("2024-05-01", "2024-05-01T09:00:00.000Z", false),
        ("2024-05-02", "2024-05-02T09:00:00+00:00", true),
    ] {
        let run = store.begin_run(&meta(start, day)).unwrap();
        let t = |s: &str| format!("{day}T09:00:{s}Z");
        store
            .record(
                run,
                &[
                    measurement(0, EndpointKind::Dot, "zeta", &t("01"), ok),
                    measurement(1, EndpointKind::Doh, "beta", &t("02"), !ok),
                    measurement(2, EndpointKind::Doh, "alpha", &t("03"), ok),
                ],
            )
            .unwrap();
        ids.push(run);
    }
    // A run that tested only DoH.
    let run = store
        .begin_run(&meta("2024-05-04T09:00:00.000Z", "2024-05-04"))
        .unwrap();
    store
        .record(
            run,
            &[measurement(
                0,
                EndpointKind::Doh,
                "alpha",
                "2024-05-04T09:00:01Z",
                true,
            )],
        )
        .unwrap();
    ids.push(run);
    ids
}

fn labels(runs: &[RunMeta]) -> Vec<String> {
    runs.iter()
        .map(|r| r.network.label.clone().unwrap_or_default())
        .collect()
}

#[test]
fn since_run_and_kind_filters() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let ids = three_days(&mut store);

    let all = store.runs(&RunFilter::default()).unwrap();
    assert_eq!(
        labels(&all),
        ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"]
    );

    let since = RunFilter {
        since: Some("2024-05-02T09:00:00.000Z".into()),
        run: None,
    };
    // Inclusive, and `+00:00` compares as the same instant as `Z`.
    assert_eq!(
        labels(&store.runs(&since).unwrap()),
        ["2024-05-02", "2024-05-03", "2024-05-04"]
    );
    let since_relative = RunFilter {
        since: Some(
            bridgescout::store::parse_since(
                "36h",
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_714_813_200),
            )
            .unwrap(),
        ),
        run: None,
    };
    // now = 2024-05-04T09:00Z; 36 h back is 2024-05-02T21:00Z.
    assert_eq!(
        labels(&store.runs(&since_relative).unwrap()),
        ["2024-05-03", "2024-05-04"]
    );

    let one = RunFilter {
        since: None,
        run: Some(ids[1]),
    };
    let loaded = store.load_runs(&one, None).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].meta.id, Some(ids[1]));
    assert_eq!(loaded[0].measurements.len(), 3);

    // Kind: only DoT measurements, and the DoH-only run drops out.
    let dot = store
        .load_runs(&RunFilter::default(), Some(EndpointKind::Dot))
        .unwrap();
    assert_eq!(dot.len(), 3);
    assert!(
        dot.iter()
            .flat_map(|r| &r.measurements)
            .all(|m| m.endpoint.kind == EndpointKind::Dot)
    );
    let doh = store.load_runs(&since, Some(EndpointKind::Doh)).unwrap();
    assert_eq!(
        doh.iter().map(|r| r.measurements.len()).collect::<Vec<_>>(),
        [2, 2, 1]
    );

    let summaries = store
        .run_summaries(&RunFilter::default(), Some(EndpointKind::Dot))
        .unwrap();
    assert_eq!(
        summaries
            .iter()
            .map(|s| (s.tested, s.reachable))
            .collect::<Vec<_>>(),
        [(1, 0), (1, 1), (1, 1)]
    );
    let summaries = store.run_summaries(&RunFilter::default(), None).unwrap();
    assert_eq!(
        summaries
            .iter()
            .map(|s| (s.tested, s.reachable))
            .collect::<Vec<_>>(),
        [(3, 1), (3, 2), (3, 2), (1, 1)]
    );
}

#[test]
fn endpoint_history_is_grouped_and_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let ids = three_days(&mut store);
    let rows = store.endpoint_history(&RunFilter::default(), None).unwrap();
    let keys: Vec<(EndpointKind, &str, usize)> = rows
        .iter()
        .map(|r| (r.kind, r.label.as_str(), r.results.len()))
        .collect();
    assert_eq!(
        keys,
        [
            (EndpointKind::Doh, "alpha", 4),
            (EndpointKind::Doh, "beta", 3),
            (EndpointKind::Dot, "zeta", 3),
        ]
    );
    // Oldest first, whatever order the runs were stored in.
    let alpha = &rows[0].results;
    assert_eq!(
        alpha.iter().map(|p| p.run_id).collect::<Vec<_>>(),
        [ids[1], ids[2], ids[0], ids[3]]
    );
    assert_eq!(
        alpha.iter().map(|p| p.verdict).collect::<Vec<_>>(),
        [
            Verdict::Failed,
            Verdict::Reachable,
            Verdict::Reachable,
            Verdict::Reachable
        ]
    );
    assert_eq!(alpha[0].diagnosis, Diagnosis::SniFiltered);
    assert_eq!(alpha[1].latency_ms, Some(31.25));
    assert!(alpha.windows(2).all(|w| w[0].start_time < w[1].start_time));

    let dot_since = store
        .endpoint_history(
            &RunFilter {
                since: Some("2024-05-02".into()),
                run: None,
            },
            Some(EndpointKind::Dot),
        )
        .unwrap();
    assert_eq!(dot_since.len(), 1);
    assert_eq!(dot_since[0].label, "zeta");
    assert_eq!(
        dot_since[0]
            .results
            .iter()
            .map(|p| p.run_id)
            .collect::<Vec<_>>(),
        [ids[2], ids[0]]
    );
}
