//! `bridgescout watch` in a real terminal (tmux) against a real DoH server
//! (netns lab, tests/common/netns.rs). The timeline first shows DoH working;
//! the test then drops the server's port with iptables, and the DoH strip
//! turns ✘ with a "stopped working" event; the rule is lifted, and the strip
//! shows ✔ again with a "works again after h:mm:ss" event. When the rounds
//! run out the header says so; `q` quits, the terminal is restored and the
//! outage summary is printed on the normal screen.
//!
//! tmux runs on a private socket (`tmux -L`), so a user's tmux server is
//! never touched; that server is killed on drop, also when the test panics.
//! Traffic stays inside the lab's namespaces. Every wait is bounded, the
//! whole watch by [`TOTAL`].

#[path = "common/netns.rs"]
mod netns;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use netns::{Block, DOH_HOST, DOH_PORT, Lab, PROBE_NAME, RunOutput, find_tool, run_bounded};

/// Rounds the watch runs (1 s apart): enough for working, blocked and
/// working again, with slack for blocked rounds that take a few timeouts.
const ROUNDS: usize = 8;
/// Longest the watch may take, from its start to the summary.
const TOTAL: Duration = Duration::from_secs(60);
/// Longest one tmux command may take.
const TMUX_DEADLINE: Duration = Duration::from_secs(10);

