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
    /// Config file (TOML; keys are the long option names). Default:
    /// $XDG_CONFIG_HOME/bridgescout/config.toml, if it exists.
    #[arg(long, global = true, env = "BRIDGESCOUT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print a config file template (every key, commented, with its
    /// default) and exit.
    #[arg(long)]
    pub print_config_template: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test endpoints headless and print one result per endpoint as it finishes.
    Scan(ScanArgs),
    /// Open the terminal UI (the default).
    Tui(TuiArgs),
    /// List past runs and each endpoint's results over time.
    History(HistoryArgs),
    /// Write stored results to a file, anonymized by default.
    Export(ExportArgs),
    /// Combine exports from many participants into one report (HTML or Markdown).
    Merge(MergeArgs),
    /// Scan again and again; report when each method stops and starts working.
    Watch(WatchArgs),
    /// Print the effective settings and where each came from (cli, env,
    /// config file, default), one per line: key, value, source (tab-separated).
    Config,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Files, directories or literal lines; without any, the bundled lists.
    pub inputs: Vec<String>,
    /// Seconds from the start of one round to the start of the next.
    #[arg(long, value_name = "SECS", default_value_t = 300.0, value_parser = parse_interval)]
    pub interval: f64,
    /// Each wait is moved by a random amount within ±SECS (default: 10 %
    /// of the interval), so rounds do not form a fixed pattern.
    #[arg(long, value_name = "SECS", value_parser = parse_interval)]
    pub jitter: Option<f64>,
    /// Only endpoints of these kinds (doh, obfs4, wireguard, ...; comma
    /// separated or repeated). With `ikev2`, bare host names in the inputs
    /// are IKEv2 servers.
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Stop after this many rounds (default: until Ctrl-C).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: Option<u64>,
    /// `jsonl` (one JSON object per round and per event) or `table` (one
    /// line each). Default: the timeline UI on a terminal, else `jsonl`.
    #[arg(long, value_enum)]
    pub format: Option<WatchFormatArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WatchFormatArg {
    Jsonl,
    Table,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s}"))?;
    if !(0.0..=7.0 * 86_400.0).contains(&v) {
        return Err("must be between 0 and 604800 seconds (a week)".into());
    }
    Ok(v)
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only runs since this time: RFC 3339, a date, or an age like 24h, 7d.
    #[arg(long)]
    pub since: Option<String>,
    /// Only this kind of endpoint (doh, dot, ...).
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long, value_enum, default_value_t = HistoryFormatArg::Table)]
    pub format: HistoryFormatArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormatArg {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    pub format: ExportFormatArg,
    /// Only this run (see `history`); default: every stored run.
    #[arg(long)]
    pub run: Option<i64>,
    /// Only runs since this time: RFC 3339, a date, or an age like 24h, 7d.
    #[arg(long)]
    pub since: Option<String>,
    /// Only this kind of endpoint (doh, dot, ...).
    #[arg(long)]
    pub kind: Option<String>,
    /// Keep the addresses and names of endpoints you supplied (private
    /// bridges, your VPN servers). Off by default: they are hashed.
    #[arg(long)]
    pub include_endpoints: bool,
    /// Round start times down to this many minutes (0 keeps them exact).
    #[arg(long, default_value_t = 1)]
    pub round: u64,
    /// Output file; `-` for standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    Json,
    Jsonl,
    Csv,
    Ooni,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Files written by `bridgescout export --format json` or `jsonl`.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The report: `.html` (one self-contained page) or `.md`.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files, directories or literal lines: DoH URL, tls://host, sdns://
    /// stamp, bridge line, torrc, wg-quick .conf, .ovpn, ss://, vless://,
    /// vmess://, trojan://, hy2://, tuic://, ike://. Without any, the
    /// bundled lists.
    pub inputs: Vec<String>,
    /// Only endpoints of these kinds (doh, obfs4, wireguard, ...; comma
    /// separated or repeated). With `ikev2`, bare host names in the inputs
    /// are IKEv2 servers.
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Output format; `table` on a terminal, `jsonl` otherwise.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Files, directories or literal lines; without any, the bundled lists.
    pub inputs: Vec<String>,
    /// Only endpoints of these kinds (doh, obfs4, wireguard, ...; comma
    /// separated or repeated). With `ikev2`, bare host names in the inputs
    /// are IKEv2 servers.
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    pub kind: Vec<String>,
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
    #[arg(long, global = true, env = "BRIDGESCOUT_TIMEOUT", value_name = "SECS", default_value_t = 5.0, value_parser = parse_timeout)]
    pub timeout: f64,
    /// Most endpoints probed at once.
    #[arg(long, global = true, env = "BRIDGESCOUT_CONCURRENCY", value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub concurrency: u16,
    /// Extra trust anchors (PEM), for private resolvers and tests.
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// A name that exists; resolvers must answer it.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        default_value = "example.com"
    )]
    pub probe_name: String,
    /// Harmless server name for the handshake that detects SNI filtering.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        default_value = "example.org"
    )]
    pub control_sni: String,
    /// A control host, tried beside the scan so the verdict can tell an
    /// outage from blocking: dns:IP[:PORT], tls:HOST[:PORT] or tcp:IP:PORT,
    /// optionally prefixed domestic= or foreign= (default: dns domestic,
    /// tls/tcp foreign). Repeatable. Without it the UI uses this system's
    /// resolver (domestic) and TLS to www.wikipedia.org and 1.1.1.1
    /// (foreign); scan and watch run controls only when given.
    #[arg(long = "control", global = true, value_name = "SPEC", value_parser = parse_control)]
    pub controls: Vec<bridgescout::controls::Control>,
    /// No control measurements at all, not even the UI's defaults.
    #[arg(long, global = true)]
    pub no_controls: bool,
    /// Do not ask this system's resolver for endpoint host names; use
    /// bootstrap addresses only.
    #[arg(long, global = true)]
    pub no_system_dns: bool,
    /// Plain-DNS resolver (UDP 53) also asked for each resolver's host name,
    /// like a DNS stamp's bootstrap IPs. Repeatable.
    #[arg(long, global = true, value_name = "IP")]
    pub bootstrap_resolver: Vec<std::net::IpAddr>,
    /// History database (default: $XDG_DATA_HOME/bridgescout/history.sqlite3).
    #[arg(long, global = true, env = "BRIDGESCOUT_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Do not record this run in the history database.
    #[arg(long, global = true)]
    pub no_history: bool,
    /// Your own name for this network, stored with the run ("home fiber").
    #[arg(long, global = true, value_name = "TEXT")]
    pub network_label: Option<String>,
    /// MMDB file (GeoLite2-ASN, DB-IP ASN) to name this network's AS.
    /// Needs --stun, since the AS is looked up from the public address.
    #[arg(long, global = true, value_name = "PATH")]
    pub asn_db: Option<PathBuf>,
    /// Learn this network's public address with a STUN request to this
    /// server (HOST:PORT), to derive country and AS. The address itself is
    /// never stored. Off unless given.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub stun: Option<String>,
    /// Extra directory (or binary path) to look for pluggable-transport
    /// clients (lyrebird, obfs4proxy, snowflake-client, conjure-client).
    #[arg(long, global = true, value_name = "PATH")]
    pub pt_path: Vec<PathBuf>,
    /// Also bootstrap a full Tor client through each working bridge.
    #[arg(long, global = true)]
    pub deep: bool,
    /// arti TOML with a custom `[tor_network]` (private test networks).
    #[arg(long, global = true, value_name = "FILE")]
    pub tor_network: Option<PathBuf>,
    /// Bytes a bridge's data test must receive (default 64 KiB).
    #[arg(long, global = true, value_name = "BYTES", default_value_t = 65536, value_parser = clap::value_parser!(u64).range(1024..=100_000_000))]
    pub data_bytes: u64,
    /// Seconds without new data before the data test calls a bridge stalled.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 10.0, value_parser = parse_timeout)]
    pub stall_after: f64,
    /// Workshop mode: the UI starts with addresses of your own endpoints
    /// hidden (`p` toggles), for projectors and screen sharing.
    #[arg(long, global = true)]
    pub workshop: bool,
    /// Language of the UI: en, ru, kk (default: from LANG).
    #[arg(long, global = true, env = "BRIDGESCOUT_LANG", value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<bridgescout::tui::i18n::Lang>,
    /// DNS resolver (IP:PORT, answering over TCP) that proxies are asked to
    /// reach for their round-trip test; your proxy connects to it, not
    /// this machine.
    #[arg(
        long,
        global = true,
        value_name = "IP:PORT",
        default_value = "1.1.1.1:53"
    )]
    pub proxy_target: std::net::SocketAddr,
    /// No colours (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Where each setting came from; filled after parsing (see cmd::config).
    #[arg(skip)]
    pub provenance: crate::cmd::config::Provenance,
}

fn parse_control(s: &str) -> Result<bridgescout::controls::Control, String> {
    s.parse()
        .map_err(|e: bridgescout::controls::SpecError| e.why)
}

fn parse_lang(s: &str) -> Result<bridgescout::tui::i18n::Lang, String> {
    bridgescout::tui::i18n::Lang::parse(s)
        .ok_or_else(|| format!("unknown language {s:?}: use en, ru or kk"))
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
