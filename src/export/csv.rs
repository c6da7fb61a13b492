//! CSV export: one row per endpoint measurement.
//!
//! Columns (stable; changing them is a schema change):
//!
//! | column | content |
//! |---|---|
//! | `run_id` | store id of the run, empty if unknown |
//! | `network_label` | the user's name for the network |
//! | `country` | ISO 3166-1 alpha-2 code, empty if unknown |
//! | `asn` | AS number without `AS`, empty if unknown |
//! | `kind` | `doh`, `dot`, ... |
//! | `label` | endpoint name (a pseudonym for redacted endpoints) |
//! | `address` | endpoint address (a pseudonym for redacted endpoints) |
//! | `origin` | `builtin` or `user` |
//! | `start_time` | RFC 3339 UTC, rounded |
//! | `verdict` | `reachable` or `failed` |
//! | `diagnosis` | diagnosis code |
//! | `failure` | OONI failure string, empty on success |
//! | `failed_operation` | operation that failed, empty on success |
//! | `latency_ms` | protocol round trip, empty on failure |
//! | `steps` | `operation outcome` pairs joined by `; ` |

use std::io::Write;

use serde::Serialize;

use crate::report::step_trace;
use crate::run::Run;

pub const COLUMNS: [&str; 15] = [
    "run_id",
    "network_label",
    "country",
    "asn",
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

/// The serialized name of a unit enum variant (`"user"`, `"reachable"`).
fn serde_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub fn write(runs: &[Run], out: &mut impl Write) -> Result<(), ::csv::Error> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for run in runs {
        let net = &run.meta.network;
        for m in &run.measurements {
            let row: [String; 15] = [
                run.meta.id.map(|i| i.to_string()).unwrap_or_default(),
                net.label.clone().unwrap_or_default(),
                net.country.clone().unwrap_or_default(),
                net.asn.map(|a| a.to_string()).unwrap_or_default(),
                m.endpoint.kind.to_string(),
                m.endpoint.label.clone(),
                m.endpoint.address.clone(),
                serde_name(&m.endpoint.origin),
                m.start_time.clone(),
                serde_name(&m.verdict),
                m.diagnosis.to_string(),
                m.failure
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                m.failed_operation
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
                // Shortest text that parses back to the same number.
                m.latency_ms.map(|l| l.to_string()).unwrap_or_default(),
                step_trace(m),
            ];
            w.write_record(&row)?;
        }
    }
    w.flush()?;
    Ok(())
}
