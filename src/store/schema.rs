//! Schema versions and forward migrations of the history database.
//!
//! `PRAGMA user_version` holds the version. Migration `n` (index `n - 1` in
//! [`MIGRATIONS`]) takes a database from version `n - 1` to `n`. Adding v2 is
//! one more function appended to the list; old databases then upgrade in
//! place, one step per transaction.

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// One forward step. Runs inside a transaction that also bumps the version,
/// so a crash mid-migration leaves the database at the previous version.
type Migration = fn(&Transaction<'_>) -> rusqlite::Result<()>;

const MIGRATIONS: &[Migration] = &[v1_initial];

/// The newest schema this build can read and write.
pub const SUPPORTED_VERSION: u32 = MIGRATIONS.len() as u32;

fn v1_initial(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE runs (
             id               INTEGER PRIMARY KEY,
             started_at       TEXT NOT NULL,
             finished_at      TEXT,
             software_version TEXT NOT NULL,
             network_label    TEXT,
             country          TEXT,
             asn              INTEGER,
             as_name          TEXT
         );
         CREATE TABLE measurements (
             id               INTEGER PRIMARY KEY,
             run_id           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
             endpoint_index   INTEGER NOT NULL,
             kind             TEXT NOT NULL,
             label            TEXT NOT NULL,
             address          TEXT NOT NULL,
             origin           TEXT NOT NULL,
             start_time       TEXT NOT NULL,
             verdict          TEXT NOT NULL,
             diagnosis        TEXT NOT NULL,
             failure          TEXT,
             failed_operation TEXT,
             latency_ms       REAL,
             json             TEXT NOT NULL
         );
         CREATE INDEX measurements_run ON measurements(run_id);
         CREATE INDEX measurements_kind_time ON measurements(kind, start_time);
         CREATE INDEX runs_started ON runs(started_at);",
    )
}

pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
        // A negative or huge value was not written by us; treat it as newer
        // than anything we know so the file is left alone.
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// Brings the database up to [`SUPPORTED_VERSION`]. Each step re-reads the
/// version under the write lock, so two processes opening the same fresh
/// file do not both run a migration.
///
/// Returns the version found under the lock if it is newer than supported
/// (another build upgraded it meanwhile); the caller reports that.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<Result<(), u32>> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version = user_version(&tx)?;
        if version > SUPPORTED_VERSION {
            return Ok(Err(version));
        }
        let Some(step) = MIGRATIONS.get(version as usize) else {
            return Ok(Ok(()));
        };
        step(&tx)?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", version + 1))?;
        tx.commit()?;
    }
}

/// Whether a version-0 database holds anything at all: a file with tables
/// but no version is someone else's, and we must not write into it.
pub(crate) fn has_user_tables(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
        [],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}
