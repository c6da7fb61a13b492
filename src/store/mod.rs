//! The history store: every run and its measurements in one SQLite file,
//! so `history` can show how endpoints fared over time and exports can
//! replay past runs.
//!
//! Safety rules: a file that exists is never deleted or recreated; a file
//! that is not a database, is damaged, or was written by a newer build is
//! reported and left untouched. Each batch of measurements is one
//! transaction in WAL mode, so a crash loses at most the batch in flight.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::catalog::EndpointKind;
use crate::measurement::{Diagnosis, Measurement, Verdict};
use crate::run::{NetworkContext, Run, RunMeta};

mod history;
mod schema;

pub use history::{CSV_COLUMNS, HistoryFormat, render_history};
pub use schema::SUPPORTED_VERSION;

/// How long to wait for another bridgescout process holding the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory for the history database {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the history database {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a usable history database ({message}); it was left untouched: \
         move it aside or choose another file with --db"
    )]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "the history database uses schema version {found}, but this build of bridgescout \
         only knows up to version {supported}; upgrade bridgescout (the file was not changed)"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error(
        "{path} is an SQLite database that bridgescout did not create; it was left untouched: \
         choose another file with --db"
    )]
    Foreign { path: PathBuf },
    #[error("history database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("history database {path}: {table} row {id} is unreadable: {message}")]
    BadRow {
        path: PathBuf,
        table: &'static str,
        id: i64,
        message: String,
    },
    #[error("cannot encode a measurement for the history database: {0}")]
    Encode(String),
    #[error("no run with id {0} in the history database")]
    UnknownRun(i64),
    #[error("not a time: {0:?} (want RFC 3339 like 2024-05-01T12:00:00Z)")]
    BadTime(String),
}

/// Which runs to read. Empty means all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs started at or after this RFC 3339 time (see [`parse_since`]).
    pub since: Option<String>,
    /// Only the run with this id.
    pub run: Option<i64>,
}

/// A run with its result counts, for the runs list of `history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    #[serde(flatten)]
    pub meta: RunMeta,
    /// Measurements recorded (of the requested kind, when filtered).
    pub tested: usize,
    pub reachable: usize,
}

/// One result of one endpoint in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub run_id: i64,
    pub start_time: String,
    pub verdict: Verdict,
    pub diagnosis: Diagnosis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
}

/// One endpoint (kind + label) and its results, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointHistoryRow {
    pub kind: EndpointKind,
    pub label: String,
    pub results: Vec<HistoryPoint>,
}

/// An open history database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The run columns every run query selects, in [`run_from_row`] order.
const RUN_COLUMNS: &str = "r.id, r.started_at, r.finished_at, r.software_version, r.network_label, r.country, r.asn, r.as_name";

/// The run filter as SQL over alias `r`, with `?1` = since and `?2` = run id.
/// Times compare as instants, not strings, so `Z` vs `+00:00` or missing
/// milliseconds cannot reorder them.
const RUN_WHERE: &str =
    "(?1 IS NULL OR unixepoch(r.started_at, 'subsec') >= unixepoch(?1, 'subsec'))
     AND (?2 IS NULL OR r.id = ?2)";

