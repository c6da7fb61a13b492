use std::time::{Duration, UNIX_EPOCH};

use super::*;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// 2024-05-01T12:00:00Z
const NOON: u64 = 1_714_564_800;

#[test]
fn since_accepts_ages() {
    let now = at(NOON);
    assert_eq!(parse_since("24h", now).unwrap(), "2024-04-30T12:00:00.000Z");
    assert_eq!(parse_since("7d", now).unwrap(), "2024-04-24T12:00:00.000Z");
    assert_eq!(parse_since("90m", now).unwrap(), "2024-05-01T10:30:00.000Z");
    assert_eq!(parse_since("2w", now).unwrap(), "2024-04-17T12:00:00.000Z");
    assert_eq!(
        parse_since(" 1d 2h ", now).unwrap(),
        "2024-04-30T10:00:00.000Z"
    );
    // Further back than 1970 means everything, not a panic.
    assert_eq!(
        parse_since("100000d", now).unwrap(),
        "1970-01-01T00:00:00.000Z"
    );
}

#[test]
fn since_accepts_rfc3339_and_dates() {
    let now = at(NOON);
    for (input, want) in [
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000Z"),
        ("2024-05-01t12:00:00.25z", "2024-05-01T12:00:00.250Z"),
        ("2024-05-01T15:30:00+03:30", "2024-05-01T12:00:00.000Z"),
        ("2024-05-01T07:00:00-05:00", "2024-05-01T12:00:00.000Z"),
        ("2024-05-01T12:00:00.5+00:00", "2024-05-01T12:00:00.500Z"),
        ("2024-05-01", "2024-05-01T00:00:00.000Z"),
        ("2024-05-01 12:00:00", "2024-05-01T12:00:00.000Z"),
    ] {
        assert_eq!(parse_since(input, now).unwrap(), want, "{input}");
    }
}

#[test]
fn since_rejects_nonsense_without_panicking() {
    let now = at(NOON);
    for input in [
        "",
        "   ",
        "yesterday",
        "7x",
        "-7d",
        "2024-13-01",
        "2024-05-01T25:00:00Z",
        "2024-05-01T12:00:00+3:00",
        "2024-05-01T12:00:00+03:0é",
        "2024-05-01 12:00:00é+03:00",
        "1969-12-31T23:00:00Z",
        "1970-01-01T00:30:00+01:00",
        "9999-12-31T23:59:59-12:00",
        "2024-05-01ééééééééééééé",
        "99999999999999999999999d",
    ] {
        let err = parse_since(input, now).expect_err(input);
        assert_eq!(err.input, input);
    }
}

#[test]
fn time_formatting_is_fallible_not_panicking() {
    assert_eq!(format_time(UNIX_EPOCH - Duration::from_secs(1)), None);
    assert_eq!(
        format_time(UNIX_EPOCH + Duration::from_secs(253_402_300_800)),
        None
    );
    assert_eq!(
        format_time(at(NOON)).as_deref(),
        Some("2024-05-01T12:00:00.000Z")
    );
}

#[test]
fn default_path_follows_xdg() {
    // Reads the real environment; only checks the shape to stay parallel-safe.
    if let Some(p) = Store::default_path() {
        assert!(p.is_absolute());
        assert!(p.ends_with("bridgescout/history.sqlite3"));
    }
}

#[test]
fn migration_list_matches_supported_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let v = schema::user_version(&store.conn).unwrap();
    assert_eq!(v, SUPPORTED_VERSION);
    const { assert!(SUPPORTED_VERSION >= 1) };
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 1, "NORMAL");
}

#[test]
fn bad_since_in_filter_is_an_error_not_an_empty_result() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("h.sqlite3")).unwrap();
    let filter = RunFilter {
        since: Some("last tuesday".into()),
        run: None,
    };
    assert!(matches!(store.runs(&filter), Err(StoreError::BadTime(_))));
    assert!(matches!(
        store.endpoint_history(&filter, None),
        Err(StoreError::BadTime(_))
    ));
}
