//! Verdicts for DoH/DoT resolvers.

use super::{Judged, cmp_latency, transport_diagnosis};
use crate::measurement::{Diagnosis, Failure, Operation};
use crate::probe::resolver::{
    Attempt, ExchangeFail, ResolverEvidence, Stage, is_bogon, lying_failure,
};

pub(super) fn judge(e: &ResolverEvidence, network_up: bool) -> Judged {
    let mut notes: Vec<String> = Vec::new();
    for a in &e.attempts {
        for n in &a.notes {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
    }
    let valid: Vec<&Attempt> = e.attempts.iter().filter(|a| a.is_valid()).collect();
    if let Some(best) = valid
        .iter()
        .min_by(|a, b| cmp_latency(a.latency_ms, b.latency_ms))
    {
        let mut judged = Judged::reachable(best.latency_ms);
        judged.notes = notes;
        match lookup_verdict(e) {
            LookupVerdict::Poisoned => {
                judged.diagnosis = Diagnosis::DnsPoisoned;
                judged.notes.push(
                    "works only through its known (bootstrap) address: configure that address in your client"
                        .into(),
                );
            }
            LookupVerdict::Unhelpful => judged.notes.push(
                "looking up its name gave no usable address here; it works through its known address"
                    .into(),
            ),
            LookupVerdict::Fine => {}
        }
        return judged;
    }

    // Nothing worked: explain the attempt that got furthest.
    let Some(best) = e
        .attempts
        .iter()
        .max_by(|a, b| progress(a).cmp(&progress(b)))
    else {
        let failure = match &e.system {
            Some(Err(f)) => f.clone(),
            _ => Failure::DnsNoAnswer,
        };
        let mut j = Judged::failed(Diagnosis::ResolveFailed, Operation::Resolve, failure);
        j.notes = notes;
        return j;
    };
    let mut j = judge_attempt(best, network_up);
    j.notes = notes;
    j
}

/// Ordering of attempts by how much they prove; ties prefer the failure
/// that says most (a reset beats a timeout).
fn progress(a: &Attempt) -> (Stage, bool, u8) {
    let informative = match &a.failure {
        // No route at all (typically IPv6 on an IPv4-only network) says
        // least about the endpoint.
        Some((_, Failure::NetworkUnreachable)) => 0,
        Some((_, Failure::GenericTimeout)) => 1,
        Some(_) => 2,
        None => 3,
    };
    (a.reached, a.control_tls_ok == Some(true), informative)
}

fn judge_attempt(a: &Attempt, network_up: bool) -> Judged {
    if let Some(Err(fail)) = &a.exchange {
        return match fail {
            ExchangeFail::Transport(op, f) => {
                Judged::failed(transport_diagnosis(f, network_up, false), *op, f.clone())
            }
            ExchangeFail::HttpStatus(op, _) => {
                Judged::failed(Diagnosis::HttpError, *op, Failure::HttpUnexpectedStatusCode)
            }
            ExchangeFail::Bad(op, f) => Judged::failed(Diagnosis::BadResponse, *op, f.clone()),
            ExchangeFail::Lying(op) => {
                Judged::failed(Diagnosis::LyingResolver, *op, lying_failure())
            }
        };
    }
    let Some((op, f)) = &a.failure else {
        // No exchange and no failure cannot happen; say so honestly.
        return Judged::failed(
            Diagnosis::BadResponse,
            Operation::DnsRoundTrip,
            Failure::Unknown("probe ended without a result".into()),
        );
    };
    let diagnosis = match op {
        Operation::TlsHandshake if f.is_certificate() => Diagnosis::CertificateInvalid,
        Operation::TlsHandshake if a.control_tls_ok == Some(true) => Diagnosis::SniFiltered,
        Operation::TcpConnect => transport_diagnosis(f, network_up, true),
        _ => transport_diagnosis(f, network_up, false),
    };
    Judged::failed(diagnosis, *op, f.clone())
}

/// What the lookups said about a resolver that works only through its
/// known address.
#[derive(Debug, PartialEq, Eq)]
enum LookupVerdict {
    /// A lookup was consistent, or nothing points at a lie.
    Fine,
    /// Known address works, lookups gave nothing usable, but no lie shown
    /// (lookup timed out, SERVFAIL, only unroutable IPv6).
    Unhelpful,
    /// Evidence of poisoning: NXDOMAIN / no answer for a name that exists,
    /// a bogon for a public host, or looked-up addresses that fail where
    /// the known one works.
    Poisoned,
}

fn lookup_verdict(e: &ResolverEvidence) -> LookupVerdict {
    if e.system.is_none() && e.plain.is_empty() {
        return LookupVerdict::Fine;
    }
    let known_only_ok = e
        .attempts
        .iter()
        .any(|a| a.is_valid() && a.from_bootstrap && !a.from_lookup);
    let lookup_ok = e.attempts.iter().any(|a| a.is_valid() && a.from_lookup);
    if !known_only_ok || lookup_ok {
        return LookupVerdict::Fine;
    }
    let lookups = e.system.iter().chain(e.plain.iter());
    let denied = lookups
        .clone()
        .any(|r| matches!(r, Err(Failure::DnsNxdomain) | Err(Failure::DnsNoAnswer)));
    let known_public = !e.bootstrap.is_empty() && e.bootstrap.iter().all(|b| !is_bogon(b));
    let bogon = known_public
        && lookups
            .filter_map(|r| r.as_ref().ok())
            .flatten()
            .any(is_bogon);
    // Looked-up addresses that were tried and failed for a reason other
    // than "no route at all" (an IPv4-only network and IPv6 answers).
    let wrong_address = e.attempts.iter().any(|a| {
        a.from_lookup
            && !a.from_bootstrap
            && !a.is_valid()
            && !matches!(a.failure, Some((_, Failure::NetworkUnreachable)))
    });
    if denied || bogon || wrong_address {
        LookupVerdict::Poisoned
    } else {
        LookupVerdict::Unhelpful
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::Verdict;
    use crate::probe::Evidence;

    fn judge(e: &Evidence, up: bool) -> Judged {
        super::super::judge(e, up)
    }
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)), 443)
    }

    fn attempt(last: u8) -> Attempt {
        Attempt {
            from_bootstrap: true,
            ..Attempt::new(addr(last))
        }
    }

    fn ok(last: u8, ms: f64) -> Attempt {
        Attempt {
            reached: Stage::Exchanged,
            exchange: Some(Ok(())),
            latency_ms: Some(ms),
            ..attempt(last)
        }
    }

    fn failed_at(last: u8, stage: Stage, op: Operation, f: Failure) -> Attempt {
        Attempt {
            reached: stage,
            failure: Some((op, f)),
            ..attempt(last)
        }
    }

    fn evidence(system: Option<Result<Vec<IpAddr>, Failure>>, attempts: Vec<Attempt>) -> Evidence {
        Evidence::DnsResolver(ResolverEvidence {
            system,
            plain: Vec::new(),
            bootstrap: vec![addr(1).ip()],
            attempts,
        })
    }

    #[test]
    fn reachable_picks_fastest() {
        let j = judge(&evidence(None, vec![ok(1, 40.0), ok(2, 12.0)]), true);
        assert_eq!(j.verdict, Verdict::Reachable);
        assert_eq!(j.diagnosis, Diagnosis::Ok);
        assert_eq!(j.latency_ms, Some(12.0));
    }

    #[test]
    fn dropped_connect_is_ip_blocked_only_when_network_up() {
        let a = failed_at(
            1,
            Stage::Nothing,
            Operation::TcpConnect,
            Failure::GenericTimeout,
        );
        let up = judge(&evidence(None, vec![a.clone()]), true);
        assert_eq!(up.diagnosis, Diagnosis::IpBlocked);
        assert_eq!(up.failed_operation, Some(Operation::TcpConnect));
        let down = judge(&evidence(None, vec![a]), false);
        assert_eq!(down.diagnosis, Diagnosis::Timeout);
    }

    #[test]
    fn tls_failure_with_working_control_is_sni_filtering() {
        let mut a = failed_at(
            1,
            Stage::Connected,
            Operation::TlsHandshake,
            Failure::ConnectionReset,
        );
        a.control_tls_ok = Some(true);
        assert_eq!(
            judge(&evidence(None, vec![a.clone()]), true).diagnosis,
            Diagnosis::SniFiltered
        );
        a.control_tls_ok = Some(false);
        assert_eq!(
            judge(&evidence(None, vec![a]), true).diagnosis,
            Diagnosis::ConnectionReset
        );
    }

    #[test]
    fn certificate_errors_are_not_sni_filtering() {
        let a = failed_at(
            1,
            Stage::Connected,
            Operation::TlsHandshake,
            Failure::SslUnknownAuthority,
        );
        let j = judge(&evidence(None, vec![a]), true);
        assert_eq!(j.diagnosis, Diagnosis::CertificateInvalid);
        assert_eq!(j.failure, Some(Failure::SslUnknownAuthority));
    }

    #[test]
    fn poisoned_system_answer_with_working_bootstrap() {
        let mut sys = failed_at(
            9,
            Stage::Nothing,
            Operation::TcpConnect,
            Failure::ConnectionRefused,
        );
        sys.from_lookup = true;
        sys.from_bootstrap = false;
        let e = evidence(Some(Ok(vec![addr(9).ip()])), vec![ok(1, 20.0), sys]);
        let j = judge(&e, true);
        assert_eq!(j.verdict, Verdict::Reachable);
        assert_eq!(j.diagnosis, Diagnosis::DnsPoisoned);
        // Same picture but the system address also works: not poisoned.
        let mut sys_ok = ok(9, 30.0);
        sys_ok.from_lookup = true;
        sys_ok.from_bootstrap = false;
        let e = evidence(Some(Ok(vec![addr(9).ip()])), vec![ok(1, 20.0), sys_ok]);
        assert_eq!(judge(&e, true).diagnosis, Diagnosis::Ok);
        // System resolver failing for a working resolver host counts too.
        let e = evidence(Some(Err(Failure::DnsNxdomain)), vec![ok(1, 20.0)]);
        assert_eq!(judge(&e, true).diagnosis, Diagnosis::DnsPoisoned);
    }

    #[test]
    fn unhelpful_lookup_is_not_called_poisoning() {
        // A lookup that timed out proves nothing about lies.
        let e = evidence(Some(Err(Failure::GenericTimeout)), vec![ok(1, 20.0)]);
        let j = judge(&e, true);
        assert_eq!(j.diagnosis, Diagnosis::Ok);
        assert!(j.notes.iter().any(|n| n.contains("known address")), "{j:?}");
        // Looked-up IPv6 addresses with no route here are not a lie either.
        let mut v6 = failed_at(
            9,
            Stage::Nothing,
            Operation::TcpConnect,
            Failure::NetworkUnreachable,
        );
        v6.from_lookup = true;
        v6.from_bootstrap = false;
        let e = evidence(Some(Ok(vec![addr(9).ip()])), vec![ok(1, 20.0), v6]);
        assert_eq!(judge(&e, true).diagnosis, Diagnosis::Ok);
    }

    #[test]
    fn bogon_answer_for_a_public_host_is_poisoning() {
        let e = Evidence::DnsResolver(ResolverEvidence {
            system: Some(Ok(vec!["10.10.34.34".parse().unwrap()])),
            plain: Vec::new(),
            bootstrap: vec!["9.9.9.9".parse().unwrap()],
            attempts: vec![ok(1, 20.0)],
        });
        assert_eq!(judge(&e, true).diagnosis, Diagnosis::DnsPoisoned);
    }

    #[test]
    fn exchange_failures_map_to_codes() {
        let mut a = attempt(1);
        a.reached = Stage::Exchanged;
        a.exchange = Some(Err(ExchangeFail::Lying(Operation::HttpRoundTrip)));
        assert_eq!(
            judge(&evidence(None, vec![a.clone()]), true).diagnosis,
            Diagnosis::LyingResolver
        );
        a.exchange = Some(Err(ExchangeFail::HttpStatus(Operation::HttpRoundTrip, 500)));
        let j = judge(&evidence(None, vec![a.clone()]), true);
        assert_eq!(j.diagnosis, Diagnosis::HttpError);
        assert_eq!(j.failure, Some(Failure::HttpUnexpectedStatusCode));
        a.exchange = Some(Err(ExchangeFail::Bad(
            Operation::DnsRoundTrip,
            Failure::DnsWrongQueryId,
        )));
        assert_eq!(
            judge(&evidence(None, vec![a.clone()]), true).diagnosis,
            Diagnosis::BadResponse
        );
        a.exchange = Some(Err(ExchangeFail::Transport(
            Operation::DnsRoundTrip,
            Failure::GenericTimeout,
        )));
        assert_eq!(
            judge(&evidence(None, vec![a]), true).diagnosis,
            Diagnosis::Timeout
        );
    }

    #[test]
    fn furthest_attempt_explains_failure() {
        let tcp = failed_at(
            1,
            Stage::Nothing,
            Operation::TcpConnect,
            Failure::GenericTimeout,
        );
        let tls = failed_at(
            2,
            Stage::Connected,
            Operation::TlsHandshake,
            Failure::SslInvalidHostname,
        );
        let j = judge(&evidence(None, vec![tcp, tls]), true);
        assert_eq!(j.diagnosis, Diagnosis::CertificateInvalid);
    }

    #[test]
    fn nothing_to_try_is_resolve_failed() {
        let j = judge(&evidence(Some(Err(Failure::DnsNxdomain)), vec![]), true);
        assert_eq!(j.diagnosis, Diagnosis::ResolveFailed);
        assert_eq!(j.failed_operation, Some(Operation::Resolve));
        assert_eq!(j.failure, Some(Failure::DnsNxdomain));
    }

    #[test]
    fn missing_ipv6_route_does_not_hide_a_dropped_ipv4() {
        let v4 = failed_at(
            1,
            Stage::Nothing,
            Operation::TcpConnect,
            Failure::GenericTimeout,
        );
        let v6 = failed_at(
            2,
            Stage::Nothing,
            Operation::TcpConnect,
            Failure::NetworkUnreachable,
        );
        assert_eq!(
            judge(&evidence(None, vec![v6, v4]), true).diagnosis,
            Diagnosis::IpBlocked
        );
    }

    #[test]
    fn icmp_and_refused() {
        let a = failed_at(
            1,
            Stage::Nothing,
            Operation::TcpConnect,
            Failure::HostUnreachable,
        );
        assert_eq!(
            judge(&evidence(None, vec![a]), true).diagnosis,
            Diagnosis::HostUnreachable
        );
        let a = failed_at(
            1,
            Stage::Nothing,
            Operation::TcpConnect,
            Failure::ConnectionRefused,
        );
        assert_eq!(
            judge(&evidence(None, vec![a]), true).diagnosis,
            Diagnosis::ConnectionRefused
        );
    }
}
