//! Redaction: what an export may reveal.
//!
//! * User-supplied endpoints are secrets (private resolvers, unlisted
//!   bridges): their address, label, step targets, addresses, and every
//!   host name or IP literal in free text become keyed hashes. The key is
//!   per export, so a hash is stable within one file and unlinkable across
//!   files.
//! * Built-in endpoints are public and keep their names and addresses.
//! * Start times are rounded down; durations are kept.
//! * [`scrub_local_addresses`] removes this machine's addresses from the
//!   final serialized text, whatever field they hide in.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::catalog::Origin;
use crate::measurement::{Failure, Measurement, Step};
use crate::run::Run;

/// What replaces this machine's addresses in exports.
pub const LOCAL_ADDRESS_PLACEHOLDER: &str = "redacted-local-address";
/// Prefix of an endpoint pseudonym.
pub const ENDPOINT_PREFIX: &str = "user-endpoint-";
/// Prefix of any other redacted value.
pub const VALUE_PREFIX: &str = "redacted-";

/// Secrets shorter than this are not searched for in free text: they would
/// match everywhere and hide nothing.
const MIN_SECRET_LEN: usize = 3;
/// DoH paths so common that they identify nothing.
const COMMON_PATHS: [&str; 4] = ["/", "/dns-query", "/resolve", "/query"];

/// Redacts runs with one per-export key.
#[derive(Clone)]
pub struct Redactor {
    key: [u8; 32],
    redact_endpoints: bool,
    round_to: Duration,
}

impl std::fmt::Debug for Redactor {
    // The key stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("redact_endpoints", &self.redact_endpoints)
            .field("round_to", &self.round_to)
            .finish_non_exhaustive()
    }
}

impl Redactor {
    pub fn new(key: [u8; 32], redact_endpoints: bool, round_to: Duration) -> Redactor {
        Redactor {
            key,
            redact_endpoints,
            round_to,
        }
    }

