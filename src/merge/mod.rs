//! Workshop merge: several participants' exports into one summary, per
//! network × method, rendered as a self-contained HTML page or Markdown.
//!
//! Only bridgescout's own JSON and JSONL exports are accepted; anything
//! else (OONI lines, CSV, raw `scan` output) is rejected with a hint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::catalog::EndpointKind;
use crate::export::{EXPORT_SCHEMA, EXPORT_SCHEMA_VERSION, ExportDocument, ExportLine};
use crate::measurement::{Diagnosis, Measurement};
use crate::run::{Run, RunMeta};

mod html;
mod markdown;

pub use html::render_html;
pub use markdown::render_markdown;

/// Largest file merge reads; exports of many runs stay far below.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no files to merge")]
    NoFiles,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: larger than {MAX_FILE_BYTES} bytes; not a bridgescout export")]
    TooLarge { path: PathBuf },
    #[error("{path}: empty file")]
    Empty { path: PathBuf },
    #[error(
        "{path}: {what}; merge reads only `bridgescout export --format json` or `--format jsonl` files"
    )]
    NotOurs { path: PathBuf, what: String },
    #[error(
        "{path}: export schema version {found} is not supported (this build reads version {EXPORT_SCHEMA_VERSION})"
    )]
    Version { path: PathBuf, found: u64 },
    #[error("{path}:{line}: invalid export: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// Where measurements were made from, as people name it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NetworkKey {
    pub country: Option<String>,
    pub asn: Option<u32>,
    pub label: Option<String>,
}

impl NetworkKey {
    fn of(meta: &RunMeta) -> NetworkKey {
        NetworkKey {
            country: meta.network.country.clone(),
            asn: meta.network.asn,
            label: meta.network.label.clone(),
        }
    }

    /// `KZ · AS9198 · hotel wifi`; `unknown network` when nothing is known.
    pub fn display(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.country {
            parts.push(c.clone());
        }
        if let Some(a) = self.asn {
            parts.push(format!("AS{a}"));
        }
        if let Some(l) = &self.label {
            parts.push(l.clone());
        }
        if parts.is_empty() {
            "unknown network".into()
        } else {
            parts.join(" · ")
        }
    }
}

/// Counts for one group of measurements.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    pub tested: usize,
    pub working: usize,
    /// Median protocol latency of the working ones.
    pub median_latency_ms: Option<f64>,
    /// Most common diagnosis among the failed ones (ties: alphabetical).
    pub typical_failure: Option<Diagnosis>,
}

impl Tally {
    fn of(ms: &[&Measurement]) -> Tally {
        let mut lat: Vec<f64> = ms
            .iter()
            .filter(|m| m.is_reachable())
            .filter_map(|m| m.latency_ms)
            .filter(|l| l.is_finite())
            .collect();
        lat.sort_by(f64::total_cmp);
        let median = match lat.len() {
            0 => None,
            n if n % 2 == 1 => Some(lat[n / 2]),
            n => Some((lat[n / 2 - 1] + lat[n / 2]) / 2.0),
        };
        let mut counts: BTreeMap<&'static str, (usize, Diagnosis)> = BTreeMap::new();
        for m in ms.iter().filter(|m| !m.is_reachable()) {
            counts
                .entry(m.diagnosis.as_str())
                .or_insert((0, m.diagnosis))
                .0 += 1;
        }
        // BTreeMap iterates alphabetically, so the first maximum wins ties.
        let typical = counts
            .values()
            .fold(None::<(usize, Diagnosis)>, |best, &(n, d)| match best {
                Some((bn, _)) if bn >= n => best,
                _ => Some((n, d)),
            })
            .map(|(_, d)| d);
        Tally {
            tested: ms.len(),
            working: ms.iter().filter(|m| m.is_reachable()).count(),
            median_latency_ms: median,
            typical_failure: typical,
        }
    }

    /// Share of working endpoints, 0–100; `None` when nothing was tested.
    pub fn percent_working(&self) -> Option<f64> {
        (self.tested > 0).then(|| 100.0 * self.working as f64 / self.tested as f64)
    }
}

/// One network × method row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub network: NetworkKey,
    /// AS name of the network, when some run knew it.
    pub as_name: Option<String>,
    pub kind: EndpointKind,
    /// Runs that contributed to this row.
    pub runs: usize,
    #[serde(flatten)]
    pub tally: Tally,
}

