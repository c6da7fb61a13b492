//! CSV: one row per endpoint measurement, stable column names.

use std::io::Write;

use super::{ReportError, step_trace};
use crate::measurement::Measurement;

/// Column names; changing them is a schema change.
pub const COLUMNS: [&str; 13] = [
    "schema_version",
    "id",
    "kind",
    "label",
    "address",
    "origin",
    "start_time",
    "verdict",
    "diagnosis",
    "failure",
    "failed_operation",
    "latency_ms",
    "steps",
];

pub struct CsvWriter<W: Write> {
    out: ::csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(out: W) -> Result<Self, ReportError> {
        let mut out = ::csv::Writer::from_writer(out);
        out.write_record(COLUMNS)?;
        out.flush()?;
        Ok(CsvWriter { out })
    }

    pub fn record(&mut self, m: &Measurement) -> Result<(), ReportError> {
        let row = [
            m.schema_version.to_string(),
            m.id.to_string(),
            m.endpoint.kind.to_string(),
            m.endpoint.label.clone(),
            m.endpoint.address.clone(),
            format!("{:?}", m.endpoint.origin).to_lowercase(),
            m.start_time.clone(),
            format!("{:?}", m.verdict).to_lowercase(),
            m.diagnosis.to_string(),
            m.failure
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            m.failed_operation
                .map(|o| o.to_string())
                .unwrap_or_default(),
            m.latency_ms.map(|l| format!("{l:.1}")).unwrap_or_default(),
            step_trace(m),
        ];
        self.out.write_record(&row)?;
        self.out.flush()?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), ReportError> {
        self.out.flush()?;
        Ok(())
    }
}