/// A detached session on a private tmux server; the server dies on drop.
struct Tmux {
    socket: String,
    session: String,
    /// The server's socket file, removed on drop.
    socket_path: Option<PathBuf>,
    /// Written by the session's shell when the watch exits.
    exited: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> RunOutput {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]).args(args);
        run_bounded(&mut c, TMUX_DEADLINE)
    }

    /// Runs a tmux command and panics unless it succeeds.
    fn must(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.code() == Some(0),
            "`tmux -L {} {}` failed ({:?}): {}{}",
            self.socket,
            args.join(" "),
            out.status,
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    fn capture(&self) -> String {
        self.must(&["capture-pane", "-p", "-t", &self.session])
    }

    fn display(&self, format: &str) -> String {
        self.must(&["display-message", "-p", "-t", &self.session, format])
            .trim()
            .to_string()
    }

    /// Polls the screen until `pred` holds; panics with the screen at
    /// `deadline`, or as soon as the watch has ended without it.
    fn wait_for(&self, deadline: Instant, what: &str, pred: impl Fn(&str) -> bool) -> String {
        loop {
            let exited = self.exited.exists();
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                !exited && !screen.contains(" · stopped after "),
                "the watch ended before {what}; screen:\n{screen}"
            );
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Only this test's server lives on this socket.
        let _ = self.run(&["kill-server"]);
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The DoH strip (✔/✘/· per round, oldest first), if the row is shown.
fn doh_strip(screen: &str) -> Option<String> {
    screen.lines().find_map(|line| {
        let rest = line.strip_prefix("DoH ")?.trim_start();
        let strip: String = rest
            .chars()
            .take_while(|c| matches!(c, '✔' | '✘' | '·'))
            .collect();
        (!strip.is_empty()).then_some(strip)
    })
}

/// The strip as runs of one symbol: `✔✔✘✔` → `['✔', '✘', '✔']`.
fn runs(strip: &str) -> Vec<char> {
    let mut out: Vec<char> = strip.chars().collect();
    out.dedup();
    out
}

/// The single-quoted shell word for `s`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `h:mm:ss` after "works again after " in the up event, if shown.
fn up_duration(screen: &str) -> Option<&str> {
    let (_, rest) = screen.split_once("▲ DoH works again after ")?;
    rest.split_whitespace().next()
}

#[test]
fn watch_timeline_shows_an_iptables_outage_in_tmux() {
    let Some(lab) = Lab::start(module_path!()) else {
        return;
    };
    assert!(
        find_tool("tmux").is_some(),
        "`tmux` not found (apt-get install tmux; scripts/test installs it)"
    );
    let endpoint = format!(
        "https://{DOH_HOST}/dns-query bootstrap={} name=lab-doh",
        lab.server_ip
    );
    let status = lab.dir.join("watch-exit");
    let cmd = format!(
        // The UI follows the locale; pin English for the strings checked.
        "LC_ALL= LC_MESSAGES= LANG=en_US.UTF-8 ip netns exec {ns} {bin} watch {ep} \
         --interval 1 --jitter 0 --rounds {ROUNDS} --timeout 1 --no-history \
         --no-controls --no-system-dns --ca-file {ca} --probe-name {PROBE_NAME} --lang en; \
         echo $? > {status}; sleep 60",
        ns = sh_quote(&lab.client_ns),
        bin = sh_quote(env!("CARGO_BIN_EXE_bridgescout")),
        ep = sh_quote(&endpoint),
        ca = sh_quote(lab.ca_file.to_str().unwrap()),
        status = sh_quote(status.to_str().unwrap()),
    );
    let name = format!("bswatch{}", std::process::id());
    let mut tmux = Tmux {
        socket: name.clone(),
        session: name,
        socket_path: None,
        exited: status.clone(),
    };
    let show = |stage: &str, screen: &str, started: Instant| {
        println!(
            "--- {stage} (after {:.1} s) ---\n{screen}",
            started.elapsed().as_secs_f64()
        );
    };
    tmux.must(&[
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "40",
        "-s",
        &tmux.session,
        &cmd,
    ]);
    let started = Instant::now();
    tmux.socket_path = Some(tmux.display("#{socket_path}").into());
    let deadline = started + TOTAL;

    // 1. DoH works: the strip has a ✔ (and nothing failed yet).
    let screen = tmux.wait_for(deadline, "DoH working (✔ in its strip)", |s| {
        doh_strip(s).is_some_and(|st| st.contains('✔'))
    });
    show("working", &screen, started);
    let strip = doh_strip(&screen).unwrap();
    assert_eq!(runs(&strip), ['✔'], "only ✔ before the block:\n{screen}");
    assert!(screen.contains("bridgescout watch"), "title:\n{screen}");
    assert!(
        screen.contains("No changes yet."),
        "no events yet:\n{screen}"
    );
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "the UI uses the alternate screen"
    );

    // 2. The port is dropped: ✘ in the strip and a down event.
    let block = Block::DropPort(DOH_PORT);
    lab.block(&block);
    let screen = tmux.wait_for(deadline, "DoH failing (✘ and a down event)", |s| {
        doh_strip(s).is_some_and(|st| st.contains('✘')) && s.contains("▼ DoH stopped working")
    });
    show("blocked", &screen, started);
    let strip = doh_strip(&screen).unwrap();
    assert_eq!(
        runs(&strip),
        ['✔', '✘'],
        "working, then failing:\n{screen}\n{}",
        lab.rules()
    );
    assert!(
        !screen.contains("works again"),
        "no up event while blocked:\n{screen}"
    );

    // 3. The rule is lifted: ✔ after the ✘s, and an up event with the
    //    outage's duration, above (newer than) the down event.
    lab.unblock(&block);
    let screen = tmux.wait_for(deadline, "DoH working again (✔ after ✘)", |s| {
        doh_strip(s).is_some_and(|st| runs(&st) == ['✔', '✘', '✔'])
            && s.contains("▲ DoH works again after ")
    });
    show("unblocked", &screen, started);
    let (up, down) = (
        screen.find("▲ DoH works again after ").unwrap(),
        screen
            .find("▼ DoH stopped working")
            .unwrap_or_else(|| panic!("down event still listed:\n{screen}")),
    );
    assert!(up < down, "newest event first:\n{screen}");
    let duration = up_duration(&screen).unwrap();
    assert!(
        duration.len() == 7 && duration.starts_with("0:0") && duration != "0:00:00",
        "an outage of some seconds, as h:mm:ss: {duration:?}\n{screen}"
    );

    // 4. The rounds run out: the header says so, the strip holds every
    //    round. (The UI stays up until `q`, so the strip can be read.)
    let stopped = format!("stopped after {ROUNDS} rounds");
    let mut failed_rounds = None;
    let screen = tmux.wait_for(deadline, "the last round", |s| {
        s.contains(&stopped) || status.exists()
    });
    if screen.contains(&stopped) {
        show("stopped", &screen, started);
        let strip = doh_strip(&screen).unwrap();
        assert_eq!(
            strip.chars().count(),
            ROUNDS,
            "every round shown:\n{screen}"
        );
        assert_eq!(
            runs(&strip),
            ['✔', '✘', '✔'],
            "one outage, over at the end:\n{screen}"
        );
        failed_rounds = Some(strip.matches('✘').count());
        tmux.must(&["send-keys", "-t", &tmux.session, "q"]);
    }
    while !status.exists() {
        assert!(
            Instant::now() < deadline,
            "watch did not exit; screen:\n{}",
            tmux.capture()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The shell writes the file before the number; wait for the line.
    let code = wait_for_line(&status, deadline);
    let after = tmux.capture();
    show("after exit", &after, started);
    assert_eq!(code, "0", "exit code:\n{after}");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "alternate screen left:\n{after}"
    );
    assert_eq!(
        tmux.display("#{cursor_flag}"),
        "1",
        "cursor visible again:\n{after}"
    );
    assert!(
        after.contains(&format!("Watched {ROUNDS} rounds from ")),
        "summary printed on the normal screen:\n{after}"
    );
    assert!(
        after.contains("Outages by method:"),
        "the outage listed:\n{after}"
    );
    let line = after
        .lines()
        .find(|l| l.starts_with("  DoH: "))
        .unwrap_or_else(|| panic!("no DoH outage line:\n{after}"));
    assert!(
        line.contains(" – ") && !line.contains("ongoing") && !line.contains("at least"),
        "the outage has an end:\n{after}"
    );
    if let Some(n) = failed_rounds {
        let want = format!(", {n} round{}", if n == 1 { "" } else { "s" });
        assert!(
            line.contains(&want),
            "as many outage rounds as ✘ in the strip ({n}):\n{after}"
        );
    }
}

/// The trimmed first line of `path` once it has one (bounded by `deadline`).
fn wait_for_line(path: &Path, deadline: Instant) -> String {
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.ends_with('\n') {
            return text.trim().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no exit status in {}: {text:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
