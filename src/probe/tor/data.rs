//! The data test: repeated BEGIN_DIR directory GETs on one circuit until
//! the target byte count arrives. A handshake alone proves little: some
//! censors let it through and cut (or throttle) the flow afterwards, so we
//! record bytes over time and stop at the first stall.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use tor_proto::ClientTunnel;

use super::classify;
use crate::measurement::{DataTest, Failure};

/// Documents a directory cache serves, largest first: per-request cells
/// (CONNECTED, END, a padded last cell) cost ~1 KiB, so a big document
/// keeps the byte count close to what crossed the wire (a 2.4 KB
/// `/tor/server/authority` is ~40 % overhead). We stop reading once the
/// target is reached, so the real consensus costs only the target. An
/// offline bridge answers 404 for the consensus, hence the fallbacks.
const PATHS: &[&str] = &[
    "/tor/status-vote/current/consensus",
    "/tor/server/authority",
    "/tor/keys/all",
];

/// Most samples kept in [`DataTest::samples`].
const MAX_SAMPLES: usize = 100;

/// Bound on requests, so a bridge sending tiny answers cannot loop us.
const MAX_REQUESTS: usize = 1000;

/// How the data test ended, besides the numbers.
pub struct Outcome {
    pub test: DataTest,
    /// Set when the test could not go on (not for a stall).
    pub error: Option<Failure>,
}

enum Wait<T> {
    Done(T),
    Failed(Failure),
    Stalled,
}

/// Awaits `fut` for at most `stall`: no progress for that long is a stall.
async fn wait<T, E: std::error::Error + 'static>(
    stall: Duration,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Wait<T> {
    match tokio::time::timeout(stall, fut).await {
        Err(_) => Wait::Stalled,
        Ok(Err(e)) => Wait::Failed(classify::failure_of(&e)),
        Ok(Ok(v)) => Wait::Done(v),
    }
}

/// Runs the data test on `tunnel`. `cap` bounds the whole test (a bridge
/// trickling one byte per `stall - 1` seconds must end too).
pub async fn run(
    tunnel: Arc<ClientTunnel>,
    target: u64,
    stall: Duration,
    cap: Duration,
) -> Outcome {
    let start = Instant::now();
    let mut bytes = 0u64;
    let mut last_byte_at = 0.0f64;
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut stalled = false;
    let mut error = None;
    let mut path = 0usize;
    let mut buf = vec![0u8; 16 * 1024];
    let mut requests = 0usize;

    'requests: while bytes < target {
        if requests >= MAX_REQUESTS || start.elapsed() >= cap {
            error = Some(Failure::Unknown(format!(
                "data test gave up after {requests} requests"
            )));
            break;
        }
        let Some(doc) = PATHS.get(path) else {
            error = Some(Failure::HttpUnexpectedStatusCode);
            break;
        };
        requests += 1;
        let mut stream = match wait(stall, tunnel.clone().begin_dir_stream()).await {
            Wait::Done(s) => s,
            Wait::Failed(f) => {
                error = Some(f);
                break;
            }
            Wait::Stalled => {
                stalled = true;
                break;
            }
        };
        let req = format!("GET {doc} HTTP/1.0\r\n\r\n");
        let sent = async {
            stream.write_all(req.as_bytes()).await?;
            stream.flush().await
        };
        match wait(stall, sent).await {
            Wait::Done(()) => {}
            Wait::Failed(f) => {
                error = Some(f);
                break;
            }
            Wait::Stalled => {
                stalled = true;
                break;
            }
        }
        let mut head: Vec<u8> = Vec::new();
        let mut this = 0u64;
        loop {
            match wait(stall, stream.read(&mut buf)).await {
                Wait::Stalled => {
                    stalled = true;
                    break 'requests;
                }
                Wait::Failed(f) => {
                    error = Some(f);
                    break 'requests;
                }
                Wait::Done(0) => break,
                Wait::Done(n) => {
                    let got = buf.get(..n).unwrap_or_default();
                    if head.len() < 16 {
                        head.extend_from_slice(got.get(..n.min(16)).unwrap_or_default());
                    }
                    this += n as u64;
                    bytes += n as u64;
                    last_byte_at = start.elapsed().as_secs_f64();
                    samples.push((last_byte_at, bytes));
                    // Enough, or out of time: no need to read the rest.
                    if bytes >= target || start.elapsed() >= cap {
                        break;
                    }
                }
            }
        }
        if this == 0 {
            error = Some(Failure::Eof);
            break;
        }
        // Not "200": this cache lacks the document, try the next one.
        if !head.starts_with(b"HTTP/1.0 200") && !head.starts_with(b"HTTP/1.1 200") {
            path += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Rate over the time data actually flowed (a stall's wait excluded).
    let seconds = if stalled && last_byte_at > 0.0 {
        last_byte_at
    } else {
        elapsed
    };
    let kib_per_s = if seconds > 0.0 {
        bytes as f64 / 1024.0 / seconds
    } else {
        0.0
    };
    Outcome {
        test: DataTest {
            target_bytes: target,
            bytes,
            seconds,
            kib_per_s,
            stalled_after: stalled.then_some(bytes),
            samples: decimate(samples, MAX_SAMPLES),
        },
        error,
    }
}

/// Keeps at most `max` evenly spread samples, always the last one.
pub fn decimate(samples: Vec<(f64, u64)>, max: usize) -> Vec<(f64, u64)> {
    if samples.len() <= max {
        return samples;
    }
    if max < 2 {
        return samples.into_iter().rev().take(max).collect();
    }
    let n = samples.len();
    (0..max)
        .filter_map(|i| samples.get(i * (n - 1) / (max - 1)).copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_ends_and_bound() {
        let s: Vec<(f64, u64)> = (0..1000).map(|i| (i as f64, i as u64 * 10)).collect();
        let d = decimate(s, 100);
        assert_eq!(d.len(), 100);
        assert_eq!(d.first(), Some(&(0.0, 0)));
        assert_eq!(d.last(), Some(&(999.0, 9990)));
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0));
        let short: Vec<(f64, u64)> = (0..5).map(|i| (i as f64, i)).collect();
        assert_eq!(decimate(short.clone(), 100), short);
    }
}
