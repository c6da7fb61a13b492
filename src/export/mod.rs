//! Anonymized exports of runs, for researchers and workshop trainers.
//!
//! Four formats share one pipeline: every run is first redacted (see
//! [`redact`]), then serialized, then the serialized bytes get a last scrub
//! of this machine's own addresses. Doing the scrub on the bytes, after
//! serialization, means no field or format can forget it.

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::catalog::Origin;
use crate::measurement::Measurement;
use crate::run::{Run, RunMeta};

pub mod csv;
mod local;
pub mod ooni;
pub mod redact;

pub use local::local_addresses;
pub use redact::Redactor;

/// Value of the `schema` field of JSON documents and JSONL lines.
pub const EXPORT_SCHEMA: &str = "bridgescout-export";
/// Bumped when a field of the export changes meaning or disappears.
pub const EXPORT_SCHEMA_VERSION: u32 = 1;
/// The JSON Schema (draft 2020-12) of [`ExportFormat::Json`] documents;
/// its `$defs/line` describes one [`ExportFormat::Jsonl`] line.
pub const JSON_SCHEMA: &str = include_str!("../../schema/export-v1.schema.json");
/// Default time resolution: start times are rounded down to the minute.
pub const DEFAULT_ROUND_TO: Duration = Duration::from_secs(60);

/// The warning [`ExportSummary::warnings`] carries when endpoints are kept.
pub const INCLUDE_ENDPOINTS_WARNING: &str = "endpoint addresses are NOT redacted: this file names every private \
     endpoint you tested (addresses, host names, URLs); share it only with people you trust";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// One JSON document (see [`JSON_SCHEMA`]).
    Json,
    /// One measurement per line, with its run's metadata inlined.
    Jsonl,
    /// One row per endpoint measurement; columns in [`csv::COLUMNS`].
    Csv,
    /// OONI measurements (df-000-base), one per line.
    Ooni,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
            ExportFormat::Ooni => "ooni",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Keep user-supplied endpoints' addresses and names. The scrub of this
    /// machine's addresses stays on regardless.
    pub include_endpoints: bool,
    /// Start times are rounded down to a multiple of this; zero keeps them.
    /// Durations (step times, runtimes, latencies) are kept as measured.
    pub round_to: Duration,
    /// Key of the redaction hashes. `None`: a fresh random key per export,
    /// so hashes cannot be linked across exports.
    pub salt: Option<[u8; 32]>,
    /// This machine's addresses; removed from the whole output. Loopback
    /// and unspecified addresses are ignored (they identify nobody, and
    /// OONI's withheld `probe_ip` is `127.0.0.1`).
    pub local_addresses: Vec<IpAddr>,
}

impl Default for ExportOptions {
    /// Privacy on: redacted endpoints, minute resolution, a random salt and
    /// this machine's interface addresses.
    fn default() -> Self {
        ExportOptions {
            include_endpoints: false,
            round_to: DEFAULT_ROUND_TO,
            salt: None,
            local_addresses: local_addresses(),
        }
    }
}

/// What an export wrote, for the command line to report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub runs: usize,
    pub measurements: usize,
    /// Measurements of user-supplied endpoints whose details were hashed.
    pub redacted_endpoints: usize,
    /// Occurrences of this machine's addresses removed from the output.
    pub local_addresses_scrubbed: usize,
    /// Things the user must be told (print them on stderr).
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write export: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot encode CSV: {0}")]
    Csv(#[from] ::csv::Error),
}

/// Name and version of the program that wrote an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Software {
    pub name: String,
    pub version: String,
}

impl Software {
    pub fn this() -> Software {
        Software {
            name: "bridgescout".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// A run as exported: its metadata with the measurements beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedRun {
    #[serde(flatten)]
    pub meta: RunMeta,
    pub measurements: Vec<Measurement>,
}

/// The [`ExportFormat::Json`] document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportDocument {
    /// Always [`EXPORT_SCHEMA`].
    pub schema: String,
    pub schema_version: u32,
    pub software: Software,
    pub exported_at: String,
    /// True when user-supplied endpoints were replaced by hashes.
    pub redacted: bool,
    /// Resolution of start times, in seconds (0: not rounded).
    pub round_to_seconds: u64,
    pub runs: Vec<ExportedRun>,
}

/// One [`ExportFormat::Jsonl`] line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportLine {
    pub schema: String,
    pub schema_version: u32,
    pub redacted: bool,
    pub run: RunMeta,
    pub measurement: Measurement,
}

/// Exports `runs` in `format` to `out`, redacted according to `opts`.
///
/// Nothing is written when an error happens before the output is complete
/// (the export is built in memory, then written at once).
pub fn export(
    runs: &[Run],
    format: ExportFormat,
    opts: &ExportOptions,
    out: &mut impl Write,
) -> Result<ExportSummary, ExportError> {
    let salt = opts.salt.unwrap_or_else(rand::random);
    let redactor = Redactor::new(salt, !opts.include_endpoints, opts.round_to);
    let redacted: Vec<Run> = runs.iter().map(|r| redactor.run(r)).collect();
    let exported_at =
        redactor.round_time(&humantime::format_rfc3339_millis(SystemTime::now()).to_string());

    let mut buf: Vec<u8> = Vec::new();
    match format {
        ExportFormat::Json => {
            let doc = ExportDocument {
                schema: EXPORT_SCHEMA.into(),
                schema_version: EXPORT_SCHEMA_VERSION,
                software: Software::this(),
                exported_at,
                redacted: !opts.include_endpoints,
                round_to_seconds: opts.round_to.as_secs(),
                runs: redacted
                    .iter()
                    .map(|r| ExportedRun {
                        meta: r.meta.clone(),
                        measurements: r.measurements.clone(),
                    })
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut buf, &doc)?;
            buf.push(b'\n');
        }
        ExportFormat::Jsonl => {
            for run in &redacted {
                for m in &run.measurements {
                    let line = ExportLine {
                        schema: EXPORT_SCHEMA.into(),
                        schema_version: EXPORT_SCHEMA_VERSION,
                        redacted: !opts.include_endpoints,
                        run: run.meta.clone(),
                        measurement: m.clone(),
                    };
                    serde_json::to_writer(&mut buf, &line)?;
                    buf.push(b'\n');
                }
            }
        }
        ExportFormat::Csv => csv::write(&redacted, &mut buf)?,
        ExportFormat::Ooni => ooni::write(&redacted, &redactor, &mut buf)?,
    }

    let text = match String::from_utf8(buf) {
        Ok(t) => t,
        // Serializers only emit UTF-8; lossy conversion is a safety net.
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    let (text, scrubbed) = redact::scrub_local_addresses(&text, &opts.local_addresses);
    out.write_all(text.as_bytes())?;
    out.flush()?;

    let mut warnings = Vec::new();
    if opts.include_endpoints {
        warnings.push(INCLUDE_ENDPOINTS_WARNING.to_string());
    }
    let measurements = runs.iter().map(|r| r.measurements.len()).sum();
    let redacted_endpoints = if opts.include_endpoints {
        0
    } else {
        runs.iter()
            .flat_map(|r| &r.measurements)
            .filter(|m| m.endpoint.origin == Origin::User)
            .count()
    };
    Ok(ExportSummary {
        runs: runs.len(),
        measurements,
        redacted_endpoints,
        local_addresses_scrubbed: scrubbed,
        warnings,
    })
}
