//! The real binary in a real terminal (tmux): results arrive, the detail
//! pane opens, `q` quits and the terminal is restored. Servers are the
//! in-process test servers on loopback.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::inproc::{DEFAULT_HOST, DEFAULT_PROBE_NAME, Fault, TestPki, TestServer, closed_port};

struct Tmux {
    session: String,
}

impl Tmux {
    fn run(args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux must be installed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn capture(&self) -> String {
        Tmux::run(&["capture-pane", "-p", "-t", &self.session])
    }

    fn keys(&self, keys: &str) {
        Tmux::run(&["send-keys", "-t", &self.session, keys]);
    }

    fn display(&self, format: &str) -> String {
        Tmux::run(&["display-message", "-p", "-t", &self.session, format])
            .trim()
            .to_string()
    }

    /// Polls the screen until `pred` holds; bounded by `limit`.
    fn wait_for(&self, limit: Duration, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        Tmux::run(&["kill-session", "-t", &self.session]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tui_in_tmux_shows_results_details_and_restores_terminal() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("resolvers.txt");
    std::fs::write(
        &list,
        format!(
            "https://{h}:{p}/dns-query bootstrap=127.0.0.1 name=\"Local DoH\"\n\
             tls://{h}:{q} bootstrap=127.0.0.1 name=\"Local DoT\"\n\
             tls://{h}:{c} bootstrap=127.0.0.1 name=\"Closed port\"\n",
            h = DEFAULT_HOST,
            p = server.doh_port(),
            q = server.dot_port(),
            c = closed_port(),
        ),
    )
    .expect("write list");
    let status = dir.path().join("exit");
    let db = dir.path().join("history.sqlite3");
    let db_for_check = db.clone();
    let cmd = format!(
        // The UI follows the locale; pin English for the strings checked.
        "LC_ALL= LC_MESSAGES= LANG=en_US.UTF-8 {bin} tui {list} --no-controls --ca-file {ca} --probe-name {name} --no-system-dns --timeout 2 --db {db}; echo $? > {status}; sleep 60",
        db = db.display(),
        bin = env!("CARGO_BIN_EXE_bridgescout"),
        list = list.display(),
        ca = pki.ca_path().display(),
        name = DEFAULT_PROBE_NAME,
        status = status.display(),
    );
    let session = format!("bstui{}", std::process::id());
    let tmux = Tmux {
        session: session.clone(),
    };
    // The server runs on this test's runtime; tmux and the binary are
    // separate processes, so drive tmux from a blocking thread.
    let handle = tokio::task::spawn_blocking(move || {
        Tmux::run(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "120",
            "-y",
            "40",
            &cmd,
        ]);
        let screen = tmux.wait_for(Duration::from_secs(20), "results", |s| {
            s.contains("3/3") && s.contains("Local DoH") && s.contains("Closed port")
        });
        assert!(screen.contains("bridgescout"), "title shown:\n{screen}");
        assert_eq!(
            screen.matches("works").count(),
            2,
            "two working rows:\n{screen}"
        );
        assert!(
            screen.contains("refused"),
            "closed port explained:\n{screen}"
        );
        // The two working ones rank above the failed one.
        let pos = |needle: &str| screen.find(needle).unwrap_or(usize::MAX);
        assert!(pos("Local DoH") < pos("Closed port") && pos("Local DoT") < pos("Closed port"));
        assert_eq!(
            tmux.display("#{alternate_on}"),
            "1",
            "UI uses the alternate screen"
        );
        if std::env::var_os("BRIDGESCOUT_SHOW_SCREENS").is_some() {
            println!("{screen}");
        }

        tmux.keys("Enter");
        let detail = tmux.wait_for(Duration::from_secs(5), "detail pane", |s| {
            s.contains("tls_handshake") && s.contains("tcp_connect")
        });
        assert!(
            detail.contains("ok"),
            "detail shows the diagnosis:\n{detail}"
        );
        if std::env::var_os("BRIDGESCOUT_SHOW_SCREENS").is_some() {
            println!("{detail}");
        }

        // `?` shows the help; any key closes it.
        tmux.keys("?");
        tmux.wait_for(Duration::from_secs(5), "help overlay", |s| {
            s.contains("Press any key to close.")
        });
        tmux.keys("x");
        tmux.wait_for(Duration::from_secs(5), "help closed", |s| {
            !s.contains("Press any key to close.")
        });

        // `c` copies the selected working resolver; the fallback file sits
        // beside the exports directory, next to the history database.
        tmux.keys("c");
        let shown = tmux.wait_for(Duration::from_secs(5), "copy message", |s| {
            s.contains("copied (terminal clipboard) and saved to")
        });
        let copied = db_for_check.with_file_name("bridgescout-copied.txt");
        let text = std::fs::read_to_string(&copied)
            .unwrap_or_else(|e| panic!("no {}: {e}\n{shown}", copied.display()));
        assert!(
            text.starts_with("https://") || text.starts_with("tls://"),
            "a resolver address was copied: {text}"
        );

        // `e` writes an anonymized export next to the history database.
        tmux.keys("e");
        let shown = tmux.wait_for(Duration::from_secs(10), "export message", |s| {
            s.contains("exported (anonymized) to")
        });
        let exports = db_for_check.with_file_name("exports");
        let files: Vec<_> = std::fs::read_dir(&exports)
            .unwrap_or_else(|e| panic!("no export dir {}: {e}\n{shown}", exports.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        assert_eq!(files.len(), 1, "one export written: {files:?}");
        let body = std::fs::read_to_string(&files[0]).expect("read export");
        assert!(body.contains("\"redacted\": true") || body.contains("\"redacted\":true"));
        assert!(
            !body.contains(DEFAULT_HOST),
            "user endpoints are hashed:\n{body}"
        );

        tmux.keys("q");
        let start = Instant::now();
        while !status.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "binary did not exit after q"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let code = std::fs::read_to_string(&status).expect("exit status");
        assert_eq!(code.trim(), "0", "exit code 0: something was reachable");
        assert_eq!(
            tmux.display("#{alternate_on}"),
            "0",
            "alternate screen left"
        );
        assert_eq!(tmux.display("#{cursor_flag}"), "1", "cursor visible again");
        let after = tmux.capture();
        assert!(
            after.contains("2 of 3 endpoints tested reachable."),
            "summary printed on the normal screen:\n{after}"
        );
        // The UI's results landed in the history database.
        let out = Command::new(env!("CARGO_BIN_EXE_bridgescout"))
            .args(["history", "--format", "json", "--db"])
            .arg(&db_for_check)
            .output()
            .expect("history");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "history failed: {text}");
        for label in ["Local DoH", "Local DoT", "Closed port"] {
            assert!(text.contains(label), "{label} recorded: {text}");
        }
    });
    tokio::time::timeout(Duration::from_secs(90), handle)
        .await
        .expect("tmux test exceeded its limit")
        .expect("tmux test failed");
}

/// `a` with a pasted line (a real bracketed paste from tmux), the new row
/// tested at once, `r` re-testing it, `q` restoring the terminal.
#[tokio::test(flavor = "multi_thread")]
async fn tui_in_tmux_adds_a_pasted_endpoint_and_retests_it() {
    let pki = TestPki::new(DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let status = dir.path().join("exit");
    let first = format!(
        "https://{DEFAULT_HOST}:{}/dns-query bootstrap=127.0.0.1 name=\"Local DoH\"",
        server.doh_port()
    );
    let pasted = format!(
        "tls://{DEFAULT_HOST}:{} bootstrap=127.0.0.1 name=\"Pasted DoT\"",
        server.dot_port()
    );
    let cmd = format!(
        "LC_ALL= LC_MESSAGES= LANG=en_US.UTF-8 {bin} tui '{first}' --no-controls --ca-file {ca} --probe-name {name} --no-system-dns --timeout 2 --no-history; echo $? > {status}; sleep 60",
        bin = env!("CARGO_BIN_EXE_bridgescout"),
        ca = pki.ca_path().display(),
        name = DEFAULT_PROBE_NAME,
        status = status.display(),
    );
    let session = format!("bsadd{}", std::process::id());
    let tmux = Tmux {
        session: session.clone(),
    };
    let handle = tokio::task::spawn_blocking(move || {
        Tmux::run(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "120",
            "-y",
            "40",
            &cmd,
        ]);
        tmux.wait_for(Duration::from_secs(20), "the first result", |s| {
            s.contains("1/1 done") && s.contains("works")
        });
        tmux.keys("a");
        tmux.wait_for(Duration::from_secs(5), "the add prompt", |s| {
            s.contains("add: ▏")
        });
        // A bracketed paste, as a terminal sends it: the text arrives
        // whole, so its letters are not taken as keys.
        Tmux::run(&["set-buffer", "-b", "bsline", &pasted]);
        Tmux::run(&["paste-buffer", "-p", "-b", "bsline", "-t", &tmux.session]);
        tmux.wait_for(Duration::from_secs(5), "the pasted text", |s| {
            s.contains("add: tls://")
        });
        tmux.keys("Enter");
        let screen = tmux.wait_for(Duration::from_secs(20), "the added row", |s| {
            s.contains("2/2 done") && s.contains("Pasted DoT") && s.matches("✔ works").count() == 2
        });
        if std::env::var_os("BRIDGESCOUT_SHOW_SCREENS").is_some() {
            println!("{screen}");
        }
        // The new row is selected: `r` tests it again.
        tmux.keys("r");
        tmux.wait_for(Duration::from_secs(5), "the re-test message", |s| {
            s.contains("re-testing Pasted DoT")
        });
        tmux.wait_for(Duration::from_secs(20), "the re-test result", |s| {
            s.contains("2/2 done") && s.matches("✔ works").count() == 2
        });
        tmux.keys("q");
        let start = Instant::now();
        while !status.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "binary did not exit after q"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let code = std::fs::read_to_string(&status).expect("exit status");
        assert_eq!(code.trim(), "0");
        assert_eq!(
            tmux.display("#{alternate_on}"),
            "0",
            "alternate screen left"
        );
        assert_eq!(tmux.display("#{cursor_flag}"), "1", "cursor visible again");
        let after = tmux.capture();
        assert!(
            after.contains("2 of 2 endpoints tested reachable."),
            "summary printed on the normal screen:\n{after}"
        );
    });
    tokio::time::timeout(Duration::from_secs(90), handle)
        .await
        .expect("tmux test exceeded its limit")
        .expect("tmux test failed");
}
