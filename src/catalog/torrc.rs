//! Bridges from a torrc: `Bridge` lines plus the two options that say how
//! they would be used (`UseBridges`, `ClientTransportPlugin`). Every other
//! option is ignored.
//!
//! Follows tor's config syntax where it matters for bridges: option names
//! are case-insensitive, `#` starts a comment anywhere on a line, and a line
//! ending in `\` continues on the next one (people wrap long obfs4 lines this
//! way). Errors and bridges carry the 1-based number of the line the option
//! starts on.

use super::bridge_line::{self, BridgeLine};
use super::shorten;

/// What a torrc says besides its bridge lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TorrcFacts {
    /// The last `UseBridges` value, as tor would use it.
    pub use_bridges: Option<bool>,
    /// `ClientTransportPlugin transport[,transport…] exec command`: the
    /// transport names and the command (the executable path followed by any
    /// arguments, as written). The `socks4`/`socks5` proxy forms are skipped.
    pub client_transport_plugins: Vec<(Vec<String>, String)>,
}

/// Whether `text` looks like a torrc (or a list of `Bridge …` lines): some
/// line starts with the `Bridge` or `UseBridges` option.
pub fn looks_like(text: &str) -> bool {
    text.lines().any(|line| {
        let mut words = line.split_whitespace();
        let Some(keyword) = words.next() else {
            return false;
        };
        keyword.eq_ignore_ascii_case("usebridges")
            || (keyword.eq_ignore_ascii_case("bridge") && words.next().is_some())
    })
}

/// Bridges found (with their line numbers), rejected lines (line number and
/// message), and the other facts.
pub type ParsedTorrc = (Vec<(usize, BridgeLine)>, Vec<(usize, String)>, TorrcFacts);

/// Parses a whole torrc.
pub fn parse(text: &str) -> ParsedTorrc {
    let mut bridges = Vec::new();
    let mut errors = Vec::new();
    let mut facts = TorrcFacts::default();

    for (line_no, logical) in logical_lines(text) {
        let logical = logical.trim();
        if logical.is_empty() {
            continue;
        }
        let (keyword, value) = match logical.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (logical, ""),
        };
        if keyword.eq_ignore_ascii_case("bridge") {
            if value.is_empty() {
                errors.push((line_no, "Bridge needs a bridge line after it".to_string()));
                continue;
            }
            match bridge_line::parse(value) {
                Ok(b) => bridges.push((line_no, b)),
                Err(e) => errors.push((line_no, e.to_string())),
            }
        } else if keyword.eq_ignore_ascii_case("usebridges") {
            match value {
                "1" => facts.use_bridges = Some(true),
                "0" => facts.use_bridges = Some(false),
                other => errors.push((
                    line_no,
                    format!("UseBridges must be 0 or 1, got {:?}", shorten(other)),
                )),
            }
        } else if keyword.eq_ignore_ascii_case("clienttransportplugin") {
            match parse_plugin(value) {
                Ok(Some(plugin)) => facts.client_transport_plugins.push(plugin),
                Ok(None) => {}
                Err(message) => errors.push((line_no, message)),
            }
        }
    }
    (bridges, errors, facts)
}

/// Joins `\`-continued lines and strips comments; yields each logical line
/// with the number of the physical line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (idx, raw) in text.lines().enumerate() {
        // A comment-only line inside a continuation is skipped, as in tor.
        if pending.is_some() && raw.trim_start().starts_with('#') {
            continue;
        }
        let without_comment = raw.split_once('#').map_or(raw, |(before, _)| before);
        let trimmed = without_comment.trim();
        let (content, continues) = match trimmed.strip_suffix('\\') {
            Some(head) => (head.trim_end(), true),
            None => (trimmed, false),
        };
        let (start, mut joined) = pending.take().unwrap_or((idx + 1, String::new()));
        if !joined.is_empty() && !content.is_empty() {
            joined.push(' ');
        }
        joined.push_str(content);
        if continues {
            pending = Some((start, joined));
        } else {
            out.push((start, joined));
        }
    }
    out.extend(pending);
    out
}

