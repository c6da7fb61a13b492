//! Verdicts for Tor bridges. `reachable` needs the identity verified AND the
//! data test's bytes through (and, in deep mode, a full bootstrap).

use super::{Judged, transport_diagnosis};
use crate::measurement::{Diagnosis, Failure, Operation};
use crate::probe::tor::{HandshakeFail, PtState, TorEvidence};

pub(super) fn judge(e: &TorEvidence, network_up: bool) -> Judged {
    let mut j = verdict(e, network_up);
    j.notes.extend(e.notes.iter().cloned());
    j.data_test = e.data.clone();
    j.clock_skew_s = match &e.handshake {
        Some(Ok(skew)) => *skew,
        Some(Err(HandshakeFail::ClockSkew(s))) => Some(*s),
        _ => None,
    };
    j.bootstrap = match &e.bootstrap {
        Some(Ok(t)) | Some(Err((t, _))) => Some(t.clone()),
        None => None,
    };
    j
}

fn verdict(e: &TorEvidence, network_up: bool) -> Judged {
    if let Some(PtState::Missing { transport, hint }) = &e.pt {
        let mut j = Judged::failed(
            Diagnosis::PtMissing,
            Operation::PtLaunch,
            Failure::Unknown(format!("no {transport} client binary")),
        );
        j.notes.push(hint.clone());
        if matches!(e.tcp, Some(Ok(()))) {
            j.notes
                .push("the bridge's TCP port answers (that alone proves little)".into());
        }
        return j;
    }
    if let Some(PtState::LaunchFailed(msg)) = &e.pt {
        return Judged::failed(
            Diagnosis::PtMissing,
            Operation::PtLaunch,
            Failure::Unknown(msg.clone()),
        );
    }
    let tcp_ok = matches!(e.tcp, Some(Ok(())));
    let Some(handshake) = &e.handshake else {
        // No handshake attempted: the TCP connect is all there is.
        return match &e.tcp {
            Some(Err(f)) => Judged::failed(
                transport_diagnosis(f, network_up, true),
                Operation::TcpConnect,
                f.clone(),
            ),
            _ => Judged::failed(
                Diagnosis::PtHandshakeFailed,
                Operation::PtHandshake,
                Failure::Unknown("no handshake was attempted".into()),
            ),
        };
    };
    let via_pt = e.pt.is_some();
    let hs_op = if via_pt {
        Operation::PtHandshake
    } else {
        Operation::TorHandshake
    };
    match handshake {
        Err(HandshakeFail::IdentityMismatch { .. }) => {
            return Judged::failed(
                Diagnosis::IdentityMismatch,
                Operation::TorHandshake,
                Failure::Unknown("bridge identity does not match the line".into()),
            );
        }
        Err(HandshakeFail::ClockSkew(_)) => {
            return Judged::failed(
                Diagnosis::ClockSkew,
                Operation::TorHandshake,
                Failure::SslInvalidCertificate,
            );
        }
        Err(HandshakeFail::Tls(msg)) => {
            return Judged::failed(
                Diagnosis::TlsFailed,
                Operation::TlsHandshake,
                Failure::Unknown(msg.clone()),
            );
        }
        Err(HandshakeFail::Pt(f)) => {
            // The port answers but the transport gets nowhere: the
            // transport handshake is what fails (wrong cert, or DPI).
            let diagnosis = match (&e.tcp, f) {
                (Some(Err(tcp_f)), _) => transport_diagnosis(tcp_f, network_up, true),
                _ => Diagnosis::PtHandshakeFailed,
            };
            let failure = match &e.tcp {
                Some(Err(tcp_f)) if diagnosis != Diagnosis::PtHandshakeFailed => tcp_f.clone(),
                _ => f.clone(),
            };
            let op = if diagnosis == Diagnosis::PtHandshakeFailed {
                Operation::PtHandshake
            } else {
                Operation::TcpConnect
            };
            return Judged::failed(diagnosis, op, failure);
        }
        Err(HandshakeFail::Network(f)) => {
            if let Some(Err(tcp_f)) = &e.tcp {
                return Judged::failed(
                    transport_diagnosis(tcp_f, network_up, true),
                    Operation::TcpConnect,
                    tcp_f.clone(),
                );
            }
            let diagnosis = if via_pt && tcp_ok && f.is_timeout() {
                Diagnosis::PtHandshakeFailed
            } else {
                transport_diagnosis(f, network_up, !tcp_ok)
            };
            return Judged::failed(diagnosis, hs_op, f.clone());
        }
        Ok(_) => {}
    }
    if let Some(Err(f)) = &e.circuit {
        return Judged::failed(
            transport_diagnosis(f, network_up, false),
            Operation::TorCircuit,
            f.clone(),
        );
    }
    let Some(data) = &e.data else {
        return Judged::failed(
            Diagnosis::Stalled,
            Operation::TorDirFetch,
            Failure::Unknown("no data test was made".into()),
        );
    };
    if data.bytes < data.target_bytes {
        let mut j = Judged::failed(
            Diagnosis::Stalled,
            Operation::TorDirFetch,
            Failure::Unknown(format!("data stopped after {} bytes", data.bytes)),
        );
        j.notes.push(format!(
            "handshake worked, then data stopped after {} of {} bytes",
            data.bytes, data.target_bytes
        ));
        return j;
    }
    if let Some(Err((trace, msg))) = &e.bootstrap {
        let mut j = Judged::failed(
            Diagnosis::BootstrapFailed,
            Operation::TorBootstrap,
            Failure::Unknown(msg.clone()),
        );
        j.notes.push(format!("bootstrap stopped at {} %", trace.percent));
        return j;
    }
    let mut j = Judged::reachable(e.handshake_ms);
    if data.kib_per_s < slow_threshold(e) {
        j.diagnosis = Diagnosis::Slow;
    }
    j
}

/// The slow threshold travels in the evidence notes' config; kept here as a
/// function so the rule has one home.
fn slow_threshold(e: &TorEvidence) -> f64 {
    e.slow_kib_per_s.unwrap_or(5.0)
}