    /// HMAC-SHA256 of `value` in a `domain`, so the same text used for
    /// different purposes never yields the same hash.
    fn mac(&self, domain: &str, value: &str) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.key) else {
            // HMAC takes keys of any length; unreachable in practice.
            return [0; 32];
        };
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Lower-case hex of the first `chars / 2` bytes of a keyed hash.
    pub fn hash_hex(&self, domain: &str, value: &str, chars: usize) -> String {
        let mac = self.mac(domain, value);
        let mut s: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        s.truncate(chars);
        s
    }

    /// Pseudonym of a user endpoint, e.g. `user-endpoint-3f9a1c0d22b7e841`.
    pub fn endpoint_token(&self, address: &str) -> String {
        format!(
            "{ENDPOINT_PREFIX}{}",
            self.hash_hex("endpoint", &address.to_ascii_lowercase(), 16)
        )
    }

    /// Replacement of one secret value, e.g. `redacted-5be0a1c3d9f2`.
    pub fn value_token(&self, value: &str) -> String {
        format!(
            "{VALUE_PREFIX}{}",
            self.hash_hex("value", &value.to_ascii_lowercase(), 12)
        )
    }

    /// An RFC 3339 time rounded down to the export's resolution. Times that
    /// do not parse (or carry an offset) are returned unchanged.
    pub fn round_time(&self, ts: &str) -> String {
        round_down(ts, self.round_to)
    }

    pub fn redacts_endpoints(&self) -> bool {
        self.redact_endpoints
    }

    /// A redacted copy of `run`.
    pub fn run(&self, run: &Run) -> Run {
        let mut meta = run.meta.clone();
        meta.started_at = self.round_time(&meta.started_at);
        meta.finished_at = meta.finished_at.as_deref().map(|t| self.round_time(t));
        Run {
            meta,
            measurements: run
                .measurements
                .iter()
                .map(|m| self.measurement(m))
                .collect(),
        }
    }

    /// A redacted copy of one measurement.
    pub fn measurement(&self, m: &Measurement) -> Measurement {
        let mut out = m.clone();
        out.start_time = self.round_time(&m.start_time);
        if !self.redact_endpoints || m.endpoint.origin != Origin::User {
            return out;
        }
        let secrets = Secrets::from_address(&m.endpoint.address);
        let token = self.endpoint_token(&m.endpoint.address);
        out.endpoint.address = token.clone();
        out.endpoint.label = token;
        out.steps = m.steps.iter().map(|s| self.step(s, &secrets)).collect();
        out.failure = m.failure.as_ref().map(|f| self.failure(f, &secrets));
        out.notes = m.notes.iter().map(|n| self.text(n, &secrets)).collect();
        out
    }

    fn step(&self, s: &Step, secrets: &Secrets) -> Step {
        Step {
            operation: s.operation,
            // Token by token, so a DoH target `addr authority/path` keeps
            // the same `addr` token as the TCP connect to that address.
            target: s.target.as_ref().map(|t| {
                t.split_whitespace()
                    .map(|part| self.value_token(part))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            t0: s.t0,
            t: s.t,
            failure: s.failure.as_ref().map(|f| self.failure(f, secrets)),
            detail: s.detail.as_ref().map(|d| self.text(d, secrets)),
            addresses: s.addresses.iter().map(|a| self.value_token(a)).collect(),
        }
    }

    fn failure(&self, f: &Failure, secrets: &Secrets) -> Failure {
        match f {
            Failure::Unknown(msg) => Failure::Unknown(self.text(msg, secrets)),
            other => other.clone(),
        }
    }

    /// Free text of a user endpoint's measurement: its secrets and every IP
    /// literal become tokens; everything else is kept.
    pub fn text(&self, text: &str, secrets: &Secrets) -> String {
        let mut out = text.to_string();
        for secret in &secrets.0 {
            out = replace_ci(&out, secret, &self.value_token(secret));
        }
        // A proxy link's TLS name often differs from its host (a CDN
        // front, a Host header) and identifies it just as well.
        out = replace_named_values(&out, NAMED_SECRETS, |v| self.value_token(v));
        replace_ip_literals(&out, |ip| self.value_token(ip))
    }
}

/// The strings that identify one user endpoint, longest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// From an endpoint address: a URL (`https://host:port/path`,
    /// `tls://host:port`) or a bare `host:port`.
    pub fn from_address(address: &str) -> Secrets {
        let mut all = vec![address.to_string()];
        let rest = match address.find("://") {
            Some(i) => &address[i + 3..],
            None => address,
        };
        all.push(rest.to_string());
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        // User info never belongs in an export either.
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        all.push(authority.to_string());
        let host = if let Some(inner) = authority.strip_prefix('[') {
            inner.split(']').next().unwrap_or(inner)
        } else if authority.matches(':').count() == 1 {
            authority.split(':').next().unwrap_or(authority)
        } else {
            authority
        };
        all.push(host.to_string());
        all.push(format!("[{host}]"));
        let bare_path = path.split(['?', '#']).next().unwrap_or(path);
        if !COMMON_PATHS.contains(&bare_path) {
            all.push(path.to_string());
        }
        all.retain(|s| s.len() >= MIN_SECRET_LEN);
        all.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        all.dedup();
        Secrets(all)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// `key=value` words in step details whose value names the server.
const NAMED_SECRETS: &[&str] = &["sni=", "host="];

/// Replaces the value of every whitespace-separated `key=value` word whose
/// key is in `keys` by `f(value)`.
fn replace_named_values(text: &str, keys: &[&str], mut f: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(word_end);
        let key = keys.iter().find(|k| {
            word.len() > k.len()
                && word.is_char_boundary(k.len())
                && word[..k.len()].eq_ignore_ascii_case(k)
        });
        match key {
            Some(k) => {
                let value = word[k.len()..].trim_end_matches([',', ';', ')']);
                let trailer = &word[k.len() + value.len()..];
                out.push_str(&word[..k.len()]);
                out.push_str(&f(value));
                out.push_str(trailer);
            }
            None => out.push_str(word),
        }
        let space_end = tail
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(tail.len());
        out.push_str(&tail[..space_end]);
        rest = &tail[space_end..];
    }
    out
}

/// Replaces every ASCII-case-insensitive occurrence of `needle`.
fn replace_ci(haystack: &str, needle: &str, with: &str) -> String {
    if needle.is_empty() {
        return haystack.to_string();
    }
    let lower_h = haystack.to_ascii_lowercase();
    let lower_n = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(haystack.len());
    let mut last = 0;
    // ASCII lower-casing keeps byte offsets, so positions carry over.
    for (i, _) in lower_h.match_indices(&lower_n) {
        if i < last {
            continue;
        }
        out.push_str(&haystack[last..i]);
        out.push_str(with);
        last = i + needle.len();
    }
    out.push_str(&haystack[last..]);
    out
}

fn is_ip_char(c: char) -> bool {
    c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']')
}

