//! Plain-text lines for `bridgescout watch --format table`: readable
//! without colour (✔/✘ and words carry the meaning).

use std::fmt::Write as _;

use super::{MethodStatus, Outage, RoundSummary, WatchEvent, WatchReport};

/// `HH:MM:SS` of an RFC 3339 time (UTC), or the string itself.
pub fn clock(at: &str) -> &str {
    at.get(11..19).unwrap_or(at)
}

/// `YYYY-MM-DD HH:MM:SSZ` of an RFC 3339 time.
pub fn when(at: &str) -> String {
    match (at.get(..10), at.get(11..19)) {
        (Some(d), Some(t)) => format!("{d} {t}Z"),
        _ => at.to_string(),
    }
}

/// A duration for people: `45s`, `12m 5s`, `3h 2m`, `2d 4h`.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

fn method(m: &MethodStatus) -> String {
    let mut s = format!(
        "{} {}/{} {}",
        m.kind.display_name(),
        m.working,
        m.tested,
        if m.works { "✔" } else { "✘" }
    );
    if let Some(r) = m.reason {
        let _ = write!(s, " ({r})");
    }
    s
}

/// `12:05:03 DoH 3/5 ✔ · obfs4 0/4 ✘ (connection_reset)`.
pub fn round_line(r: &RoundSummary) -> String {
    let methods: Vec<String> = r.methods.iter().map(method).collect();
    let body = if methods.is_empty() {
        "nothing tested".to_string()
    } else {
        methods.join(" · ")
    };
    let mut line = format!("{} {body}", clock(&r.at));
    if r.all_down {
        line.push_str("  [everything down]");
    }
    line
}

/// One line per event, marked `▼` (down) or `▲` (up).
pub fn event_line(e: &WatchEvent) -> String {
    match e {
        WatchEvent::MethodDown {
            kind,
            at,
            reason,
            last_working,
            ..
        } => {
            let mut s = format!("{} ▼ {} stopped working", clock(at), kind.display_name());
            if let Some(r) = reason {
                let _ = write!(s, " ({r})");
            }
            match last_working {
                Some(lw) => {
                    let _ = write!(
                        s,
                        "; outage started {} (last worked {})",
                        when(at),
                        clock(lw)
                    );
                }
                None => {
                    let _ = write!(s, "; not working since watching began {}", when(at));
                }
            }
            s
        }
        WatchEvent::MethodUp {
            kind,
            at,
            down_since,
            duration_s,
            ..
        } => format!(
            "{} ▲ {} works again; outage {} – {} ({})",
            clock(at),
            kind.display_name(),
            when(down_since),
            when(at),
            duration(*duration_s)
        ),
        WatchEvent::AllDown { at, .. } => format!(
            "{} ▼▼ every method failed: likely a general shutdown; started {}",
            clock(at),
            when(at)
        ),
        WatchEvent::AllUp {
            at,
            down_since,
            duration_s,
            ..
        } => format!(
            "{} ▲▲ something works again after a total outage {} – {} ({})",
            clock(at),
            when(down_since),
            when(at),
            duration(*duration_s)
        ),
    }
}

fn outage_line(o: &Outage) -> String {
    let what = o.kind.map_or("everything", |k| k.display_name());
    let end = match &o.end {
        Some(end) => when(end),
        None => "ongoing".to_string(),
    };
    let mut s = format!(
        "  {what}: {} – {end} ({}{}, {} round{})",
        when(&o.start),
        if o.ongoing() { "at least " } else { "" },
        duration(o.duration_s),
        o.rounds,
        if o.rounds == 1 { "" } else { "s" }
    );
    if let Some(r) = o.reason {
        let _ = write!(s, ", {r}");
    }
    s
}

/// The closing summary: every outage with start, end and duration.
pub fn summary(r: &WatchReport) -> String {
    let mut s = String::new();
    let span = match (&r.first_round, &r.last_round) {
        (Some(a), Some(b)) => format!(" from {} to {}", when(a), when(b)),
        _ => String::new(),
    };
    let _ = writeln!(
        s,
        "Watched {} round{}{span}.",
        r.rounds,
        if r.rounds == 1 { "" } else { "s" }
    );
    if r.outages.is_empty() && r.shutdowns.is_empty() {
        let _ = writeln!(s, "No outages seen.");
        return s;
    }
    if !r.shutdowns.is_empty() {
        let _ = writeln!(s, "Everything down (likely a general shutdown):");
        for o in &r.shutdowns {
            let _ = writeln!(s, "{}", outage_line(o));
        }
    }
    if !r.outages.is_empty() {
        let _ = writeln!(s, "Outages by method:");
        for o in &r.outages {
            let _ = writeln!(s, "{}", outage_line(o));
        }
    }
    s
}
