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
            Diagnosis::PtLaunchFailed,
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
    if data.bytes < data.target_bytes && data.stalled_after.is_none() {
        // Ended early without a stall: say how it ended, not "stalled".
        let (diagnosis, failure) = match &e.data_error {
            Some(f) => (transport_diagnosis(f, network_up, false), f.clone()),
            None => (
                Diagnosis::BadResponse,
                Failure::Unknown(format!("only {} bytes of directory data", data.bytes)),
            ),
        };
        let mut j = Judged::failed(diagnosis, Operation::TorDirFetch, failure);
        j.notes.push(format!(
            "handshake worked, but the data test ended after {} of {} bytes without a stall",
            data.bytes, data.target_bytes
        ));
        return j;
    }
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
        j.notes
            .push(format!("bootstrap stopped at {} %", trace.percent));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::bridge_line::Transport;
    use crate::measurement::{BootstrapTrace, DataTest, Verdict};

    fn data(bytes: u64, rate: f64, stalled: bool) -> DataTest {
        DataTest {
            target_bytes: 65536,
            bytes,
            seconds: 1.0,
            kib_per_s: rate,
            stalled_after: stalled.then_some(bytes),
            samples: vec![(0.5, bytes / 2), (1.0, bytes)],
        }
    }

    fn working(transport: Transport) -> TorEvidence {
        TorEvidence {
            transport: Some(transport),
            tcp: Some(Ok(())),
            handshake: Some(Ok(Some(-3.0))),
            circuit: Some(Ok(())),
            data: Some(data(67480, 80.0, false)),
            handshake_ms: Some(90.0),
            slow_kib_per_s: Some(5.0),
            ..TorEvidence::default()
        }
    }

    #[test]
    fn handshake_plus_data_is_reachable_with_skew_and_latency() {
        let j = judge(&working(Transport::Vanilla), true);
        assert_eq!(j.verdict, Verdict::Reachable);
        assert_eq!(j.diagnosis, Diagnosis::Ok);
        assert_eq!(j.latency_ms, Some(90.0));
        assert_eq!(j.clock_skew_s, Some(-3.0));
        assert_eq!(j.data_test.map(|d| d.bytes), Some(67480));
    }

    #[test]
    fn tcp_alone_is_never_reachable() {
        let e = TorEvidence {
            tcp: Some(Ok(())),
            ..TorEvidence::default()
        };
        assert_eq!(judge(&e, true).verdict, Verdict::Failed);
    }

    #[test]
    fn handshake_without_data_is_not_reachable() {
        let mut e = working(Transport::Vanilla);
        e.data = None;
        let j = judge(&e, true);
        assert_eq!(j.verdict, Verdict::Failed);
        assert_eq!(j.diagnosis, Diagnosis::Stalled);
    }

    #[test]
    fn short_data_is_stalled_and_slow_data_is_slow() {
        let mut e = working(Transport::Obfs4);
        e.data = Some(data(48_000, 60.0, true));
        let j = judge(&e, true);
        assert_eq!(j.diagnosis, Diagnosis::Stalled);
        assert_eq!(j.failed_operation, Some(Operation::TorDirFetch));
        assert_eq!(j.data_test.and_then(|d| d.stalled_after), Some(48_000));

        let mut e = working(Transport::Vanilla);
        e.data = Some(data(67480, 2.0, false));
        let j = judge(&e, true);
        assert_eq!(j.verdict, Verdict::Reachable);
        assert_eq!(j.diagnosis, Diagnosis::Slow);
    }

    #[test]
    fn data_ending_early_without_a_stall_says_how_it_ended() {
        let mut e = working(Transport::Obfs4);
        e.data = Some(data(9_000, 60.0, false));
        e.data_error = Some(Failure::ConnectionReset);
        let j = judge(&e, true);
        assert_eq!(j.verdict, Verdict::Failed);
        assert_eq!(j.diagnosis, Diagnosis::ConnectionReset);
        assert_eq!(j.failed_operation, Some(Operation::TorDirFetch));

        e.data_error = None;
        let j = judge(&e, true);
        assert_eq!(j.diagnosis, Diagnosis::BadResponse);
    }

    #[test]
    fn tcp_failures_map_to_transport_diagnoses() {
        for (f, up, want) in [
            (
                Failure::ConnectionRefused,
                true,
                Diagnosis::ConnectionRefused,
            ),
            (Failure::GenericTimeout, false, Diagnosis::Timeout),
            (Failure::GenericTimeout, true, Diagnosis::IpBlocked),
            (Failure::ConnectionReset, true, Diagnosis::ConnectionReset),
        ] {
            let e = TorEvidence {
                transport: Some(Transport::Vanilla),
                tcp: Some(Err(f.clone())),
                ..TorEvidence::default()
            };
            let j = judge(&e, up);
            assert_eq!(j.diagnosis, want, "{f}");
            assert_eq!(j.failed_operation, Some(Operation::TcpConnect));
            assert_eq!(j.failure, Some(f));
        }
    }

    #[test]
    fn identity_mismatch_keeps_fingerprints_out_of_the_verdict() {
        let e = TorEvidence {
            tcp: Some(Ok(())),
            handshake: Some(Err(HandshakeFail::IdentityMismatch {
                expected: "AAAA".repeat(10),
                found: "BBBB".repeat(10),
            })),
            ..TorEvidence::default()
        };
        let j = judge(&e, true);
        assert_eq!(j.diagnosis, Diagnosis::IdentityMismatch);
        assert_eq!(j.failed_operation, Some(Operation::TorHandshake));
        let text = format!("{:?} {:?}", j.failure, j.notes);
        assert!(!text.contains("AAAA") && !text.contains("BBBB"), "{text}");
    }

    #[test]
    fn clock_skew_is_reported() {
        let e = TorEvidence {
            tcp: Some(Ok(())),
            handshake: Some(Err(HandshakeFail::ClockSkew(-63_072_000.0))),
            ..TorEvidence::default()
        };
        let j = judge(&e, true);
        assert_eq!(j.diagnosis, Diagnosis::ClockSkew);
        assert_eq!(j.clock_skew_s, Some(-63_072_000.0));
    }

    #[test]
    fn pt_rules() {
        // Missing binary wins, and says how to get one.
        let e = TorEvidence {
            tcp: Some(Ok(())),
            pt: Some(PtState::Missing {
                transport: "obfs4".into(),
                hint: "apt install obfs4proxy".into(),
            }),
            ..TorEvidence::default()
        };
        let j = judge(&e, true);
        assert_eq!(j.diagnosis, Diagnosis::PtMissing);
        assert_eq!(j.failed_operation, Some(Operation::PtLaunch));
        assert!(j.notes.iter().any(|n| n.contains("apt install")));

        // Installed but would not start: not "missing".
        let e = TorEvidence {
            pt: Some(PtState::LaunchFailed("no managed-PT reply".into())),
            ..TorEvidence::default()
        };
        assert_eq!(judge(&e, true).diagnosis, Diagnosis::PtLaunchFailed);

        let launched = Some(PtState::Launched {
            path: "/usr/bin/obfs4proxy".into(),
        });
        // Port answers, transport silent: the transport handshake fails.
        let e = TorEvidence {
            tcp: Some(Ok(())),
            pt: launched.clone(),
            handshake: Some(Err(HandshakeFail::Pt(Failure::GenericTimeout))),
            ..TorEvidence::default()
        };
        let j = judge(&e, true);
        assert_eq!(j.diagnosis, Diagnosis::PtHandshakeFailed);
        assert_eq!(j.failed_operation, Some(Operation::PtHandshake));
        // A timeout after the PT's SOCKS leg, port open: still the PT.
        let e = TorEvidence {
            tcp: Some(Ok(())),
            pt: launched.clone(),
            handshake: Some(Err(HandshakeFail::Network(Failure::GenericTimeout))),
            ..TorEvidence::default()
        };
        assert_eq!(judge(&e, true).diagnosis, Diagnosis::PtHandshakeFailed);
        // Dead port: the TCP failure explains it.
        let e = TorEvidence {
            tcp: Some(Err(Failure::ConnectionRefused)),
            pt: launched,
            handshake: Some(Err(HandshakeFail::Pt(Failure::Unknown("x".into())))),
            ..TorEvidence::default()
        };
        let j = judge(&e, true);
        assert_eq!(j.diagnosis, Diagnosis::ConnectionRefused);
        assert_eq!(j.failed_operation, Some(Operation::TcpConnect));
    }

    #[test]
    fn deep_bootstrap_failure_and_success() {
        let mut e = working(Transport::Vanilla);
        let trace = BootstrapTrace {
            percent: 15,
            seconds_to_100: None,
            events: vec![(0.2, 15, "Stuck at 15%".into())],
        };
        e.bootstrap = Some(Err((trace, "no consensus".into())));
        let j = judge(&e, true);
        assert_eq!(j.diagnosis, Diagnosis::BootstrapFailed);
        assert_eq!(j.bootstrap.map(|b| b.percent), Some(15));

        let mut e = working(Transport::Vanilla);
        e.bootstrap = Some(Ok(BootstrapTrace {
            percent: 100,
            seconds_to_100: Some(4.2),
            events: Vec::new(),
        }));
        let j = judge(&e, true);
        assert_eq!(j.verdict, Verdict::Reachable);
        assert_eq!(j.bootstrap.and_then(|b| b.seconds_to_100), Some(4.2));
    }
}
