//! dnscrypt-proxy resolver lists (`public-resolvers.md` and friends):
//! free header text, then one `## name` section per resolver holding
//! description paragraphs and one or more `sdns://` lines.
//!
//! Each DoH or DoT stamp becomes an endpoint labelled with its section name
//! (`name (2)`, `name (3)` … when a section has several stamps).
//!
//! Stamps of kinds this tool does not test (DNSCrypt, relays, ODoH, DoQ,
//! plain DNS, and protocol bytes newer than this code) are skipped without
//! an error each: these lists are mostly DNSCrypt, and a few hundred
//! "unsupported" lines would bury real problems. They are counted, though:
//! [`parse_with_skipped`] returns the counts for callers that want to show
//! a note, and when a list yields no usable endpoint at all [`parse`] adds
//! one error explaining why (on the line of the first skipped stamp), so an
//! empty result is never silent. A stamp that is malformed — bad base64,
//! truncated, a 20-byte hash — is an error on its own line.

use std::fmt;

use super::stamp::{self, StampError};
use super::{Catalog, Endpoint, Origin, ParseError};

/// True for text shaped like a dnscrypt-proxy list: `## ` section headers,
/// `sdns://` lines, and prose. The prose condition keeps a plain list that
/// merely uses `## ` as a comment (every other line an endpoint) on the
/// line-by-line parser, which reports bad lines instead of treating them as
/// description text.
pub fn looks_like(text: &str) -> bool {
    let (mut headers, mut stamps, mut prose) = (false, false, false);
    for line in text.lines() {
        let t = line.trim();
        if section_header(t).is_some() {
            headers = true;
        } else if t.is_empty() || t.starts_with('#') {
            continue;
        } else if has_scheme(t, "sdns://") {
            stamps = true;
        } else if !["https://", "http://", "tls://", "dot://"]
            .iter()
            .any(|s| has_scheme(t, s))
        {
            prose = true;
        }
        if headers && stamps && prose {
            return true;
        }
    }
    false
}

/// The name in a `## name` line (possibly empty), for a trimmed line.
fn section_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("##")?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim())
}

fn has_scheme(line: &str, scheme: &str) -> bool {
    line.get(..scheme.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
}

/// Stamps that were skipped because their kind is not tested, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Kind name and count, in order of first appearance.
    pub by_kind: Vec<(String, usize)>,
}

impl Skipped {
    pub fn total(&self) -> usize {
        self.by_kind.iter().map(|(_, n)| n).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }

    fn add(&mut self, kind: String) {
        match self.by_kind.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.by_kind.push((kind, 1)),
        }
    }
}

impl fmt::Display for Skipped {
    /// E.g. `skipped 3 stamps of kinds not tested here (2 DNSCrypt, 1 ODoH relay)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total();
        write!(
            f,
            "skipped {total} stamp{} of kinds not tested here (",
            if total == 1 { "" } else { "s" }
        )?;
        for (i, (kind, n)) in self.by_kind.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n} {kind}")?;
        }
        f.write_str("; only DoH and DoT are tested)")
    }
}

/// Parses a whole list; see the module documentation for what is skipped.
pub fn parse(text: &str, source_name: &str, origin: Origin) -> Catalog {
    parse_with_skipped(text, source_name, origin).0
}

/// Like [`parse`], also returning what was skipped so a caller can mention it.
pub fn parse_with_skipped(text: &str, source_name: &str, origin: Origin) -> (Catalog, Skipped) {
    let mut catalog = Catalog::default();
    let mut skipped = Skipped::default();
    let mut first_skipped_line = None;
    let mut section: Option<String> = None;
    let mut in_section = 0usize;

    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim();
        if let Some(name) = section_header(line) {
            let name: String = name.chars().filter(|c| !c.is_control()).collect();
            section = (!name.is_empty()).then_some(name);
            in_section = 0;
            continue;
        }
        if !has_scheme(line, "sdns://") {
            continue;
        }
        let error = |message: String| ParseError {
            source_name: source_name.to_string(),
            line: line_no,
            message,
        };
        let where_ = section
            .as_deref()
            .map(|s| format!(" in section \"{s}\""))
            .unwrap_or_default();

        let decoded = match stamp::decode(line) {
            Ok(s) => s,
            Err(StampError::Unsupported(p)) => {
                skipped.add(p.name().to_string());
                first_skipped_line.get_or_insert(line_no);
                continue;
            }
            Err(StampError::UnknownProtocol(b)) => {
                skipped.add(format!("unknown (0x{b:02x})"));
                first_skipped_line.get_or_insert(line_no);
                continue;
            }
            Err(e) => {
                catalog
                    .errors
                    .push(error(format!("bad DNS stamp{where_}: {e}")));
                continue;
            }
        };
        let target = match decoded.to_target() {
            Ok(t) => t,
            Err(StampError::Unsupported(p)) => {
                skipped.add(p.name().to_string());
                first_skipped_line.get_or_insert(line_no);
                continue;
            }
            Err(e) => {
                catalog
                    .errors
                    .push(error(format!("unusable DNS stamp{where_}: {e}")));
                continue;
            }
        };

        in_section += 1;
        let label = match (&section, in_section) {
            (Some(name), 1) => name.clone(),
            (Some(name), n) => format!("{name} ({n})"),
            (None, _) => decoded.hostname.clone(),
        };
        catalog.endpoints.push(Endpoint {
            label,
            origin,
            target,
        });
    }

    if catalog.endpoints.is_empty()
        && let Some(line) = first_skipped_line
    {
        catalog.errors.push(ParseError {
            source_name: source_name.to_string(),
            line,
            message: format!("no DoH or DoT stamps in this list: {skipped}"),
        });
    }
    (catalog, skipped)
}

