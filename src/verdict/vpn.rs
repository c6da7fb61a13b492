//! VPN and proxy evidence to a verdict. Only an authenticated round trip
//! is `reachable`; a front that answers is `unverified`; silence after a
//! signed request is `no_response`, with notes on what it could mean.

use super::{Judged, transport_diagnosis};
use crate::measurement::{Diagnosis, Operation, Verdict};
use crate::probe::vpn::{FailKind, TunnelData, VpnEvidence, VpnOutcome};

pub fn judge(e: &VpnEvidence, network_up: bool) -> Judged {
    let mut j = match &e.outcome {
        VpnOutcome::Verified => match &e.data {
            Some(TunnelData::Failed { op, failure }) => {
                let mut j = Judged::failed(Diagnosis::Stalled, *op, failure.clone());
                j.latency_ms = e.handshake_ms;
                j.notes.push(
                    "The handshake worked but data through the tunnel did not: traffic is cut \
                     after the handshake, or the server does not forward it."
                        .into(),
                );
                j
            }
            _ => Judged::reachable(e.handshake_ms),
        },
        VpnOutcome::FrontOnly => {
            let mut j = Judged::reachable(e.handshake_ms);
            j.verdict = Verdict::Unverified;
            j.diagnosis = Diagnosis::FrontReachable;
            j
        }
        VpnOutcome::Failed { op, failure, kind } => {
            let diagnosis = match kind {
                // A QUIC Initial is unauthenticated: silence there is like a
                // dropped SYN.
                FailKind::Transport => transport_diagnosis(
                    failure,
                    network_up,
                    matches!(op, Operation::TcpConnect | Operation::QuicHandshake),
                ),
                FailKind::PortUnreachable => Diagnosis::PortUnreachable,
                FailKind::NoResponse => Diagnosis::NoResponse,
                FailKind::AuthFailed => Diagnosis::AuthFailed,
                FailKind::Certificate => Diagnosis::CertificateInvalid,
                FailKind::BadResponse => Diagnosis::BadResponse,
                FailKind::Resolve => Diagnosis::ResolveFailed,
                FailKind::Stalled => Diagnosis::Stalled,
                FailKind::Unsupported => Diagnosis::NotTestable,
            };
            Judged::failed(diagnosis, *op, failure.clone())
        }
    };
    if let (VpnOutcome::Verified, Some(TunnelData::Ok { rtt_ms })) = (&e.outcome, &e.data) {
        j.notes.push(format!(
            "A DNS query through the tunnel was answered in {rtt_ms:.0} ms."
        ));
    }
    if matches!(
        e.outcome,
        VpnOutcome::Failed {
            kind: FailKind::NoResponse,
            ..
        }
    ) && !network_up
    {
        j.notes.push(
            "Nothing else in this scan answered either: the network itself may be down.".into(),
        );
    }
    j.notes.extend(e.notes.iter().cloned());
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::Failure;
    use crate::probe::vpn::VpnEvidence;

    fn silence() -> Failure {
        Failure::GenericTimeout
    }

    #[test]
    fn verified_handshake_is_reachable() {
        let mut e = VpnEvidence::verified(12.0);
        e.data = Some(TunnelData::Ok { rtt_ms: 20.0 });
        let j = judge(&e, true);
        assert_eq!(j.verdict, Verdict::Reachable);
        assert_eq!(j.latency_ms, Some(12.0));
    }

    #[test]
    fn data_cut_after_handshake_is_stalled_and_failed() {
        let mut e = VpnEvidence::verified(12.0);
        e.data = Some(TunnelData::Failed {
            op: Operation::TunnelData,
            failure: Failure::GenericTimeout,
        });
        let j = judge(&e, true);
        assert_eq!(j.verdict, Verdict::Failed);
        assert_eq!(j.diagnosis, Diagnosis::Stalled);
        assert_eq!(j.failed_operation, Some(Operation::TunnelData));
    }

    #[test]
    fn front_only_is_never_reachable() {
        let e = VpnEvidence {
            outcome: VpnOutcome::FrontOnly,
            handshake_ms: Some(30.0),
            data: None,
            notes: vec![],
        };
        let j = judge(&e, true);
        assert_eq!(j.verdict, Verdict::Unverified);
        assert_eq!(j.diagnosis, Diagnosis::FrontReachable);
    }

    #[test]
    fn silence_kinds_map_to_codes() {
        let cases = [
            (
                FailKind::NoResponse,
                Operation::WireguardHandshake,
                Diagnosis::NoResponse,
            ),
            (
                FailKind::PortUnreachable,
                Operation::IkeSaInit,
                Diagnosis::PortUnreachable,
            ),
            (
                FailKind::AuthFailed,
                Operation::ShadowsocksRoundTrip,
                Diagnosis::AuthFailed,
            ),
            (
                FailKind::Transport,
                Operation::TcpConnect,
                Diagnosis::IpBlocked,
            ),
        ];
        for (kind, op, want) in cases {
            let e = VpnEvidence::failed(op, silence(), kind);
            assert_eq!(judge(&e, true).diagnosis, want, "{kind:?}");
        }
        let e = VpnEvidence::failed(Operation::TcpConnect, silence(), FailKind::Transport);
        assert_eq!(judge(&e, false).diagnosis, Diagnosis::Timeout);
    }
}
