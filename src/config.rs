//! The configuration file: TOML at `$XDG_CONFIG_HOME/bridgescout/config.toml`
//! (or `~/.config/bridgescout/config.toml`, or `--config PATH`).
//!
//! Keys are the command line's long option names (`timeout`,
//! `probe-name`, `control`, …). The file only fills what neither the
//! command line nor the environment set: precedence is command line >
//! environment > file > built-in default. This module reads and checks
//! the file; the binary knows the options and merges.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where an effective setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Cli,
    Env,
    File,
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cli => "cli",
            Source::Env => "env",
            Source::File => "config file",
            Source::Default => "default",
        }
    }
}

/// How an option takes values, which decides what a key may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A switch: `true` or `false`.
    Flag,
    /// One value: a string, number or boolean.
    One,
    /// Repeatable: an array (or a single value).
    Many,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TOML itself is malformed; the message names line and column.
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "config file {path}: unknown key {key:?} (see `bridgescout --print-config-template` for every key)"
    )]
    UnknownKey { path: PathBuf, key: String },
    #[error("config file {path}: {key}: {message}")]
    BadValue {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// A checked config file: each key as the words its option would take on
/// the command line (`["3"]`, `["1.1.1.1", "9.9.9.9"]`, `[]` for a switch
/// that is on).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub values: BTreeMap<String, Vec<String>>,
}

/// The default location: `$XDG_CONFIG_HOME/bridgescout/config.toml`, else
/// `$HOME/.config/bridgescout/config.toml`. Relative XDG paths are
/// ignored, as the XDG spec says.
pub fn default_path(xdg_config_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    let base = match xdg_config_home.filter(|p| p.is_absolute()) {
        Some(x) => x.to_path_buf(),
        None => home.filter(|p| !p.as_os_str().is_empty())?.join(".config"),
    };
    Some(base.join("bridgescout").join("config.toml"))
}

/// [`default_path`] from this process's environment.
pub fn default_path_from_env() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    default_path(xdg.as_deref(), home.as_deref())
}

impl ConfigFile {
    /// Reads and checks the file at `path`; `known` lists every allowed
    /// key with its shape.
    pub fn load(path: &Path, known: &[(&str, Shape)]) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        ConfigFile::parse(&text, path, known)
    }

    /// Checks `text` as if read from `path`.
    pub fn parse(
        text: &str,
        path: &Path,
        known: &[(&str, Shape)],
    ) -> Result<ConfigFile, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: path.to_path_buf(),
                // toml's message starts with "TOML parse error at line L, column C".
                message: e.to_string().trim_end().to_string(),
            })?;
        let mut values = BTreeMap::new();
        for (key, value) in table {
            let Some(&(_, shape)) = known.iter().find(|(k, _)| *k == key) else {
                return Err(ConfigError::UnknownKey {
                    path: path.to_path_buf(),
                    key,
                });
            };
            let bad = |message: &str| ConfigError::BadValue {
                path: path.to_path_buf(),
                key: key.clone(),
                message: message.to_string(),
            };
            let words = match (shape, &value) {
                (Shape::Flag, toml::Value::Boolean(true)) => Some(Vec::new()),
                // Off is every switch's default: nothing to pass.
                (Shape::Flag, toml::Value::Boolean(false)) => None,
                (Shape::Flag, _) => return Err(bad("expects true or false")),
                (Shape::One, v) => Some(vec![scalar(v).ok_or_else(|| bad("expects one value"))?]),
                (Shape::Many, toml::Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|v| scalar(v).ok_or_else(|| bad("expects a list of values")))
                        .collect::<Result<_, _>>()?,
                ),
                (Shape::Many, v) => Some(vec![
                    scalar(v).ok_or_else(|| bad("expects a list of values"))?,
                ]),
            };
            if let Some(words) = words {
                values.insert(key, words);
            }
        }
        Ok(ConfigFile {
            path: path.to_path_buf(),
            values,
        })
    }
}

/// A scalar as the command line would spell it.
fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [(&str, Shape); 4] = [
        ("timeout", Shape::One),
        ("deep", Shape::Flag),
        ("bootstrap-resolver", Shape::Many),
        ("probe-name", Shape::One),
    ];

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(text, Path::new("/etc/x/config.toml"), &KNOWN)
    }

    #[test]
    fn values_become_command_line_words() {
        let f = parse(
            "# comment\ntimeout = 2.5\ndeep = true\nbootstrap-resolver = [\"192.0.2.1\", \"192.0.2.2\"]\nprobe-name = \"example.net\"\n",
        )
        .unwrap();
        assert_eq!(f.values["timeout"], ["2.5"]);
        assert_eq!(f.values["deep"], Vec::<String>::new());
        assert_eq!(f.values["bootstrap-resolver"], ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(f.values["probe-name"], ["example.net"]);
        let f = parse("deep = false\nbootstrap-resolver = \"192.0.2.9\"\ntimeout = 3\n").unwrap();
        assert!(!f.values.contains_key("deep"));
        assert_eq!(f.values["bootstrap-resolver"], ["192.0.2.9"]);
        assert_eq!(f.values["timeout"], ["3"]);
        assert!(parse("").unwrap().values.is_empty());
    }

    #[test]
    fn errors_name_the_key_file_and_line() {
        let e = parse("timeout = 2\ncolour = true\n").unwrap_err();
        assert!(matches!(&e, ConfigError::UnknownKey { key, .. } if key == "colour"));
        let msg = e.to_string();
        assert!(
            msg.contains("\"colour\"") && msg.contains("/etc/x/config.toml"),
            "{msg}"
        );

        let msg = parse("timeout = 2\nprobe-name = \n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("/etc/x/config.toml"), "{msg}");

        let msg = parse("deep = \"yes\"").unwrap_err().to_string();
        assert!(msg.contains("deep: expects true or false"), "{msg}");
        let msg = parse("timeout = [1]").unwrap_err().to_string();
        assert!(msg.contains("timeout: expects one value"), "{msg}");
        let msg = parse("[timeout]\nx = 1").unwrap_err().to_string();
        assert!(msg.contains("timeout"), "{msg}");
    }

    #[test]
    fn default_location() {
        let p = |x: Option<&str>, h: Option<&str>| {
            default_path(x.map(Path::new), h.map(Path::new)).map(|p| p.display().to_string())
        };
        assert_eq!(
            p(Some("/x"), Some("/home/a")).as_deref(),
            Some("/x/bridgescout/config.toml")
        );
        assert_eq!(
            p(Some("rel"), Some("/home/a")).as_deref(),
            Some("/home/a/.config/bridgescout/config.toml")
        );
        assert_eq!(p(None, None), None);
        assert_eq!(p(None, Some("")), None);
    }
}