#[cfg(test)]
mod tests {
    use super::super::{DnsResolver, EndpointKind, Target};
    use super::*;

    /// Excerpts of dnscrypt-resolvers v3/public-resolvers.md, shape kept.
    const LIST: &str = "# public-resolvers

This is an extensive list of public DNS resolvers supporting the
DNSCrypt and DNS-over-HTTP2 protocols.

    [sources.'public-resolvers']
    cache_file = 'public-resolvers.md'

--


## a-and-a

Non-logging DoH server in the UK operated by Andrews & Arnold Ltd, a
company providing Internet connectivity and VoIP in the UK.

https://www.aa.net.uk/legal/dohdot-disclaimer/

sdns://AgcAAAAAAAAADTIxNy4xNjkuMjAuMjOgzBBg05yDKbYrb7x9DW35MJhpuYHn5jktXNj6QI9NgOYgRE69Z7uD-IB7OSHpOKyReLiCvVCq2xEjHwRM9fCN984NZG5zLmFhLm5ldC51awovZG5zLXF1ZXJ5


## acsacsar-ams-ipv4

Public non-censoring, non-logging, DNSSEC-capable, DNSCrypt-enabled DNS resolver

sdns://AQcAAAAAAAAADTUxLjE1OC4xNjYuOTcgAyfzz5J-mV9G-yOB4Hwcdk7yX12EQs5Iva7kV3oGtlEgMi5kbnNjcnlwdC1jZXJ0LmFjc2Fjc2FyLWFtcy5jb20


## cloudflare

Cloudflare DNS (anycast) - aka 1.1.1.1 / 1.0.0.1

sdns://AgcAAAAAAAAABzEuMC4wLjEAEmRucy5jbG91ZGZsYXJlLmNvbQovZG5zLXF1ZXJ5


## cloudflare-ipv6

Cloudflare DNS over IPv6 (anycast)

sdns://AgcAAAAAAAAAFlsyNjA2OjQ3MDA6NDcwMDo6MTExMV0AIDFkb3QxZG90MWRvdDEuY2xvdWRmbGFyZS1kbnMuY29tCi9kbnMtcXVlcnk
sdns://AgcAAAAAAAAAFlsyNjA2OjQ3MDA6NDcwMDo6MTAwMV0AIDFkb3QxZG90MWRvdDEuY2xvdWRmbGFyZS1kbnMuY29tCi9kbnMtcXVlcnk


## broken-example

A stamp cut short while copying.

sdns://AgcAAAAAAAAABzEuMC4wLjEAEmRucy5jbG91ZGZsYXJl
";

    #[test]
    fn detects_dnscrypt_lists() {
        assert!(looks_like(LIST));
        assert!(looks_like(&LIST.replace('\n', "\r\n")));
        // Plain lists, even with `## ` comments and stamps, stay plain.
        assert!(!looks_like(
            "## mine\nsdns://AgcAAAAAAAAABzEuMC4wLjEAEmRucy5jbG91ZGZsYXJlLmNvbQovZG5zLXF1ZXJ5\n\
             https://dns.google/dns-query name=Google\n# comment\ntls://dns.quad9.net\n"
        ));
        assert!(!looks_like("https://dns.google/dns-query\n"));
        assert!(!looks_like("## a\nsome prose\n"));
        assert!(!looks_like("sdns://x\nsome prose\n"));
        assert!(!looks_like(""));
    }