/// Replaces IP literals (`1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]:853`) in
/// `text` by `f(literal)`.
pub fn replace_ip_literals(text: &str, mut f: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run_start: Option<usize> = None;
    let mut flush = |out: &mut String, run: &str| out.push_str(&redact_run(run, &mut f));
    for (i, c) in text.char_indices() {
        if is_ip_char(c) {
            run_start.get_or_insert(i);
        } else {
            if let Some(s) = run_start.take() {
                flush(&mut out, &text[s..i]);
            }
            out.push(c);
        }
    }
    if let Some(s) = run_start {
        flush(&mut out, &text[s..]);
    }
    out
}

/// One run of IP-ish characters: the whole of it if it is an address
/// (socket address, bare or bracketed IP), once trimmed of punctuation;
/// otherwise any dotted quads inside it.
fn redact_run(run: &str, f: &mut impl FnMut(&str) -> String) -> String {
    if !run.contains(['.', ':']) {
        return run.to_string();
    }
    let lead = run.len() - run.trim_start_matches(['[', '.', ':']).len();
    // Keep a leading `::` (it is part of an IPv6 address).
    let lead = if run.starts_with("::") || run.starts_with("[::") {
        usize::from(run.starts_with('['))
    } else {
        lead
    };
    let trail = run.len() - run.trim_end_matches(['.', ':', ']']).len();
    for (a, b) in [
        (0, run.len()),
        (lead, run.len()),
        (lead, run.len() - trail),
        (0, run.len() - trail),
    ] {
        if a >= b || b > run.len() {
            continue;
        }
        let cand = &run[a..b];
        if looks_like_address(cand) {
            return format!("{}{}{}", &run[..a], f(cand), &run[b..]);
        }
    }
    replace_dotted_quads(run, f)
}

fn looks_like_address(s: &str) -> bool {
    s.parse::<SocketAddr>().is_ok()
        || s.parse::<IpAddr>().is_ok()
        || s.strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .is_some_and(|x| x.parse::<IpAddr>().is_ok())
}

/// Safety net for runs that are no address as a whole (`10.0.0.1.2.3`):
/// any embedded `a.b.c.d` with octets ≤ 255 is replaced.
fn replace_dotted_quads(run: &str, f: &mut impl FnMut(&str) -> String) -> String {
    let bytes = run.as_bytes();
    let mut out = String::with_capacity(run.len());
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !bytes[i - 1].is_ascii_digit();
        if boundary
            && bytes[i].is_ascii_digit()
            && let Some(len) = dotted_quad_len(&run[i..])
        {
            out.push_str(&f(&run[i..i + len]));
            i += len;
            continue;
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    out
}

/// Length of an IPv4 literal at the start of `s`, if there is one.
fn dotted_quad_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut pos = 0;
    for octet in 0..4 {
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() && pos - start < 3 {
            pos += 1;
        }
        if pos == start || s[start..pos].parse::<u8>().is_err() {
            return None;
        }
        if pos < b.len() && b[pos].is_ascii_digit() {
            return None;
        }
        if octet < 3 {
            if b.get(pos) != Some(&b'.') {
                return None;
            }
            pos += 1;
        }
    }
    Some(pos)
}

/// Rounds an RFC 3339 UTC time down to a multiple of `step`.
pub fn round_down(ts: &str, step: Duration) -> String {
    if step.is_zero() {
        return ts.to_string();
    }
    let Ok(t) = humantime::parse_rfc3339_weak(ts) else {
        return ts.to_string();
    };
    let Ok(since) = t.duration_since(UNIX_EPOCH) else {
        return ts.to_string();
    };
    let step_ns = step.as_nanos();
    let ns = since.as_nanos();
    let Ok(rounded) = u64::try_from(ns - ns % step_ns) else {
        return ts.to_string();
    };
    let rounded = UNIX_EPOCH + Duration::from_nanos(rounded);
    if step.subsec_nanos() == 0 {
        humantime::format_rfc3339_seconds(rounded).to_string()
    } else {
        humantime::format_rfc3339_millis(rounded).to_string()
    }
}

/// Removes every textual form of `addresses` from `text` (loopback and
/// unspecified ones excepted). Returns the text and how many were removed.
pub fn scrub_local_addresses(text: &str, addresses: &[IpAddr]) -> (String, usize) {
    let mut out = text.to_string();
    let mut count = 0;
    for ip in addresses {
        if ip.is_loopback() || ip.is_unspecified() {
            continue;
        }
        for form in textual_forms(ip) {
            let (next, n) = replace_bounded(&out, &form, ip.is_ipv4());
            out = next;
            count += n;
        }
    }
    (out, count)
}

