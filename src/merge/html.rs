//! One self-contained HTML page: inline CSS, no scripts, no external
//! assets, so it can be mailed, projected offline or opened on a phone.

use std::fmt::Write as _;

use super::{MergedReport, Tally, fmt_latency, fmt_working};
use crate::measurement::Diagnosis;

/// Escapes text for HTML element content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root { color-scheme: light dark; --fg:#111; --bg:#fff; --muted:#555; --line:#ccc;
  --ok:#0a6b2b; --bad:#a1141c; --bar:#dfe7e2; --card:#f3f5f4; }
@media (prefers-color-scheme: dark) {
  :root { --fg:#f1f1f1; --bg:#121212; --muted:#b5b5b5; --line:#444;
    --ok:#6fdc8c; --bad:#ff8a8f; --bar:#2c3530; --card:#1e2420; } }
* { box-sizing: border-box; }
html { font-size: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6em; margin: .2em 0 .4em; line-height: 1.2; }
h2 { font-size: 1.25em; margin: 1.6em 0 .5em; }
.meta { color: var(--muted); margin: 0 0 1em; }
.toggle { position: absolute; opacity: 0; }
.toggle-label { display: inline-block; margin: .75rem 1rem 0; padding: .35em .8em;
  border: 2px solid var(--line); border-radius: .5em; cursor: pointer; font-size: 1rem; }
.toggle:focus-visible + .toggle-label { outline: 3px solid var(--ok); }
.toggle:checked + .toggle-label { border-color: var(--fg); font-weight: 700; }
.toggle:checked ~ main { font-size: 1.45rem; max-width: none; }
.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(9em, 1fr)); gap: .75em; }
.card { background: var(--card); border-radius: .6em; padding: .7em .9em; }
.card .num { display: block; font-size: 1.9em; font-weight: 700; line-height: 1.1; }
.card .what { color: var(--muted); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .5em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .9em; color: var(--muted); }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { font-weight: 700; border-top: 2px solid var(--fg); }
.bar { display: block; height: .45em; background: var(--bar); border-radius: .25em; margin-top: .25em; min-width: 5em; }
.bar > span { display: block; height: 100%; background: var(--ok); border-radius: .25em; }
.good { color: var(--ok); font-weight: 700; }
.bad { color: var(--bad); font-weight: 700; }
.why { color: var(--muted); font-size: .9em; }
code { font-size: .95em; }
dl dt { font-weight: 700; margin-top: .6em; }
dl dd { margin: 0 0 0 1em; }
@media (min-width: 90em) { html { font-size: 125%; } }
@media (max-width: 40em) {
  main { padding: .6rem; }
  table.stack thead { display: none; }
  table.stack, table.stack tbody, table.stack tfoot, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack tr { border: 1px solid var(--line); border-radius: .6em; margin: 0 0 .8em; padding: .3em .2em; }
  table.stack td { border: 0; display: flex; justify-content: space-between; gap: 1em; text-align: right; padding: .25em .6em; }
  table.stack td::before { content: attr(data-label); font-weight: 700; color: var(--muted); text-align: left; }
  table.stack td.net { font-size: 1.1em; font-weight: 700; }
  table.stack td .bar { width: 6em; margin-left: auto; }
  table.stack td.why-cell { flex-direction: column; text-align: left; gap: .1em; }
  tfoot td { border-top: 0; }
}
"#;

fn working_cell(t: &Tally) -> String {
    let pct = t.percent_working().unwrap_or(0.0);
    let class = if t.tested == 0 {
        ""
    } else if t.working == 0 {
        "bad"
    } else {
        "good"
    };
    format!(
        "<span class=\"{class}\">{}</span><span class=\"bar\" aria-hidden=\"true\"><span style=\"width:{pct:.0}%\"></span></span>",
        esc(&fmt_working(t))
    )
}

fn failure_cell(d: Option<Diagnosis>) -> String {
    match d {
        Some(d) => format!(
            "<code>{}</code><br><span class=\"why\">{}</span>",
            esc(d.as_str()),
            esc(d.explain())
        ),
        None => "—".into(),
    }
}