    #[test]
    fn parses_sections() {
        let (catalog, skipped) = parse_with_skipped(LIST, "list.md", Origin::User);
        let labels: Vec<&str> = catalog.endpoints.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "a-and-a",
                "cloudflare",
                "cloudflare-ipv6",
                "cloudflare-ipv6 (2)"
            ]
        );
        assert!(
            catalog
                .endpoints
                .iter()
                .all(|e| e.origin == Origin::User && e.kind() == EndpointKind::Doh)
        );
        assert_eq!(
            catalog.endpoints[1].target,
            Target::Doh(DnsResolver {
                host: "dns.cloudflare.com".into(),
                port: 443,
                path: "/dns-query".into(),
                bootstrap: vec!["1.0.0.1".parse().unwrap()],
                pins: vec![],
                bootstrap_resolvers: Vec::new(),
            })
        );
        assert_eq!(
            skipped,
            Skipped {
                by_kind: vec![("DNSCrypt".into(), 1)]
            }
        );
        assert_eq!(
            skipped.to_string(),
            "skipped 1 stamp of kinds not tested here (1 DNSCrypt; only DoH and DoT are tested)"
        );

        // Only the truncated stamp is an error, on its own line.
        assert_eq!(catalog.errors.len(), 1, "{:?}", catalog.errors);
        let e = &catalog.errors[0];
        let expected_line = LIST
            .lines()
            .position(|l| l.ends_with("bG91ZGZsYXJl"))
            .unwrap()
            + 1;
        assert_eq!(e.line, expected_line);
        assert_eq!(e.source_name, "list.md");
        assert!(
            e.message.contains("section \"broken-example\""),
            "{}",
            e.message
        );
        assert!(e.message.contains("truncated"), "{}", e.message);
    }

    #[test]
    fn through_parse_text() {
        let catalog = super::super::parse_text(LIST, "list.md", Origin::Builtin);
        assert_eq!(catalog.endpoints.len(), 4);
        assert_eq!(catalog.errors.len(), 1);
        assert!(
            catalog
                .endpoints
                .iter()
                .all(|e| e.origin == Origin::Builtin)
        );
    }

    #[test]
    fn list_without_usable_stamps_explains_itself() {
        let relays = "# anonymized-relays\n\nRelays.\n\n## anon-one\n\nA relay.\n\n\
                      sdns://gQ0xOTIuMC4yLjE6NDQz\n\n## anon-two\n\nAnother.\n\n\
                      sdns://gQ0xOTIuMC4yLjI6NDQz\n\n## weird\n\nNew kind.\n\nsdns://BgAA\n";
        assert!(looks_like(relays));
        let (catalog, skipped) = parse_with_skipped(relays, "relays.md", Origin::User);
        assert!(catalog.endpoints.is_empty());
        assert_eq!(skipped.total(), 3);
        assert_eq!(catalog.errors.len(), 1);
        let e = &catalog.errors[0];
        assert_eq!(e.line, 9);
        assert_eq!(
            e.message,
            "no DoH or DoT stamps in this list: skipped 3 stamps of kinds not tested here \
             (2 anonymized DNSCrypt relay, 1 unknown (0x06); only DoH and DoT are tested)"
        );
    }

    #[test]
    fn dot_doq_and_unlabelled_stamps() {
        let dot = stamp::Stamp {
            protocol: stamp::StampProtocol::Dot,
            props: stamp::StampProps::default(),
            addr: None,
            hashes: vec![],
            hostname: "dns.example".into(),
            port: None,
            path: None,
            bootstrap: vec![],
        };
        let doq = stamp::Stamp {
            protocol: stamp::StampProtocol::Doq,
            ..dot.clone()
        };
        let text = format!(
            "Header prose.\n{}\n## tls one\n\n{}\n\n## quic one\n\n{}\n##    \nprose\n{}\n",
            stamp::encode(&dot),
            stamp::encode(&dot),
            stamp::encode(&doq),
            stamp::encode(&dot),
        );
        assert!(looks_like(&text));
        let (catalog, skipped) = parse_with_skipped(&text, "x.md", Origin::User);
        let labels: Vec<&str> = catalog.endpoints.iter().map(|e| e.label.as_str()).collect();
        // Before any section and in a nameless one, the host name labels it.
        assert_eq!(labels, ["dns.example", "tls one", "dns.example"]);
        assert!(
            catalog
                .endpoints
                .iter()
                .all(|e| e.kind() == EndpointKind::Dot)
        );
        assert_eq!(skipped.by_kind, vec![("DoQ".to_string(), 1)]);
        assert!(catalog.errors.is_empty());
    }

    #[test]
    fn unusable_stamp_host_is_an_error() {
        let s = stamp::Stamp {
            protocol: stamp::StampProtocol::Doh,
            props: stamp::StampProps::default(),
            addr: None,
            hashes: vec![],
            hostname: "dns.exämple".into(),
            port: None,
            path: Some("/dns-query".into()),
            bootstrap: vec![],
        };
        let text = format!("## idn\n\nprose\n\n{}\n", stamp::encode(&s));
        let catalog = parse(&text, "x.md", Origin::User);
        assert!(catalog.endpoints.is_empty());
        assert_eq!(catalog.errors.len(), 1);
        assert_eq!(catalog.errors[0].line, 5);
        assert!(catalog.errors[0].message.contains("punycode"));
    }
}
