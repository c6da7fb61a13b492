//! Human-readable lines for a terminal: one per endpoint as it finishes,
//! then a ranked summary.

use std::io::Write;

use super::ReportError;
use crate::measurement::{Measurement, Verdict};
use crate::verdict::rank_cmp;

pub struct TableWriter<W: Write> {
    out: W,
    color: bool,
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

impl<W: Write> TableWriter<W> {
    pub fn new(out: W, color: bool) -> Result<Self, ReportError> {
        Ok(TableWriter { out, color })
    }

    fn line(&self, m: &Measurement) -> String {
        let (symbol, color) = match m.verdict {
            Verdict::Reachable => ("✔ works ", GREEN),
            Verdict::Unverified => ("? front ", YELLOW),
            Verdict::Failed => ("✘ failed", RED),
        };
        let status = if self.color {
            format!("{color}{symbol}{RESET}")
        } else {
            symbol.to_string()
        };
        let latency = m
            .latency_ms
            .map(|l| format!("{l:>6.0} ms"))
            .unwrap_or_else(|| "       —".into());
        let why = match (m.verdict, m.failed_operation) {
            (Verdict::Reachable | Verdict::Unverified, _) => m.diagnosis.explain().to_string(),
            (Verdict::Failed, Some(op)) => format!(
                "{} at {op} ({}): {}",
                m.diagnosis,
                m.failure
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                m.diagnosis.explain()
            ),
            (Verdict::Failed, None) => format!("{}: {}", m.diagnosis, m.diagnosis.explain()),
        };
        format!(
            "{status}  {:<3}  {:<28}  {latency}  {why}",
            m.endpoint.kind.display_name(),
            truncate(&m.endpoint.label, 28),
        )
    }

    pub fn record(&mut self, m: &Measurement) -> Result<(), ReportError> {
        let line = self.line(m);
        writeln!(self.out, "{line}")?;
        self.out.flush()?;
        Ok(())
    }

    pub fn finish(&mut self, all: &[Measurement], cancelled: bool) -> Result<(), ReportError> {
        let mut ranked: Vec<&Measurement> = all.iter().collect();
        ranked.sort_by(|a, b| rank_cmp(a, b));
        let working = ranked.iter().filter(|m| m.is_reachable()).count();
        writeln!(self.out)?;
        if cancelled {
            writeln!(
                self.out,
                "Cancelled: {} of the endpoints finished.",
                all.len()
            )?;
        }
        writeln!(
            self.out,
            "{working} of {} reachable. Best first:",
            all.len()
        )?;
        for m in ranked.iter().filter(|m| m.is_reachable()).take(5) {
            writeln!(
                self.out,
                "  {:<28} {}",
                truncate(&m.endpoint.label, 28),
                m.endpoint.address
            )?;
        }
        if working == 0 {
            writeln!(
                self.out,
                "  none: nothing tested here works from this network."
            )?;
        }
        self.out.flush()?;
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
