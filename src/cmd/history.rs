//! `bridgescout history`

use bridgescout::store::{HistoryFormat, render_history};

use crate::cli::{HistoryArgs, HistoryFormatArg, ProbeArgs};

pub fn run(args: &HistoryArgs, probe: &ProbeArgs) -> anyhow::Result<u8> {
    let store = super::open_existing(probe)?;
    let filter = super::filter(args.since.as_deref(), None)?;
    let kind = super::kind(args.kind.as_deref())?;
    let format = match args.format {
        HistoryFormatArg::Table => HistoryFormat::Table,
        HistoryFormatArg::Json => HistoryFormat::Json,
        HistoryFormatArg::Csv => HistoryFormat::Csv,
    };
    let runs = store.run_summaries(&filter, kind)?;
    let rows = store.endpoint_history(&filter, kind)?;
    render_history(&runs, &rows, format, &mut std::io::stdout().lock())?;
    Ok(crate::EXIT_OK)
}
