//! Records a scan into the history database as results arrive: the engine's
//! event stream passes through here on its way to the UI or the printer.

use std::time::{Duration, Instant, SystemTime};

use bridgescout::engine::{Event, Scan};
use bridgescout::measurement::Measurement;
use bridgescout::run::RunMeta;
use bridgescout::store::Store;
use tokio::sync::mpsc;

/// Batches are written at this size or age, whichever comes first: one
/// transaction per batch keeps a crash from losing more than a moment.
const BATCH: usize = 16;
const BATCH_AGE: Duration = Duration::from_secs(1);

struct Sink {
    store: Store,
    run_id: i64,
    pending: Vec<Measurement>,
    since_flush: Instant,
    failed: bool,
    finished: bool,
}

impl Sink {
    fn flush(&mut self) {
        if self.pending.is_empty() || self.failed {
            return;
        }
        if let Err(e) = self.store.record(self.run_id, &self.pending) {
            // History is a by-product: warn once, keep scanning.
            eprintln!("warning: history not recorded: {e}");
            self.failed = true;
        }
        self.pending.clear();
        self.since_flush = Instant::now();
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.flush();
        if !self.failed {
            let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
            if let Err(e) = self.store.finish_run(self.run_id, &now) {
                eprintln!("warning: history not finished: {e}");
            }
        }
    }
}

/// Opens the store and starts a run; `None` (with a warning) when the
/// database cannot be used, so the scan still goes on.
pub fn open(path: &std::path::Path, meta: &RunMeta) -> Option<(Store, i64)> {
    let mut store = match Store::open(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warning: history disabled: {e}");
            return None;
        }
    };
    match store.begin_run(meta) {
        Ok(id) => Some((store, id)),
        Err(e) => {
            eprintln!("warning: history disabled: {e}");
            None
        }
    }
}

/// Puts a recorder between the engine and whoever reads `scan.events`.
pub fn tee(mut scan: Scan, store: Store, run_id: i64) -> Scan {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut source = std::mem::replace(&mut scan.events, rx);
    let mut sink = Sink {
        store,
        run_id,
        pending: Vec::new(),
        since_flush: Instant::now(),
        failed: false,
        finished: false,
    };
    // SQLite calls are short and local; a blocking thread keeps them off
    // the async workers.
    tokio::task::spawn_blocking(move || {
        while let Some(ev) = source.blocking_recv() {
            match &ev {
                Event::Finished(m) => {
                    sink.pending.push((**m).clone());
                    if sink.pending.len() >= BATCH || sink.since_flush.elapsed() >= BATCH_AGE {
                        sink.flush();
                    }
                }
                Event::Done { .. } => sink.finish(),
                _ => {}
            }
            if tx.send(ev).is_err() {
                // The reader is gone (UI quit): still keep what finished.
                sink.finish();
                return;
            }
        }
        sink.finish();
    });
    scan
}
