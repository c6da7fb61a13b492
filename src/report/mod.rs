//! Output formats for scan results: one record per endpoint, written the
//! moment its measurement finishes.

use std::io::Write;

use crate::measurement::Measurement;

pub mod csv;
pub mod jsonl;
pub mod table;

/// How `scan` prints results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Table,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot encode CSV: {0}")]
    Csv(#[from] ::csv::Error),
}

/// Streams records in one format.
pub enum Writer<W: Write> {
    Jsonl(jsonl::JsonlWriter<W>),
    // Boxed: the csv writer carries a large buffer.
    Csv(Box<csv::CsvWriter<W>>),
    Table(table::TableWriter<W>),
}

impl<W: Write> Writer<W> {
    pub fn new(format: Format, out: W, color: bool) -> Result<Self, ReportError> {
        Ok(match format {
            Format::Jsonl => Writer::Jsonl(jsonl::JsonlWriter::new(out)),
            Format::Csv => Writer::Csv(Box::new(csv::CsvWriter::new(out)?)),
            Format::Table => Writer::Table(table::TableWriter::new(out, color)?),
        })
    }

    pub fn record(&mut self, m: &Measurement) -> Result<(), ReportError> {
        match self {
            Writer::Jsonl(w) => w.record(m),
            Writer::Csv(w) => w.record(m),
            Writer::Table(w) => w.record(m),
        }
    }

    /// Called once after the last record (a summary for tables).
    pub fn finish(&mut self, all: &[Measurement], cancelled: bool) -> Result<(), ReportError> {
        match self {
            Writer::Jsonl(w) => w.flush(),
            Writer::Csv(w) => w.flush(),
            Writer::Table(w) => w.finish(all, cancelled),
        }
    }
}

/// A compact trace of steps, `tcp_connect ok; tls_handshake connection_reset`.
pub fn step_trace(m: &Measurement) -> String {
    m.steps
        .iter()
        .map(|s| match &s.failure {
            Some(f) => format!("{} {}", s.operation, f),
            None => format!("{} ok", s.operation),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
