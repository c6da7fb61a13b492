use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::format;
use super::*;
use crate::catalog::Origin;
use crate::measurement::{EndpointInfo, Verdict};

fn m(kind: EndpointKind, ok: bool, diagnosis: Diagnosis) -> Measurement {
    Measurement {
        schema_version: crate::measurement::SCHEMA_VERSION,
        id: 0,
        endpoint: EndpointInfo {
            kind,
            label: format!("{kind}"),
            address: "192.0.2.1:443".into(),
            origin: Origin::Builtin,
        },
        start_time: "2026-03-01T12:00:00.000Z".into(),
        runtime: 0.1,
        steps: Vec::new(),
        verdict: if ok {
            Verdict::Reachable
        } else {
            Verdict::Failed
        },
        diagnosis: if ok { Diagnosis::Ok } else { diagnosis },
        failure: None,
        failed_operation: None,
        latency_ms: None,
        notes: Vec::new(),
        data_test: None,
        clock_skew_s: None,
        bootstrap: None,
    }
}

fn ok(kind: EndpointKind) -> Measurement {
    m(kind, true, Diagnosis::Ok)
}

fn bad(kind: EndpointKind, d: Diagnosis) -> Measurement {
    m(kind, false, d)
}

/// Round `i` starts at 12:00 + 5 minutes · i.
fn t(i: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_772_366_400 + 300 * i)
}

fn run(rounds: &[Vec<Measurement>]) -> (Tracker, Vec<RoundUpdate>) {
    let mut tr = Tracker::new();
    let ups = rounds
        .iter()
        .enumerate()
        .map(|(i, r)| tr.push(t(i as u64), r))
        .collect();
    (tr, ups)
}

use EndpointKind::{Doh, Dot, Obfs4};

#[test]
fn method_works_with_one_reachable_endpoint_and_reason_is_most_common() {
    let s = method_statuses(&[
        ok(Doh),
        bad(Doh, Diagnosis::Timeout),
        bad(Obfs4, Diagnosis::ConnectionReset),
        bad(Obfs4, Diagnosis::Timeout),
        bad(Obfs4, Diagnosis::ConnectionReset),
    ]);
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].kind, s[0].working, s[0].tested, s[0].works),
        (Doh, 1, 2, true)
    );
    assert_eq!(s[0].reason, None);
    assert_eq!(
        (s[1].kind, s[1].working, s[1].tested, s[1].works),
        (Obfs4, 0, 3, false)
    );
    assert_eq!(s[1].reason, Some(Diagnosis::ConnectionReset));
}

#[test]
fn untestable_endpoints_are_left_out() {
    let s = method_statuses(&[bad(Obfs4, Diagnosis::PtMissing), ok(Doh)]);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].kind, Doh);
}

#[test]
fn down_then_up_gives_events_and_a_closed_outage() {
    let (tr, ups) = run(&[
        vec![ok(Doh), ok(Dot)],
        vec![ok(Doh), bad(Dot, Diagnosis::Timeout)],
        vec![ok(Doh), bad(Dot, Diagnosis::ConnectionReset)],
        vec![ok(Doh), bad(Dot, Diagnosis::ConnectionReset)],
        vec![ok(Doh), ok(Dot)],
    ]);
    assert!(ups[0].events.is_empty());
    assert_eq!(
        ups[1].events,
        vec![WatchEvent::MethodDown {
            kind: Dot,
            at: stamp(t(1)),
            round: 1,
            reason: Some(Diagnosis::Timeout),
            last_working: Some(stamp(t(0))),
        }]
    );
    assert!(ups[2].events.is_empty() && ups[3].events.is_empty());
    assert_eq!(
        ups[4].events,
        vec![WatchEvent::MethodUp {
            kind: Dot,
            at: stamp(t(4)),
            round: 4,
            down_since: stamp(t(1)),
            duration_s: 900.0,
        }]
    );
    let o = &tr.outages()[0];
    assert_eq!(tr.outages().len(), 1);
    assert_eq!(o.kind, Some(Dot));
    assert_eq!(o.start, stamp(t(1)));
    assert_eq!(o.end.as_deref(), Some(stamp(t(4)).as_str()));
    assert_eq!(o.last_working, Some(stamp(t(0))));
    assert_eq!(o.last_failed, stamp(t(3)));
    assert_eq!(o.rounds, 3);
    assert_eq!(o.duration_s, 900.0);
    assert_eq!(o.reason, Some(Diagnosis::ConnectionReset));
    assert!(!o.ongoing());
    assert!(tr.shutdowns().is_empty());
}

#[test]
fn ongoing_outage_has_no_end_and_grows() {
    let (tr, _) = run(&[
        vec![ok(Doh), ok(Obfs4)],
        vec![ok(Doh), bad(Obfs4, Diagnosis::Timeout)],
        vec![ok(Doh), bad(Obfs4, Diagnosis::Timeout)],
    ]);
    let r = tr.report();
    assert_eq!(r.rounds, 3);
    assert_eq!(r.outages.len(), 1);
    assert!(r.outages[0].ongoing());
    assert_eq!(r.outages[0].end, None);
    assert_eq!(r.outages[0].duration_s, 300.0);
    assert_eq!(r.outages[0].rounds, 2);
    assert_eq!(r.events.len(), 1);
    // JSON shows the open end as null.
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["outages"][0]["end"].is_null());
    assert_eq!(json["events"][0]["event"], "method_down");
    assert_eq!(json["events"][0]["kind"], "obfs4");
}

