//! `bridgescout merge`

use anyhow::Context;
use bridgescout::merge::{merge, render_html, render_markdown};

use crate::cli::MergeArgs;

pub fn run(args: &MergeArgs) -> anyhow::Result<u8> {
    let ext = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let render: fn(&bridgescout::merge::MergedReport) -> String = match ext.as_deref() {
        Some("html") | Some("htm") => render_html,
        Some("md") | Some("markdown") => render_markdown,
        _ => {
            eprintln!("error: the report must end in .html or .md");
            return Ok(crate::EXIT_USAGE);
        }
    };
    let report = merge(&args.files)?;
    std::fs::write(&args.output, render(&report))
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!(
        "merged {} files into {}",
        args.files.len(),
        args.output.display()
    );
    Ok(crate::EXIT_OK)
}
