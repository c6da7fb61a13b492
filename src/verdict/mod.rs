//! From evidence to a verdict, a blocking diagnosis and a rank.
//!
//! Kept free of I/O so every rule can be unit-tested on made-up evidence.

use std::cmp::Ordering;

use crate::measurement::{
    BootstrapTrace, DataTest, Diagnosis, Failure, Measurement, Operation, Verdict,
};
use crate::probe::Evidence;

mod resolver;
pub mod tor;
mod vpn;

/// The judged part of a measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub verdict: Verdict,
    pub diagnosis: Diagnosis,
    pub failure: Option<Failure>,
    pub failed_operation: Option<Operation>,
    pub latency_ms: Option<f64>,
    pub notes: Vec<String>,
    pub data_test: Option<DataTest>,
    pub clock_skew_s: Option<f64>,
    pub bootstrap: Option<BootstrapTrace>,
}

impl Judged {
    pub fn failed(diagnosis: Diagnosis, op: Operation, failure: Failure) -> Judged {
        Judged {
            verdict: Verdict::Failed,
            diagnosis,
            failure: Some(failure),
            failed_operation: Some(op),
            latency_ms: None,
            notes: Vec::new(),
            data_test: None,
            clock_skew_s: None,
            bootstrap: None,
        }
    }

    pub fn reachable(latency_ms: Option<f64>) -> Judged {
        Judged {
            verdict: Verdict::Reachable,
            diagnosis: Diagnosis::Ok,
            failure: None,
            failed_operation: None,
            latency_ms,
            notes: Vec::new(),
            data_test: None,
            clock_skew_s: None,
            bootstrap: None,
        }
    }
}

/// `network_up`: some probe of this scan completed a TCP connect, so the
/// network works and silence from one address is targeted.
pub fn judge(evidence: &Evidence, network_up: bool) -> Judged {
    match evidence {
        Evidence::DnsResolver(e) => resolver::judge(e, network_up),
        Evidence::Tor(e) => tor::judge(e, network_up),
        Evidence::Vpn(e) => vpn::judge(e, network_up),
    }
}

fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Reachable => 0,
        Verdict::Unverified => 1,
        Verdict::Failed => 2,
    }
}

fn cmp_latency(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Maps a transport failure to a diagnosis. A dropped TCP connect is
/// `ip_blocked` only when other hosts answered during the same scan.
pub(crate) fn transport_diagnosis(f: &Failure, network_up: bool, at_connect: bool) -> Diagnosis {
    match f {
        Failure::GenericTimeout if at_connect && network_up => Diagnosis::IpBlocked,
        Failure::GenericTimeout => Diagnosis::Timeout,
        Failure::ConnectionRefused => Diagnosis::ConnectionRefused,
        Failure::ConnectionReset | Failure::ConnectionAborted | Failure::Eof => {
            Diagnosis::ConnectionReset
        }
        Failure::HostUnreachable | Failure::NetworkUnreachable => Diagnosis::HostUnreachable,
        f if f.is_certificate() => Diagnosis::CertificateInvalid,
        Failure::HttpUnexpectedStatusCode => Diagnosis::HttpError,
        _ => Diagnosis::BadResponse,
    }
}

/// Ranking: reachable first, then unverified fronts, fastest first; then
/// failed by label.
pub fn rank_cmp(a: &Measurement, b: &Measurement) -> Ordering {
    verdict_rank(a.verdict)
        .cmp(&verdict_rank(b.verdict))
        .then_with(|| {
            if a.verdict != Verdict::Failed {
                cmp_latency(a.latency_ms, b.latency_ms)
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| a.endpoint.label.cmp(&b.endpoint.label))
        .then_with(|| a.id.cmp(&b.id))
}
