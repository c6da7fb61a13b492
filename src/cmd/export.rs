//! `bridgescout export`

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use bridgescout::export::{ExportFormat, ExportOptions, export};

use crate::cli::{ExportArgs, ExportFormatArg, ProbeArgs};

pub fn run(args: &ExportArgs, probe: &ProbeArgs) -> anyhow::Result<u8> {
    let store = super::open_existing(probe)?;
    let filter = super::filter(args.since.as_deref(), args.run)?;
    let kind = super::kind(args.kind.as_deref())?;
    let runs = store.load_runs(&filter, kind)?;
    if runs.is_empty() {
        eprintln!("error: no stored runs match");
        return Ok(crate::EXIT_USAGE);
    }
    let format = match args.format {
        ExportFormatArg::Json => ExportFormat::Json,
        ExportFormatArg::Jsonl => ExportFormat::Jsonl,
        ExportFormatArg::Csv => ExportFormat::Csv,
        ExportFormatArg::Ooni => ExportFormat::Ooni,
    };
    let opts = ExportOptions {
        include_endpoints: args.include_endpoints,
        round_to: Duration::from_secs(60 * args.round),
        ..ExportOptions::default()
    };
    // Written to memory first so a failed export never leaves half a file.
    let mut buf = Vec::new();
    let summary = export(&runs, format, &opts, &mut buf)?;
    if args.output.as_os_str() == "-" {
        std::io::stdout().lock().write_all(&buf)?;
    } else {
        std::fs::write(&args.output, &buf)
            .with_context(|| format!("cannot write {}", args.output.display()))?;
    }
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "exported {} measurements from {} runs as {} ({} user endpoints redacted)",
        summary.measurements,
        summary.runs,
        format.as_str(),
        summary.redacted_endpoints
    );
    Ok(crate::EXIT_OK)
}