/// The ways an address can be written: canonical, upper case, and for
/// IPv6 the fully expanded form.
fn textual_forms(ip: &IpAddr) -> Vec<String> {
    let mut forms = vec![ip.to_string()];
    if let IpAddr::V6(v6) = ip {
        let expanded = v6
            .segments()
            .iter()
            .map(|s| format!("{s:04x}"))
            .collect::<Vec<_>>()
            .join(":");
        forms.push(expanded);
        if let Some(v4) = v6.to_ipv4_mapped() {
            forms.push(v4.to_string());
        }
    }
    let upper: Vec<String> = forms.iter().map(|f| f.to_ascii_uppercase()).collect();
    forms.extend(upper);
    forms.sort();
    forms.dedup();
    forms
}

/// Case-insensitive replacement of `form` where it stands as a whole
/// address, not as part of a longer number or address.
fn replace_bounded(text: &str, form: &str, v4: bool) -> (String, usize) {
    let part_of = |c: u8| {
        if v4 {
            c.is_ascii_digit()
        } else {
            c.is_ascii_hexdigit()
        }
    };
    let lower_t = text.to_ascii_lowercase();
    let lower_f = form.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut n = 0;
    for (i, _) in lower_t.match_indices(&lower_f) {
        if i < last {
            continue;
        }
        let end = i + form.len();
        // An address continues before us through a digit (hex digit for
        // IPv6), or through a separator that follows one.
        let before_ok = i == 0 || {
            let p = bytes[i - 1];
            let pp = if i >= 2 { Some(bytes[i - 2]) } else { None };
            let sep = if v4 { b'.' } else { b':' };
            !(part_of(p) || (p == sep && pp.is_some_and(|x| part_of(x) || x == sep)))
        };
        let after_ok = end >= bytes.len() || {
            let c = bytes[end];
            let next = bytes.get(end + 1).copied();
            !(part_of(c)
                || (c == b'.' && next.is_some_and(|x| x.is_ascii_digit()))
                || (!v4 && c == b':' && next.is_some_and(|x| x.is_ascii_hexdigit() || x == b':')))
        };
        if !(before_ok && after_ok) {
            continue;
        }
        out.push_str(&text[last..i]);
        out.push_str(LOCAL_ADDRESS_PLACEHOLDER);
        last = end;
        n += 1;
    }
    out.push_str(&text[last..]);
    (out, n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn named_values_are_replaced_word_by_word() {
        let out = super::replace_named_values(
            "sni=cdn.example.net TLSv1_3 alpn=h2 Host=front.example, x=1",
            super::NAMED_SECRETS,
            |v| format!("<{}>", v.len()),
        );
        assert_eq!(out, "sni=<15> TLSv1_3 alpn=h2 Host=<13>, x=1");
        // Nothing to replace, and odd input, stays as it was.
        for s in ["", "sni=", "  a  b ", "ё=sni=x"] {
            assert_eq!(
                super::replace_named_values(s, super::NAMED_SECRETS, |_| "X".into()),
                s
            );
        }
    }

    use super::*;

    fn r() -> Redactor {
        Redactor::new([7; 32], true, Duration::from_secs(60))
    }

    #[test]
    fn ip_literals_in_text_are_replaced() {
        let f = |s: &str| format!("<{s}>");
        assert_eq!(replace_ip_literals("udp 10.1.2.3", f), "udp <10.1.2.3>");
        assert_eq!(
            replace_ip_literals("to 127.0.0.77:4433, then [2001:db8::1]:853.", f),
            "to <127.0.0.77:4433>, then <[2001:db8::1]:853>."
        );
        assert_eq!(
            replace_ip_literals("::1 and fe80::1", f),
            "<::1> and <fe80::1>"
        );
        assert_eq!(replace_ip_literals("ip:10.0.0.1", f), "ip:<10.0.0.1>");
        assert_eq!(
            replace_ip_literals("sni=doh.test TLSv1_3 alpn=h2", f),
            "sni=doh.test TLSv1_3 alpn=h2"
        );
        assert_eq!(replace_ip_literals("v1.2.3.4.5", f), "v<1.2.3.4>.5");
        assert_eq!(replace_ip_literals("at 12:00:01", f), "at 12:00:01");
        assert_eq!(replace_ip_literals("", f), "");
        assert_eq!(replace_ip_literals("é 1.2.3.4 ü", f), "é <1.2.3.4> ü");
    }

    #[test]
    fn secrets_of_addresses() {
        let s = Secrets::from_address("https://secret.test:8443/custom/abc");
        for want in [
            "secret.test",
            "secret.test:8443",
            "/custom/abc",
            "[secret.test]",
        ] {
            assert!(s.as_slice().iter().any(|x| x == want), "{want} in {s:?}");
        }
        let s = Secrets::from_address("tls://[2001:db8::5]:853");
        assert!(s.as_slice().iter().any(|x| x == "2001:db8::5"), "{s:?}");
        let s = Secrets::from_address("https://x.test/dns-query");
        assert!(!s.as_slice().iter().any(|x| x == "/dns-query"), "{s:?}");
    }

    #[test]
    fn text_redaction_hides_hosts_and_ips() {
        let red = r();
        let s = Secrets::from_address("tls://Secret.Test:853");
        let out = red.text("sni=secret.test udp 9.9.9.9:53 SECRET.TEST:853", &s);
        assert!(!out.to_lowercase().contains("secret"), "{out}");
        assert!(!out.contains("9.9.9.9"), "{out}");
        // Same value, same token within one redactor.
        assert_eq!(red.value_token("a.test"), red.value_token("A.TEST"));
        let other = Redactor::new([8; 32], true, Duration::ZERO);
        assert_ne!(red.value_token("a.test"), other.value_token("a.test"));
        assert!(red.endpoint_token("x").starts_with(ENDPOINT_PREFIX));
    }

    #[test]
    fn rounding() {
        let m = Duration::from_secs(60);
        assert_eq!(
            round_down("2024-05-06T07:08:09.123Z", m),
            "2024-05-06T07:08:00Z"
        );
        assert_eq!(
            round_down("2024-05-06T07:08:09.123Z", Duration::from_secs(3600)),
            "2024-05-06T07:00:00Z"
        );
        assert_eq!(
            round_down("2024-05-06T07:08:09.123Z", Duration::ZERO),
            "2024-05-06T07:08:09.123Z"
        );
        assert_eq!(round_down("not a time", m), "not a time");
    }

    #[test]
    fn local_scrub_respects_boundaries() {
        let ips: Vec<IpAddr> = vec![
            "10.0.0.1".parse().unwrap(),
            "2001:db8::42".parse().unwrap(),
            "127.0.0.1".parse().unwrap(),
        ];
        let text = "a 10.0.0.1 b 10.0.0.12 c 110.0.0.1 d 10.0.0.1:53 e 10.0.0.1. \
                    f [2001:db8::42]:443 g 2001:DB8::42 h 2001:db8::421 \
                    i 2001:0db8:0000:0000:0000:0000:0000:0042 j 127.0.0.1 k 2001:db8::42: x";
        let (out, n) = scrub_local_addresses(text, &ips);
        assert_eq!(n, 7, "{n} {out}");
        assert!(
            out.contains("10.0.0.12") && out.contains("110.0.0.1"),
            "{out}"
        );
        assert!(
            out.contains("2001:db8::421") && out.contains("127.0.0.1"),
            "{out}"
        );
        assert!(
            !out.contains("a 10.0.0.1") && !out.contains("db8::42]"),
            "{out}"
        );
    }

    #[test]
    fn builtin_endpoints_keep_their_details() {
        use crate::catalog::EndpointKind;
        use crate::measurement::{Diagnosis, EndpointInfo, Operation, Verdict};
        let m = Measurement {
            schema_version: 1,
            id: 0,
            endpoint: EndpointInfo {
                kind: EndpointKind::Dot,
                label: "Quad9".into(),
                address: "tls://dns.quad9.net:853".into(),
                origin: Origin::Builtin,
            },
            start_time: "2024-05-06T07:08:09.123Z".into(),
            runtime: 0.5,
            steps: vec![Step {
                operation: Operation::TcpConnect,
                target: Some("9.9.9.9:853".into()),
                t0: 0.0,
                t: 0.1,
                failure: None,
                detail: None,
                addresses: vec![],
            }],
            verdict: Verdict::Reachable,
            diagnosis: Diagnosis::Ok,
            failure: None,
            failed_operation: None,
            latency_ms: Some(12.5),
            notes: vec![],
            data_test: None,
            clock_skew_s: None,
            bootstrap: None,
        };
        let out = r().measurement(&m);
        assert_eq!(out.endpoint, m.endpoint);
        assert_eq!(out.steps, m.steps);
        assert_eq!(out.start_time, "2024-05-06T07:08:00Z");
        let mut user = m.clone();
        user.endpoint.origin = Origin::User;
        let out = r().measurement(&user);
        assert!(out.endpoint.address.starts_with(ENDPOINT_PREFIX));
        assert_eq!(out.endpoint.label, out.endpoint.address);
        let target = out.steps[0].target.clone().unwrap_or_default();
        assert!(target.starts_with(VALUE_PREFIX), "{target}");
        assert_eq!(out.steps[0].t, 0.1);
    }
}
