//! Command-line definition (binary only).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Which way out of censorship works from this network, right now.
///
/// Without a command, opens the terminal UI on the bundled lists.
#[derive(Debug, Parser)]
#[command(name = "bridgescout", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub probe: ProbeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test endpoints headless and print one result per endpoint as it finishes.
    Scan(ScanArgs),
    /// Open the terminal UI (the default).
    Tui(TuiArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files, directories or literal lines (DoH URL, tls://host, sdns://
    /// stamp). Without any, the bundled lists.
    pub inputs: Vec<String>,
    /// Output format; `table` on a terminal, `jsonl` otherwise.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Files, directories or literal lines; without any, the bundled lists.
    pub inputs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Jsonl,
    Csv,
    Table,
}

/// Settings shared by every mode.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Seconds any single network step may take.
    #[arg(long, global = true, default_value_t = 5.0, value_parser = parse_timeout)]
    pub timeout: f64,
    /// Most endpoints probed at once.
    #[arg(long, global = true, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub concurrency: u16,
    /// Extra trust anchors (PEM), for private resolvers and tests.
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// A name that exists; resolvers must answer it.
    #[arg(long, global = true, default_value = "example.com")]
    pub probe_name: String,
    /// Harmless server name for the handshake that detects SNI filtering.
    #[arg(long, global = true, default_value = "example.org")]
    pub control_sni: String,
    /// Do not ask this system's resolver for endpoint host names; use
    /// bootstrap addresses only.
    #[arg(long, global = true)]
    pub no_system_dns: bool,
    /// Plain-DNS resolver (UDP 53) also asked for each resolver's host name,
    /// like a DNS stamp's bootstrap IPs. Repeatable.
    #[arg(long, global = true, value_name = "IP")]
    pub bootstrap_resolver: Vec<std::net::IpAddr>,
    /// No colours (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s}"))?;
    if !(0.05..=300.0).contains(&v) {
        return Err("timeout must be between 0.05 and 300 seconds".into());
    }
    Ok(v)
}
