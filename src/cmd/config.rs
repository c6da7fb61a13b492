//! Command line + environment + config file → one `Cli`, with where each
//! setting came from; the config file template; `bridgescout config`.
//!
//! clap parses first and says, per option, whether the value came from the
//! command line, the environment or its default. Options the file sets and
//! neither of the first two did are then put in front of the arguments and
//! everything is parsed again, so file values get clap's own checks.

use std::ffi::OsString;
use std::path::PathBuf;

use bridgescout::config::{ConfigError, ConfigFile, Shape, Source};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches};

use crate::cli::{Cli, ProbeArgs};

/// One effective setting: its key (the long option name), value as the
/// command line would spell it (empty: unset), and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub source: Source,
}

/// Every setting's value and source, and which config file was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    pub entries: Vec<Entry>,
    pub file: Option<PathBuf>,
    /// Where the choice of file came from (`--config`, its variable, or
    /// the default location).
    pub file_source: Option<Source>,
}

impl Provenance {
    #[cfg(test)]
    pub fn source(&self, key: &str) -> Source {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map_or(Source::Default, |e| e.source)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Usage errors, `--help` and `--version`: clap prints and exits.
    #[error(transparent)]
    Clap(#[from] clap::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The config-file options: every setting shared by all modes.
fn options() -> Vec<Arg> {
    ProbeArgs::augment_args(clap::Command::new("x"))
        .get_arguments()
        .filter(|a| a.get_long().is_some())
        .cloned()
        .collect()
}

fn shape(arg: &Arg) -> Shape {
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => Shape::Flag,
        ArgAction::Append => Shape::Many,
        _ => Shape::One,
    }
}

/// Parses `args` (with the program name first), merging the config file:
/// `--config`/`BRIDGESCOUT_CONFIG` if given (it must exist), else
/// `default_file` if it exists.
pub fn load(args: Vec<OsString>, default_file: Option<PathBuf>) -> Result<Cli, LoadError> {
    let first = Cli::command().try_get_matches_from(&args)?;
    let explicit = first.get_one::<PathBuf>("config").cloned();
    let path = match explicit {
        Some(p) => Some(p),
        None => default_file.filter(|p| p.is_file()),
    };
    let options = options();
    let known_refs: Vec<(&str, Shape)> = options
        .iter()
        .filter_map(|a| a.get_long().map(|l| (l, shape(a))))
        .collect();
    let file = match &path {
        Some(p) => Some(ConfigFile::load(p, &known_refs)?),
        None => None,
    };
    let mut extra: Vec<OsString> = Vec::new();
    let mut from_file: Vec<String> = Vec::new();
    if let Some(file) = &file {
        for (key, words) in &file.values {
            let Some(arg) = options.iter().find(|a| a.get_long() == Some(key.as_str())) else {
                continue;
            };
            if matches!(
                first.value_source(arg.get_id().as_str()),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            ) {
                continue;
            }
            let words: Vec<String> = match shape(arg) {
                Shape::Flag => vec![format!("--{key}")],
                _ => words.iter().map(|w| format!("--{key}={w}")).collect(),
            };
            if words.is_empty() {
                continue;
            }
            // Checked one by one, so an error names the file and key.
            let mut probe: Vec<OsString> = vec!["bridgescout".into()];
            probe.extend(words.iter().map(OsString::from));
            if let Err(e) = Cli::command().try_get_matches_from(probe) {
                return Err(ConfigError::BadValue {
                    path: file.path.clone(),
                    key: key.clone(),
                    message: clap_message(&e),
                }
                .into());
            }
            extra.extend(words.into_iter().map(OsString::from));
            from_file.push(key.clone());
        }
    }
    let matches = if extra.is_empty() {
        first.clone()
    } else {
        let mut merged: Vec<OsString> = args.first().cloned().into_iter().collect();
        merged.extend(extra);
        merged.extend(args.iter().skip(1).cloned());
        Cli::command().try_get_matches_from(merged)?
    };
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.probe.provenance = Provenance {
        entries: options
            .iter()
            .filter_map(|arg| {
                let key = arg.get_long()?.to_string();
                let id = arg.get_id().as_str();
                let source = if from_file.contains(&key) {
                    Source::File
                } else {
                    match first.value_source(id) {
                        Some(ValueSource::CommandLine) => Source::Cli,
                        Some(ValueSource::EnvVariable) => Source::Env,
                        _ => Source::Default,
                    }
                };
                Some(Entry {
                    value: raw_value(&matches, id),
                    key,
                    source,
                })
            })
            .collect(),
        file_source: path.as_ref().map(|_| match first.value_source("config") {
            Some(ValueSource::CommandLine) => Source::Cli,
            Some(ValueSource::EnvVariable) => Source::Env,
            _ => Source::Default,
        }),
        file: path,
    };
    Ok(cli)
}

/// The values of `id` as given (or defaulted), joined with ", ".
fn raw_value(matches: &ArgMatches, id: &str) -> String {
    matches
        .get_raw(id)
        .map(|vals| {
            vals.map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// clap's error without its "error: " prefix and usage lines.
fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// A TOML literal for a default as clap spells it.
fn literal(value: &str) -> String {
    if value == "true" || value == "false" || value.parse::<f64>().is_ok_and(f64::is_finite) {
        value.to_string()
    } else {
        toml::Value::String(value.to_string()).to_string()
    }
}

/// A config file with every key: its help as a comment, then the key with
/// its default (switches `false`; options without a default commented out
/// with an example), so reading the template back changes nothing.
pub fn template() -> String {
    let mut out = String::from(
        "# bridgescout configuration (TOML).\n\
         # Location: $XDG_CONFIG_HOME/bridgescout/config.toml (else\n\
         # ~/.config/bridgescout/config.toml), or --config PATH.\n\
         # Keys are the long option names. Precedence: command line, then\n\
         # environment (BRIDGESCOUT_*), then this file, then the defaults below.\n",
    );
    for arg in options() {
        let Some(key) = arg.get_long() else { continue };
        out.push('\n');
        let help = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        for line in wrap(&help, 76) {
            out.push_str("# ");
            out.push_str(&line);
            out.push('\n');
        }
        if let Some(env) = arg.get_env() {
            out.push_str(&format!("# (environment: {})\n", env.to_string_lossy()));
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let placeholder = arg
            .get_value_names()
            .and_then(|n| n.first())
            .map_or_else(|| "VALUE".to_string(), ToString::to_string);
        let line = match shape(&arg) {
            Shape::Flag => format!("{key} = false"),
            Shape::Many => format!("# {key} = [\"{placeholder}\"]"),
            Shape::One => match defaults.first() {
                Some(d) => format!("{key} = {}", literal(d)),
                None => format!("# {key} = \"{placeholder}\""),
            },
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `bridgescout config`: one line per setting, tab-separated.
pub fn print(args: &ProbeArgs) -> u8 {
    let p = &args.provenance;
    match &p.file {
        Some(f) => println!("# config file: {}", f.display()),
        None => println!("# config file: none"),
    }
    for e in &p.entries {
        println!("{}\t{}\t{}", e.key, e.value, e.source.as_str());
    }
    crate::EXIT_OK
}

/// The default config file location, from the environment.
pub fn default_file() -> Option<PathBuf> {
    bridgescout::config::default_path_from_env()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(args: &[&str], file: Option<&str>) -> Result<Cli, LoadError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).expect("write");
        }
        let args: Vec<OsString> = std::iter::once("bridgescout")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        load(args, Some(path))
    }

    #[test]
    fn template_round_trips_to_the_defaults() {
        let plain = load_with(&["scan"], None).expect("defaults");
        let templated = load_with(&["scan"], Some(&template())).expect("template parses");
        let values = |c: &Cli| -> Vec<(String, String)> {
            c.probe
                .provenance
                .entries
                .iter()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect()
        };
        assert_eq!(values(&plain), values(&templated));
        assert!(template().contains("# control = [\"SPEC\"]"));
        assert!(template().contains("timeout = 5\n"));
    }

    #[test]
    fn file_fills_what_the_command_line_does_not_set() {
        let cli = load_with(
            &["--timeout", "2", "scan"],
            Some("timeout = 9\nconcurrency = 3\ncontrol = [\"tcp:127.0.0.1:9\"]\ndeep = true\n"),
        )
        .expect("load");
        assert!((cli.probe.timeout - 2.0).abs() < f64::EPSILON);
        assert_eq!(cli.probe.concurrency, 3);
        assert_eq!(cli.probe.controls.len(), 1);
        assert!(cli.probe.deep);
        let p = &cli.probe.provenance;
        assert_eq!(p.source("timeout"), Source::Cli);
        assert_eq!(p.source("concurrency"), Source::File);
        assert_eq!(p.source("probe-name"), Source::Default);
    }

    #[test]
    fn bad_files_name_key_and_file() {
        let e = load_with(&["scan"], Some("bogus = 1\n")).expect_err("error");
        assert!(e.to_string().contains("unknown key \"bogus\""), "{e}");
        let e = load_with(&["scan"], Some("timeout = 0\n")).expect_err("error");
        assert!(e.to_string().contains("timeout:"), "{e}");
        let e = load_with(&["scan"], Some("control = [\"nope\"]\n")).expect_err("error");
        assert!(e.to_string().contains("control:"), "{e}");
    }
}