/// Everything a workshop report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergedReport {
    pub files: usize,
    pub runs: usize,
    /// Runs found twice (the same file given twice) and counted once.
    pub duplicate_runs: usize,
    pub networks: usize,
    /// Sorted by network, then method.
    pub rows: Vec<Row>,
    /// Per method, over every network.
    pub by_method: Vec<(EndpointKind, Tally)>,
    pub total: Tally,
}

/// Reads and merges exports.
pub fn merge(files: &[PathBuf]) -> Result<MergedReport, MergeError> {
    if files.is_empty() {
        return Err(MergeError::NoFiles);
    }
    let mut runs: Vec<Run> = Vec::new();
    let mut duplicate_runs = 0;
    for path in files {
        for run in read_export(path)? {
            if runs.contains(&run) {
                duplicate_runs += 1;
            } else {
                runs.push(run);
            }
        }
    }
    Ok(summarize(&runs, files.len(), duplicate_runs))
}

/// Builds the report from runs already in memory.
pub fn summarize(runs: &[Run], files: usize, duplicate_runs: usize) -> MergedReport {
    type Group<'a> = (Vec<&'a Measurement>, usize, Option<String>);
    let mut groups: BTreeMap<(NetworkKey, EndpointKind), Group<'_>> = BTreeMap::new();
    let mut by_kind: BTreeMap<EndpointKind, Vec<&Measurement>> = BTreeMap::new();
    let mut all: Vec<&Measurement> = Vec::new();
    for run in runs {
        let key = NetworkKey::of(&run.meta);
        let mut kinds_in_run: Vec<EndpointKind> = Vec::new();
        for m in &run.measurements {
            let g = groups
                .entry((key.clone(), m.endpoint.kind))
                .or_insert_with(|| (Vec::new(), 0, None));
            g.0.push(m);
            if g.2.is_none() {
                g.2 = run.meta.network.as_name.clone();
            }
            if !kinds_in_run.contains(&m.endpoint.kind) {
                kinds_in_run.push(m.endpoint.kind);
                g.1 += 1;
            }
            by_kind.entry(m.endpoint.kind).or_default().push(m);
            all.push(m);
        }
    }
    let networks = {
        let mut keys: Vec<&NetworkKey> = groups.keys().map(|(n, _)| n).collect();
        keys.dedup();
        keys.len()
    };
    MergedReport {
        files,
        runs: runs.len(),
        duplicate_runs,
        networks,
        rows: groups
            .into_iter()
            .map(|((network, kind), (ms, runs, as_name))| Row {
                network,
                as_name,
                kind,
                runs,
                tally: Tally::of(&ms),
            })
            .collect(),
        by_method: by_kind
            .into_iter()
            .map(|(k, ms)| (k, Tally::of(&ms)))
            .collect(),
        total: Tally::of(&all),
    }
}

/// What a JSON object that is not one of ours looks like, for the error.
fn describe_foreign(v: &Value) -> String {
    let has = |k: &str| v.get(k).is_some();
    if has("test_keys") || has("data_format_version") {
        "an OONI-format export (cannot be merged)".into()
    } else if has("verdict") && has("steps") {
        "raw `scan` output without run metadata".into()
    } else if let Some(s) = v.get("schema").and_then(Value::as_str) {
        format!("unknown schema {s:?}")
    } else {
        "not a bridgescout export".into()
    }
}

fn check_header(path: &Path, v: &Value) -> Result<(), MergeError> {
    if v.get("schema").and_then(Value::as_str) != Some(EXPORT_SCHEMA) {
        return Err(MergeError::NotOurs {
            path: path.to_path_buf(),
            what: describe_foreign(v),
        });
    }
    match v.get("schema_version").and_then(Value::as_u64) {
        Some(n) if n == u64::from(EXPORT_SCHEMA_VERSION) => Ok(()),
        Some(n) => Err(MergeError::Version {
            path: path.to_path_buf(),
            found: n,
        }),
        None => Err(MergeError::Invalid {
            path: path.to_path_buf(),
            line: 1,
            message: "missing schema_version".into(),
        }),
    }
}