impl Store {
    /// `$XDG_DATA_HOME/bridgescout/history.sqlite3`, else
    /// `$HOME/.local/share/bridgescout/history.sqlite3`. XDG says relative
    /// values are invalid and must be ignored.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute())
                    .map(|home| home.join(".local").join("share"))
            })?;
        Some(base.join("bridgescout").join("history.sqlite3"))
    }

    /// Opens (or creates) the database at `path` and brings its schema up
    /// to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let exists = path.exists();
        if exists {
            check_header(path)?;
        } else {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                // The history holds private bridge lines: a directory we
                // create is ours alone.
                let mut builder = std::fs::DirBuilder::new();
                builder.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                builder
                    .create(parent)
                    .map_err(|source| StoreError::CreateDir {
                        path: parent.to_path_buf(),
                        source,
                    })?;
            }
        }
        // Never the CREATE flag for an existing file: if it vanishes meanwhile
        // we fail rather than quietly start an empty history. No URI flag, so
        // a file named `file:...` is just a file.
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if !exists {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let path_buf = path.to_path_buf();
        let err = |e| classify(&path_buf, e);
        let mut conn = Connection::open_with_flags(path, flags).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        #[cfg(unix)]
        if !exists {
            // Same reason as the directory: owner-only from the start.
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }

        // Read-only checks first: a newer or foreign file must not be
        // touched, and even switching to WAL writes the header.
        let version = schema::user_version(&conn).map_err(err)?;
        if version > SUPPORTED_VERSION {
            return Err(StoreError::NewerSchema {
                found: version,
                supported: SUPPORTED_VERSION,
            });
        }
        // Reading the schema also surfaces a damaged first page.
        let has_tables = schema::has_user_tables(&conn).map_err(err)?;
        if version == 0 && has_tables {
            return Err(StoreError::Foreign { path: path_buf });
        }

        // The returned mode is ignored on purpose: some file systems cannot
        // do WAL and SQLite then keeps its rollback journal, still safe.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(err)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(err)?;
        if let Err(found) = schema::migrate(&mut conn).map_err(err)? {
            return Err(StoreError::NewerSchema {
                found,
                supported: SUPPORTED_VERSION,
            });
        }
        Ok(Store {
            conn,
            path: path_buf,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the start of a run and returns its id. `meta.id` is ignored.
    pub fn begin_run(&mut self, meta: &RunMeta) -> Result<i64, StoreError> {
        let net = &meta.network;
        self.conn
            .execute(
                "INSERT INTO runs (started_at, finished_at, software_version,
                                   network_label, country, asn, as_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    meta.started_at,
                    meta.finished_at,
                    meta.software_version,
                    net.label,
                    net.country,
                    net.asn.map(i64::from),
                    net.as_name,
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Stores a batch of finished measurements in one transaction: after a
    /// crash either the whole batch is there or none of it.
    pub fn record(&mut self, run_id: i64, batch: &[Measurement]) -> Result<(), StoreError> {
        let rows = batch
            .iter()
            .map(MeasurementRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        let path = self.path.clone();
        let err = |e| classify(&path, e);
        // IMMEDIATE: take the write lock up front, so a concurrent writer
        // makes us wait (busy timeout) instead of failing mid-transaction.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        if !run_exists(&tx, run_id).map_err(err)? {
            return Err(StoreError::UnknownRun(run_id));
        }
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO measurements (run_id, endpoint_index, kind, label, address,
                         origin, start_time, verdict, diagnosis, failure, failed_operation,
                         latency_ms, json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(err)?;
            for (m, row) in batch.iter().zip(&rows) {
                insert
                    .execute(params![
                        run_id,
                        row.endpoint_index,
                        row.kind,
                        m.endpoint.label,
                        m.endpoint.address,
                        row.origin,
                        m.start_time,
                        row.verdict,
                        row.diagnosis,
                        row.failure,
                        row.failed_operation,
                        m.latency_ms,
                        row.json,
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Marks a run finished (RFC 3339 time).
    pub fn finish_run(&mut self, run_id: i64, finished_at: &str) -> Result<(), StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE runs SET finished_at = ?1 WHERE id = ?2",
                params![finished_at, run_id],
            )
            .map_err(|e| self.err(e))?;
        if changed == 0 {
            return Err(StoreError::UnknownRun(run_id));
        }
        Ok(())
    }

    /// Runs matching `filter`, oldest first.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunMeta>, StoreError> {
        self.check_filter(filter)?;
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r WHERE {RUN_WHERE}
             ORDER BY coalesce(unixepoch(r.started_at, 'subsec'), 0), r.id"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let raw = stmt
            .query_map(params![filter.since, filter.run], RawRun::from_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raw.into_iter().map(|r| r.into_meta(&self.path)).collect()
    }

    /// Runs matching `filter` with their result counts. With `kind`, counts
    /// only that kind and leaves out runs that tested none of it.
    pub fn run_summaries(
        &self,
        filter: &RunFilter,
        kind: Option<EndpointKind>,
    ) -> Result<Vec<RunSummary>, StoreError> {
        self.check_filter(filter)?;
        let sql = format!(
            "SELECT {RUN_COLUMNS},
                 (SELECT count(*) FROM measurements m
                   WHERE m.run_id = r.id AND (?3 IS NULL OR m.kind = ?3)),
                 (SELECT count(*) FROM measurements m
                   WHERE m.run_id = r.id AND (?3 IS NULL OR m.kind = ?3)
                     AND m.verdict = 'reachable')
             FROM runs r WHERE {RUN_WHERE}
             ORDER BY coalesce(unixepoch(r.started_at, 'subsec'), 0), r.id"
        );
        let kind_str = kind.map(EndpointKind::as_str);
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let raw = stmt
            .query_map(params![filter.since, filter.run, kind_str], |row| {
                Ok((
                    RawRun::from_row(row)?,
                    row.get::<_, i64>(8)?,
                    row.get::<_, i64>(9)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(raw.len());
        for (run, tested, reachable) in raw {
            if kind.is_some() && tested == 0 {
                continue;
            }
            out.push(RunSummary {
                meta: run.into_meta(&self.path)?,
                // Counts are never negative; clamp rather than fail.
                tested: usize::try_from(tested).unwrap_or(0),
                reachable: usize::try_from(reachable).unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// Runs matching `filter` with their full measurements, oldest first.
    /// With `kind`, only that kind's measurements, and runs without any are
    /// left out. A stored measurement that no longer parses is an error
    /// naming its row, never silently dropped.
    pub fn load_runs(
        &self,
        filter: &RunFilter,
        kind: Option<EndpointKind>,
    ) -> Result<Vec<Run>, StoreError> {
        let metas = self.runs(filter)?;
        let kind_str = kind.map(EndpointKind::as_str);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, json FROM measurements
                 WHERE run_id = ?1 AND (?2 IS NULL OR kind = ?2)
                 ORDER BY endpoint_index, id",
            )
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(metas.len());
        for meta in metas {
            let Some(run_id) = meta.id else { continue };
            let rows = stmt
                .query_map(params![run_id, kind_str], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(|e| self.err(e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.err(e))?;
            let mut measurements = Vec::with_capacity(rows.len());
            for (id, json) in rows {
                let m =
                    serde_json::from_str::<Measurement>(&json).map_err(|e| StoreError::BadRow {
                        path: self.path.clone(),
                        table: "measurements",
                        id,
                        message: e.to_string(),
                    })?;
                measurements.push(m);
            }
            if kind.is_some() && measurements.is_empty() {
                continue;
            }
            out.push(Run { meta, measurements });
        }
        Ok(out)
    }

    /// Per endpoint (kind, then label), its results in the matching runs,
    /// oldest first.
    pub fn endpoint_history(
        &self,
        filter: &RunFilter,
        kind: Option<EndpointKind>,
    ) -> Result<Vec<EndpointHistoryRow>, StoreError> {
        self.check_filter(filter)?;
        let sql = format!(
            "SELECT m.id, m.run_id, m.kind, m.label, m.start_time, m.verdict, m.diagnosis,
                    m.latency_ms
             FROM measurements m JOIN runs r ON r.id = m.run_id
             WHERE {RUN_WHERE} AND (?3 IS NULL OR m.kind = ?3)
             ORDER BY m.kind, m.label,
                      coalesce(unixepoch(m.start_time, 'subsec'), 0), m.run_id, m.id"
        );
        let kind_str = kind.map(EndpointKind::as_str);
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let raw = stmt
            .query_map(params![filter.since, filter.run, kind_str], |row| {
                Ok(RawPoint {
                    id: row.get(0)?,
                    run_id: row.get(1)?,
                    kind: row.get(2)?,
                    label: row.get(3)?,
                    start_time: row.get(4)?,
                    verdict: row.get(5)?,
                    diagnosis: row.get(6)?,
                    latency_ms: row.get(7)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let mut out: Vec<EndpointHistoryRow> = Vec::new();
        for p in raw {
            let bad = |message: String| StoreError::BadRow {
                path: self.path.clone(),
                table: "measurements",
                id: p.id,
                message,
            };
            let kind: EndpointKind = from_code(&p.kind).map_err(bad)?;
            let point = HistoryPoint {
                run_id: p.run_id,
                start_time: p.start_time,
                verdict: from_code(&p.verdict).map_err(bad)?,
                diagnosis: from_code(&p.diagnosis).map_err(bad)?,
                latency_ms: p.latency_ms,
            };
            match out.last_mut() {
                Some(row) if row.kind == kind && row.label == p.label => row.results.push(point),
                _ => out.push(EndpointHistoryRow {
                    kind,
                    label: p.label,
                    results: vec![point],
                }),
            }
        }
        Ok(out)
    }

    /// Runs SQLite's full integrity check; `Ok` when it reports "ok".
    pub fn check_integrity(&self) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| self.err(e))?;
        let lines = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        if lines.len() == 1 && lines[0] == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                message: lines.join("; "),
            })
        }
    }

    fn check_filter(&self, filter: &RunFilter) -> Result<(), StoreError> {
        let Some(since) = &filter.since else {
            return Ok(());
        };
        let parsed: Option<f64> = self
            .conn
            .query_row("SELECT unixepoch(?1, 'subsec')", [since], |row| row.get(0))
            .map_err(|e| self.err(e))?;
        match parsed {
            Some(_) => Ok(()),
            None => Err(StoreError::BadTime(since.clone())),
        }
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }
}

/// SQLite treats some short non-database files as empty databases and would
/// overwrite them, so look at the magic string ourselves. An empty file is
/// fine: it is what a new database looks like before its first checkpoint.
fn check_header(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let mut head = Vec::with_capacity(MAGIC.len());
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAGIC.len() as u64).read_to_end(&mut head));
    if let Err(source) = read {
        return Err(StoreError::Read {
            path: path.to_path_buf(),
            source,
        });
    }
    if head.is_empty() || head == MAGIC {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        path: path.to_path_buf(),
        message: "the file is not an SQLite database".to_string(),
    })
}

/// Turns SQLite's "not a database" and "malformed" codes into `Corrupt`,
/// whichever statement first noticed them.
fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        let message = match f.code {
            ErrorCode::NotADatabase => Some("the file is not an SQLite database"),
            ErrorCode::DatabaseCorrupt => Some("the database file is damaged (malformed)"),
            _ => None,
        };
        if let Some(message) = message {
            return StoreError::Corrupt {
                path: path.to_path_buf(),
                message: message.to_string(),
            };
        }
    }
    StoreError::Sqlite {
        path: path.to_path_buf(),
        source: e,
    }
}

fn run_exists(conn: &Connection, run_id: i64) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM runs WHERE id = ?1", [run_id], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

/// The serialized code of a snake_case enum (`"reachable"`, `"doh"`), so the
/// columns always match the JSON model.
fn code<T: Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::Encode(format!(
            "expected a string code, got {other}"
        ))),
        Err(e) => Err(StoreError::Encode(e.to_string())),
    }
}

fn from_code<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|e| e.to_string())
}

/// The derived columns of one measurement, computed before the transaction
/// so an encoding error never leaves a half-written batch behind.
struct MeasurementRow {
    endpoint_index: i64,
    kind: &'static str,
    origin: String,
    verdict: String,
    diagnosis: &'static str,
    failure: Option<String>,
    failed_operation: Option<&'static str>,
    json: String,
}

impl MeasurementRow {
    fn new(m: &Measurement) -> Result<MeasurementRow, StoreError> {
        Ok(MeasurementRow {
            endpoint_index: i64::try_from(m.id)
                .map_err(|_| StoreError::Encode(format!("endpoint index {} too large", m.id)))?,
            kind: m.endpoint.kind.as_str(),
            origin: code(&m.endpoint.origin)?,
            verdict: code(&m.verdict)?,
            diagnosis: m.diagnosis.as_str(),
            failure: m.failure.as_ref().map(ToString::to_string),
            failed_operation: m.failed_operation.map(|o| o.as_str()),
            json: serde_json::to_string(m).map_err(|e| StoreError::Encode(e.to_string()))?,
        })
    }
}

struct RawRun {
    id: i64,
    started_at: String,
    finished_at: Option<String>,
    software_version: String,
    label: Option<String>,
    country: Option<String>,
    asn: Option<i64>,
    as_name: Option<String>,
}

impl RawRun {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRun> {
        Ok(RawRun {
            id: row.get(0)?,
            started_at: row.get(1)?,
            finished_at: row.get(2)?,
            software_version: row.get(3)?,
            label: row.get(4)?,
            country: row.get(5)?,
            asn: row.get(6)?,
            as_name: row.get(7)?,
        })
    }

    fn into_meta(self, path: &Path) -> Result<RunMeta, StoreError> {
        let asn = self
            .asn
            .map(u32::try_from)
            .transpose()
            .map_err(|_| StoreError::BadRow {
                path: path.to_path_buf(),
                table: "runs",
                id: self.id,
                message: "asn out of range".to_string(),
            })?;
        Ok(RunMeta {
            id: Some(self.id),
            started_at: self.started_at,
            finished_at: self.finished_at,
            software_version: self.software_version,
            network: NetworkContext {
                label: self.label,
                country: self.country,
                asn,
                as_name: self.as_name,
            },
        })
    }
}

struct RawPoint {
    id: i64,
    run_id: i64,
    kind: String,
    label: String,
    start_time: String,
    verdict: String,
    diagnosis: String,
    latency_ms: Option<f64>,
}

/// Why `--since` was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--since {input:?}: {reason} (want RFC 3339 like 2024-05-01T12:00:00Z, a date like \
     2024-05-01, or an age like 24h, 7d, 2w)"
)]
pub struct SinceError {
    pub input: String,
    pub reason: String,
}

/// Turns `--since` into an RFC 3339 UTC time with milliseconds: either an
/// absolute time (`2024-05-01T12:00:00Z`, `2024-05-01T15:00:00+03:00`,
/// `2024-05-01`) or an age before `now` (`24h`, `7d`, `90m`, `2w`).
pub fn parse_since(input: &str, now: SystemTime) -> Result<String, SinceError> {
    let fail = |reason: &str| SinceError {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(fail("empty"));
    }
    let looks_like_date = s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-');
    let time = if looks_like_date {
        parse_absolute(s).ok_or_else(|| fail("not a valid date and time"))?
    } else {
        let age = humantime::parse_duration(s).map_err(|e| fail(&e.to_string()))?;
        // Ages reaching before 1970 just mean "everything".
        now.checked_sub(age)
            .filter(|t| *t >= UNIX_EPOCH)
            .unwrap_or(UNIX_EPOCH)
    };
    format_time(time).ok_or_else(|| fail("out of range"))
}

/// RFC 3339 with `Z`, a numeric offset, or a bare date (midnight UTC).
fn parse_absolute(s: &str) -> Option<SystemTime> {
    let mut s = s.to_ascii_uppercase();
    // RFC 3339 allows a space for the `T`; people type it.
    if s.as_bytes().get(10) == Some(&b' ') {
        s.replace_range(10..11, "T");
    }
    if s.len() == 10 {
        return humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).ok();
    }
    // A trailing `+HH:MM` / `-HH:MM` lies after the seconds (index 19); the
    // dashes of the date come before it.
    let (base, offset_secs) = match s.get(19..).and_then(|tail| tail.rfind(['+', '-'])) {
        Some(i) => {
            let at = 19 + i;
            let (base, off) = s.split_at(at);
            (base.to_string(), parse_offset(off)?)
        }
        None => (s.trim_end_matches('Z').to_string(), 0),
    };
    if base.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let local = humantime::parse_rfc3339(&format!("{base}Z")).ok()?;
    // Local time minus its offset is UTC.
    if offset_secs >= 0 {
        local.checked_sub(Duration::from_secs(offset_secs.unsigned_abs()))
    } else {
        local.checked_add(Duration::from_secs(offset_secs.unsigned_abs()))
    }
    .filter(|t| *t >= UNIX_EPOCH)
}

/// `+HH:MM` or `-HH:MM` to signed seconds.
fn parse_offset(off: &str) -> Option<i64> {
    let &[sign, h1, h2, b':', m1, m2] = off.as_bytes() else {
        return None;
    };
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digit = |c: u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
    let hours = digit(h1)? * 10 + digit(h2)?;
    let minutes = digit(m1)? * 10 + digit(m2)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

/// humantime's formatter fails (and `to_string` would panic) outside years
/// 1970..=9999, so format fallibly.
fn format_time(t: SystemTime) -> Option<String> {
    use std::fmt::Write;
    if t < UNIX_EPOCH {
        return None;
    }
    let mut s = String::new();
    write!(s, "{}", humantime::format_rfc3339_millis(t)).ok()?;
    Some(s)
}

#[cfg(test)]
mod tests;