#[test]
fn failing_from_the_start_is_down_without_last_working() {
    let (tr, ups) = run(&[vec![ok(Doh), bad(Obfs4, Diagnosis::ConnectionReset)]]);
    assert!(matches!(
        &ups[0].events[..],
        [WatchEvent::MethodDown {
            kind: Obfs4,
            last_working: None,
            round: 0,
            ..
        }]
    ));
    assert_eq!(tr.outages()[0].last_working, None);
}

#[test]
fn flapping_gives_one_outage_per_dip() {
    let mut rounds = Vec::new();
    for i in 0..6 {
        rounds.push(if i % 2 == 0 {
            vec![ok(Doh)]
        } else {
            vec![bad(Doh, Diagnosis::Timeout), ok(Dot)]
        });
    }
    let (tr, _) = run(&rounds);
    let downs = tr
        .events()
        .iter()
        .filter(|e| matches!(e, WatchEvent::MethodDown { kind: Doh, .. }))
        .count();
    let ups = tr
        .events()
        .iter()
        .filter(|e| matches!(e, WatchEvent::MethodUp { kind: Doh, .. }))
        .count();
    assert_eq!((downs, ups), (3, 2));
    let doh: Vec<&Outage> = tr
        .outages()
        .iter()
        .filter(|o| o.kind == Some(Doh))
        .collect();
    assert_eq!(doh.len(), 3);
    assert!(
        doh[..2]
            .iter()
            .all(|o| o.rounds == 1 && o.duration_s == 300.0)
    );
    assert!(doh[2].ongoing());
    // A method missing from a round keeps its state: Dot never went down.
    assert!(tr.outages().iter().all(|o| o.kind != Some(Dot)));
    // Events are in time order.
    let times: Vec<&str> = tr.events().iter().map(WatchEvent::at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn everything_down_is_a_shutdown_until_anything_works() {
    let (tr, ups) = run(&[
        vec![ok(Doh), ok(Obfs4)],
        vec![bad(Doh, Diagnosis::Timeout), bad(Obfs4, Diagnosis::Timeout)],
        vec![bad(Doh, Diagnosis::Timeout), bad(Obfs4, Diagnosis::Timeout)],
        vec![bad(Doh, Diagnosis::Timeout), ok(Obfs4)],
        vec![ok(Doh), ok(Obfs4)],
    ]);
    assert!(ups[1].summary.all_down);
    assert!(ups[1].events.contains(&WatchEvent::AllDown {
        at: stamp(t(1)),
        round: 1
    }));
    assert!(!ups[3].summary.all_down);
    assert!(ups[3].events.contains(&WatchEvent::AllUp {
        at: stamp(t(3)),
        round: 3,
        down_since: stamp(t(1)),
        duration_s: 600.0,
    }));
    let s = tr.shutdowns();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].kind, None);
    assert_eq!(s[0].last_working, Some(stamp(t(0))));
    assert_eq!(s[0].end, Some(stamp(t(3))));
    assert_eq!(s[0].rounds, 2);
    assert_eq!(s[0].reason, Some(Diagnosis::Timeout));
    // DoH's own outage lasts one round longer.
    let doh = tr.outages().iter().find(|o| o.kind == Some(Doh)).unwrap();
    assert_eq!(doh.end, Some(stamp(t(4))));
}

#[test]
fn one_method_alone_is_never_everything() {
    let (tr, ups) = run(&[vec![ok(Doh)], vec![bad(Doh, Diagnosis::Timeout)]]);
    assert!(!ups[1].summary.all_down);
    assert!(tr.shutdowns().is_empty());
    assert_eq!(tr.events().len(), 1);
}

#[test]
fn empty_rounds_change_nothing() {
    let (tr, ups) = run(&[vec![ok(Doh)], vec![], vec![ok(Doh)]]);
    assert!(!ups[1].summary.all_down);
    assert!(tr.events().is_empty());
    assert_eq!(tr.rounds(), 3);
}

#[test]
fn analyze_matches_tracker_and_round_trips_through_json() {
    let rounds = [
        vec![ok(Doh)],
        vec![bad(Doh, Diagnosis::IpBlocked)],
        vec![ok(Doh)],
    ];
    let report = analyze(
        rounds
            .iter()
            .enumerate()
            .map(|(i, r)| (t(i as u64), r.as_slice())),
    );
    let (tr, _) = run(&rounds);
    assert_eq!(report, tr.report());
    let json = serde_json::to_string(&report).unwrap();
    let back: WatchReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn text_lines_read_without_colour() {
    let (tr, ups) = run(&[
        vec![ok(Doh), ok(Doh), bad(Obfs4, Diagnosis::ConnectionReset)],
        vec![
            bad(Doh, Diagnosis::Timeout),
            bad(Obfs4, Diagnosis::ConnectionReset),
        ],
        vec![ok(Doh), bad(Obfs4, Diagnosis::ConnectionReset)],
    ]);
    assert_eq!(
        format::round_line(&ups[0].summary),
        "12:00:00 DoH 2/2 ✔ · obfs4 0/1 ✘ (connection_reset)"
    );
    assert!(format::round_line(&ups[1].summary).ends_with("[everything down]"));
    let up = format::event_line(&ups[2].events[0]);
    assert_eq!(
        up,
        "12:10:00 ▲ DoH works again; outage 2026-03-01 12:05:00Z – 2026-03-01 12:10:00Z (5m 0s)"
    );
    let summary = format::summary(&tr.report());
    assert!(summary.contains("Watched 3 rounds"), "{summary}");
    assert!(
        summary.contains("obfs4: 2026-03-01 12:00:00Z – ongoing"),
        "{summary}"
    );
    assert_eq!(format::duration(59.6), "1m 0s");
    assert_eq!(format::duration(90_000.0), "1d 1h");
}
