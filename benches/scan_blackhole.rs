//! Benchmark: scan ≥ 500 loopback endpoints of which ≥ 100 are black-holed,
//! and print wall time as a multiple of the per-step timeout, peak RSS and
//! CPU time. Prints figures; asserts nothing about speed.
//!
//! Black holes are real SYN drops without root: a listener with a backlog of
//! zero whose accept queue we fill, so the kernel silently drops further
//! SYNs. Working endpoints are the in-process DoH/DoT test server (it runs in
//! this process, so CPU time includes the server side too).
//!
//! `cargo bench --bench scan_blackhole [-- WORKING BLACKHOLED TIMEOUT_S]`
//! (under `cargo test` it runs a small smoke configuration instead).

#[path = "../tests/common/inproc.rs"]
#[allow(dead_code)]
mod inproc;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bridgescout::catalog::Endpoint;
use bridgescout::engine::{self, EngineConfig};
use bridgescout::measurement::Diagnosis;
use bridgescout::probe::ProbeConfig;
use tokio::net::{TcpSocket, TcpStream};

use inproc::{Fault, TestPki, TestServer};

/// A listener that drops SYNs: backlog 0, queue pre-filled, never accepts.
async fn black_hole() -> (tokio::net::TcpListener, Vec<TcpStream>, u16) {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
        .expect("bind");
    let listener = socket.listen(0).expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let mut fillers = Vec::new();
    // Fill the accept queue; once full, connects hang (SYN dropped).
    for _ in 0..4 {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        if let Ok(Ok(s)) =
            tokio::time::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await
        {
            fillers.push(s);
        }
    }
    (listener, fillers, port)
}

fn proc_status(key: &str) -> Option<String> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
}

/// utime + stime of this process in seconds (Linux clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the ")" of the command name; utime and stime are the
    // 12th and 13th of those.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

async fn run(working: usize, blackholed: usize, timeout: Duration, concurrency: usize) {
    let pki = TestPki::new(inproc::DEFAULT_HOST);
    let server = TestServer::start(&pki, Fault::Normal).await;
    let mut holes = Vec::new();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for i in 0..working {
        endpoints.push(if i % 2 == 0 {
            inproc::doh_endpoint(inproc::DEFAULT_HOST, server.doh_port(), &format!("doh-{i}"))
        } else {
            inproc::dot_endpoint(inproc::DEFAULT_HOST, server.dot_port(), &format!("dot-{i}"))
        });
    }
    for i in 0..blackholed {
        let (listener, fillers, port) = black_hole().await;
        endpoints.push(inproc::dot_endpoint(
            inproc::DEFAULT_HOST,
            port,
            &format!("hole-{i}"),
        ));
        holes.push((listener, fillers));
    }
    let total = endpoints.len();
    let config = EngineConfig {
        concurrency,
        probe: ProbeConfig {
            step_timeout: timeout,
            probe_name: inproc::DEFAULT_PROBE_NAME.to_string(),
            tls: pki.tls_settings(),
            system_resolver: false,
            ..ProbeConfig::default()
        },
    };
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let results = engine::run_all(endpoints, config).await;
    let wall = t0.elapsed();
    let cpu = cpu_seconds() - cpu0;
    let reachable = results.iter().filter(|m| m.is_reachable()).count();
    let dropped = results
        .iter()
        .filter(|m| matches!(m.diagnosis, Diagnosis::IpBlocked | Diagnosis::Timeout))
        .count();
    println!(
        "endpoints={total} working={working} blackholed={blackholed} concurrency={concurrency} step_timeout={:.1}s",
        timeout.as_secs_f64()
    );
    println!(
        "  finished={} reachable={reachable} dropped(ip_blocked|timeout)={dropped}",
        results.len()
    );
    println!(
        "  wall={:.2}s  wall/timeout={:.2}  cpu={:.2}s  peak_rss={}",
        wall.as_secs_f64(),
        wall.as_secs_f64() / timeout.as_secs_f64(),
        cpu,
        proc_status("VmHWM:").unwrap_or_else(|| "?".into())
    );
    drop(holes);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
    // binary without it, and then a small smoke run is enough.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--bench");
    let nums: Vec<f64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let (default_working, default_holes, default_timeout) =
        if full { (400, 100, 2.0) } else { (20, 5, 0.5) };
    let working = nums.first().map(|v| *v as usize).unwrap_or(default_working);
    let blackholed = nums.get(1).map(|v| *v as usize).unwrap_or(default_holes);
    let timeout = Duration::from_secs_f64(nums.get(2).copied().unwrap_or(default_timeout));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // Everything at once: the black holes should cost one timeout.
        run(working, blackholed, timeout, working + blackholed).await;
        // The default bound: black holes hold slots, so expect a few.
        run(
            working,
            blackholed,
            timeout,
            EngineConfig::default().concurrency,
        )
        .await;
    });
}