/// `obfs4,meek_lite exec /path/lyrebird [args]`; `None` for the proxy forms.
fn parse_plugin(value: &str) -> Result<Option<(Vec<String>, String)>, String> {
    let mut words = value.split_whitespace();
    let (Some(names), Some(kind)) = (words.next(), words.next()) else {
        return Err(
            "ClientTransportPlugin needs transport names and \"exec /path/to/program\"".to_string(),
        );
    };
    let transports: Vec<String> = names.split(',').map(str::to_string).collect();
    if transports.iter().any(String::is_empty) {
        return Err(format!(
            "ClientTransportPlugin transport list {:?} has an empty name (a stray comma?)",
            shorten(names)
        ));
    }
    if kind.eq_ignore_ascii_case("socks4") || kind.eq_ignore_ascii_case("socks5") {
        return Ok(None);
    }
    if !kind.eq_ignore_ascii_case("exec") {
        return Err(format!(
            "ClientTransportPlugin expects \"exec\", \"socks4\" or \"socks5\" after the transport names, got {:?}",
            shorten(kind)
        ));
    }
    let command: Vec<&str> = words.collect();
    if command.is_empty() {
        return Err("ClientTransportPlugin exec needs the path of the program".to_string());
    }
    Ok(Some((transports, command.join(" "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::bridge_line::Transport;

    const FP: &str = "CDF2E852BF539B82BD10E27E9115A31734E378C2";
    const CERT: &str = "qUVQ0srL1JI/vO6V6m/24anYXiJD3QP2HgzUKQtQ7GRqqUvs7P+tG43RtAqdhLOALP7DJQ";

    #[test]
    fn typical_torrc() {
        let text = format!(
            "# my torrc\n\
             SocksPort 9050\n\
             \n\
             UseBridges 1\n\
             ClientTransportPlugin obfs4,meek_lite exec /usr/bin/lyrebird\n\
             ClientTransportPlugin snowflake exec /usr/bin/snowflake-client -log /tmp/sf.log\n\
             ClientTransportPlugin foo socks5 127.0.0.1:1080\n\
             Bridge obfs4 192.0.2.1:443 {FP} cert={CERT} iat-mode=0   # first\n\
             bridge 192.0.2.2:9001\n\
             BRIDGE obfs4 192.0.2.3:443 {FP} iat-mode=0\n\
             Log notice stdout\n"
        );
        assert!(looks_like(&text));
        let (bridges, errors, facts) = parse(&text);
        let lines: Vec<usize> = bridges.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![8, 9]);
        assert_eq!(bridges[0].1.transport, Transport::Obfs4);
        assert_eq!(bridges[1].1.transport, Transport::Vanilla);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, 10);
        assert!(
            errors[0].1.contains("obfs4 bridge needs cert="),
            "{errors:?}"
        );
        assert_eq!(facts.use_bridges, Some(true));
        assert_eq!(
            facts.client_transport_plugins,
            vec![
                (
                    vec!["obfs4".to_string(), "meek_lite".to_string()],
                    "/usr/bin/lyrebird".to_string()
                ),
                (
                    vec!["snowflake".to_string()],
                    "/usr/bin/snowflake-client -log /tmp/sf.log".to_string()
                ),
            ]
        );
    }

    #[test]
    fn continuation_lines() {
        let text = format!(
            "UseBridges 1\n\
             Bridge obfs4 192.0.2.1:443 {FP} \\\n\
             # a comment inside\n\
             cert={CERT} iat-mode=0\n\
             UseBridges 0\n"
        );
        let (bridges, errors, facts) = parse(&text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(bridges.len(), 1);
        assert_eq!(bridges[0].0, 2);
        assert_eq!(bridges[0].1.param("cert"), Some(CERT));
        // The last UseBridges wins, as in tor.
        assert_eq!(facts.use_bridges, Some(false));

        // A continuation at the end of the text still counts.
        let (bridges, errors, _) = parse("Bridge 192.0.2.1:443 \\");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(bridges.len(), 1);
    }

    #[test]
    fn malformed_options() {
        let text = "UseBridges yes\n\
                    Bridge\n\
                    Bridge obfs4 2001:db8::1:443\n\
                    ClientTransportPlugin obfs4\n\
                    ClientTransportPlugin obfs4, exec /x\n\
                    ClientTransportPlugin obfs4 run /x\n\
                    ClientTransportPlugin obfs4 exec\n";
        let (bridges, errors, facts) = parse(text);
        assert!(bridges.is_empty());
        let lines: Vec<usize> = errors.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5, 6, 7], "{errors:?}");
        assert!(errors[0].1.contains("UseBridges must be 0 or 1"));
        assert!(errors[1].1.contains("needs a bridge line"));
        assert!(errors[2].1.contains("brackets"));
        assert!(errors[4].1.contains("empty name"));
        assert!(errors[5].1.contains("\"run\""));
        assert!(errors[6].1.contains("path"));
        assert_eq!(facts, TorrcFacts::default());
    }

    #[test]
    fn empty_and_unrelated_text() {
        let (b, e, f) = parse("");
        assert!(b.is_empty() && e.is_empty());
        assert_eq!(f, TorrcFacts::default());
        assert!(!looks_like(""));
        assert!(!looks_like("SocksPort 9050\n# Bridge obfs4 1.2.3.4:1\n"));
        assert!(!looks_like("https://dns.example/dns-query\nBridge\n"));
        assert!(looks_like("  usebridges 1\n"));
        assert!(looks_like("Bridge 192.0.2.1:443\n"));
        let (b, e, _) = parse("SocksPort 9050\nExitNodes {us}\n");
        assert!(b.is_empty() && e.is_empty());
    }
}