/// The workshop report as one HTML document.
pub fn render_html(r: &MergedReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>bridgescout workshop report</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <input type=\"checkbox\" id=\"big\" class=\"toggle\">\
         <label for=\"big\" class=\"toggle-label\">Large text</label>\n<main>\n\
         <h1>Which ways out work, by network</h1>\n"
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">Merged from {} file(s): {} run(s) on {} network(s){}.</p>",
        r.files,
        r.runs,
        r.networks,
        if r.duplicate_runs > 0 {
            format!("; {} duplicate run(s) counted once", r.duplicate_runs)
        } else {
            String::new()
        }
    );
    let t = &r.total;
    let _ = writeln!(
        h,
        "<section class=\"totals\" id=\"totals\">\
         <div class=\"card\"><span class=\"num\" id=\"total-tested\">{}</span><span class=\"what\">tested</span></div>\
         <div class=\"card\"><span class=\"num\" id=\"total-working\">{}</span><span class=\"what\">working</span></div>\
         <div class=\"card\"><span class=\"num\">{}</span><span class=\"what\">working share</span></div>\
         <div class=\"card\"><span class=\"num\">{}</span><span class=\"what\">median latency</span></div>\
         </section>",
        t.tested,
        t.working,
        t.percent_working()
            .map(|p| format!("{p:.0} %"))
            .unwrap_or_else(|| "—".into()),
        esc(&fmt_latency(t.median_latency_ms)),
    );

    h.push_str(
        "<h2>By network and method</h2>\n<table class=\"stack\" id=\"results\">\n<thead><tr>\
         <th scope=\"col\">Network</th><th scope=\"col\">Method</th><th scope=\"col\">Tested</th>\
         <th scope=\"col\">Working</th><th scope=\"col\">Median latency</th>\
         <th scope=\"col\">Typical failure</th></tr></thead>\n<tbody>\n",
    );
    for row in &r.rows {
        let net = match &row.as_name {
            Some(n) => format!(
                "{}<br><span class=\"why\">{}</span>",
                esc(&row.network.display()),
                esc(n)
            ),
            None => esc(&row.network.display()),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"net\" data-label=\"Network\"><span class=\"v\">{net}</span></td>\
             <td data-label=\"Method\"><span class=\"v\">{}</span></td>\
             <td class=\"n\" data-label=\"Tested\"><span class=\"v\">{}</span></td>\
             <td class=\"n\" data-label=\"Working\"><span class=\"v\">{}</span></td>\
             <td class=\"n\" data-label=\"Median latency\"><span class=\"v\">{}</span></td>\
             <td class=\"why-cell\" data-label=\"Typical failure\"><span class=\"v\">{}</span></td></tr>",
            esc(row.kind.display_name()),
            row.tally.tested,
            working_cell(&row.tally),
            esc(&fmt_latency(row.tally.median_latency_ms)),
            failure_cell(row.tally.typical_failure),
        );
    }
    if r.rows.is_empty() {
        h.push_str("<tr><td colspan=\"6\">No measurements in these files.</td></tr>\n");
    }
    let _ = writeln!(
        h,
        "</tbody>\n<tfoot><tr><td data-label=\"All networks\"><span class=\"v\">All networks</span></td>\
         <td data-label=\"Method\"><span class=\"v\">all</span></td><td class=\"n\" data-label=\"Tested\"><span class=\"v\">{}</span></td>\
         <td class=\"n\" data-label=\"Working\"><span class=\"v\">{}</span></td>\
         <td class=\"n\" data-label=\"Median latency\"><span class=\"v\">{}</span></td>\
         <td class=\"why-cell\" data-label=\"Typical failure\"><span class=\"v\">{}</span></td></tr></tfoot>\n</table>",
        t.tested,
        working_cell(t),
        esc(&fmt_latency(t.median_latency_ms)),
        failure_cell(t.typical_failure),
    );

    h.push_str(
        "<h2>By method</h2>\n<table class=\"stack\" id=\"methods\">\n<thead><tr>\
         <th scope=\"col\">Method</th><th scope=\"col\">Tested</th><th scope=\"col\">Working</th>\
         <th scope=\"col\">Median latency</th><th scope=\"col\">Typical failure</th></tr></thead>\n<tbody>\n",
    );
    for (kind, tally) in &r.by_method {
        let _ = writeln!(
            h,
            "<tr><td class=\"net\" data-label=\"Method\"><span class=\"v\">{}</span></td>\
             <td class=\"n\" data-label=\"Tested\"><span class=\"v\">{}</span></td>\
             <td class=\"n\" data-label=\"Working\"><span class=\"v\">{}</span></td>\
             <td class=\"n\" data-label=\"Median latency\"><span class=\"v\">{}</span></td>\
             <td class=\"why-cell\" data-label=\"Typical failure\"><span class=\"v\">{}</span></td></tr>",
            esc(kind.display_name()),
            tally.tested,
            working_cell(tally),
            esc(&fmt_latency(tally.median_latency_ms)),
            failure_cell(tally.typical_failure),
        );
    }
    h.push_str("</tbody>\n</table>\n");
    h.push_str(
        "<p class=\"meta\">Working: the endpoint answered a real DNS query correctly. \
         Median latency: of the working ones. Typical failure: the most common diagnosis \
         among the failed ones.</p>\n</main>\n</body>\n</html>\n",
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