/// Reads one export file (JSON document or JSON Lines) into runs.
pub fn read_export(path: &Path) -> Result<Vec<Run>, MergeError> {
    let read_err = |source| MergeError::Read {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_err)?.len();
    if len > MAX_FILE_BYTES {
        return Err(MergeError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    let text = String::from_utf8_lossy(&bytes);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(MergeError::Empty {
            path: path.to_path_buf(),
        });
    }
    if !trimmed.starts_with('{') {
        let what = if trimmed.lines().next().is_some_and(|l| l.contains(',')) {
            "a CSV file (cannot be merged)"
        } else {
            "not JSON"
        };
        return Err(MergeError::NotOurs {
            path: path.to_path_buf(),
            what: what.into(),
        });
    }
    // One document, or else JSON Lines.
    if let Ok(v) = serde_json::from_str::<Value>(trimmed)
        && v.get("measurement").is_none()
    {
        check_header(path, &v)?;
        let doc: ExportDocument = serde_json::from_value(v).map_err(|e| MergeError::Invalid {
            path: path.to_path_buf(),
            line: 1,
            message: e.to_string(),
        })?;
        return Ok(doc
            .runs
            .into_iter()
            .map(|r| Run {
                meta: r.meta,
                measurements: r.measurements,
            })
            .collect());
    }
    let mut runs: Vec<Run> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let invalid = |message: String| MergeError::Invalid {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let v: Value = serde_json::from_str(line).map_err(|e| invalid(e.to_string()))?;
        check_header(path, &v).map_err(|e| match e {
            MergeError::Invalid { message, .. } => invalid(message),
            other => other,
        })?;
        let l: ExportLine = serde_json::from_value(v).map_err(|e| invalid(e.to_string()))?;
        // Lines of one run carry identical metadata; group them back.
        match runs.iter_mut().find(|r| r.meta == l.run) {
            Some(r) => r.measurements.push(l.measurement),
            None => runs.push(Run {
                meta: l.run,
                measurements: vec![l.measurement],
            }),
        }
    }
    Ok(runs)
}

/// `123 ms`, or an em dash.
pub(crate) fn fmt_latency(ms: Option<f64>) -> String {
    match ms {
        Some(v) => format!("{v:.0} ms"),
        None => "—".into(),
    }
}

/// `3 / 5 (60 %)`.
pub(crate) fn fmt_working(t: &Tally) -> String {
    match t.percent_working() {
        Some(p) => format!("{} / {} ({p:.0} %)", t.working, t.tested),
        None => "0 / 0".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Origin;
    use crate::measurement::{EndpointInfo, Verdict};

    fn m(kind: EndpointKind, ok: bool, lat: f64, d: Diagnosis) -> Measurement {
        Measurement {
            schema_version: 1,
            id: 0,
            endpoint: EndpointInfo {
                kind,
                label: "x".into(),
                address: "x".into(),
                origin: Origin::Builtin,
            },
            start_time: "2024-01-01T00:00:00Z".into(),
            runtime: 0.1,
            steps: vec![],
            verdict: if ok {
                Verdict::Reachable
            } else {
                Verdict::Failed
            },
            diagnosis: d,
            failure: None,
            failed_operation: None,
            latency_ms: ok.then_some(lat),
            notes: vec![],
            data_test: None,
            clock_skew_s: None,
            bootstrap: None,
        }
    }

    #[test]
    fn tally_median_and_typical_failure() {
        let ms = [
            m(EndpointKind::Doh, true, 10.0, Diagnosis::Ok),
            m(EndpointKind::Doh, true, 30.0, Diagnosis::Ok),
            m(EndpointKind::Doh, false, 0.0, Diagnosis::Timeout),
            m(EndpointKind::Doh, false, 0.0, Diagnosis::SniFiltered),
            m(EndpointKind::Doh, false, 0.0, Diagnosis::Timeout),
        ];
        let refs: Vec<&Measurement> = ms.iter().collect();
        let t = Tally::of(&refs);
        assert_eq!((t.tested, t.working), (5, 2));
        assert_eq!(t.median_latency_ms, Some(20.0));
        assert_eq!(t.typical_failure, Some(Diagnosis::Timeout));
        // Ties go to the alphabetically first code.
        let tie: Vec<&Measurement> = refs[2..4].to_vec();
        assert_eq!(
            Tally::of(&tie).typical_failure,
            Some(Diagnosis::SniFiltered)
        );
        assert_eq!(Tally::of(&[]).percent_working(), None);
    }
}
