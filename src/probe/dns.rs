//! DNS messages for probing: build a query, validate the answer.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::measurement::Failure;

/// Largest DNS message any transport can carry; anything bigger is garbage.
pub const MAX_MESSAGE: usize = 65_535;

/// A query we sent, kept to check the answer against.
#[derive(Debug, Clone)]
pub struct SentQuery {
    pub id: u16,
    pub name: Name,
    pub qtype: RecordType,
    pub wire: Vec<u8>,
}

/// Builds a recursive query for `name`/`qtype` with the given ID.
pub fn build_query(name: &str, qtype: RecordType, id: u16) -> Result<SentQuery, Failure> {
    let mut fqdn =
        Name::from_ascii(name).map_err(|e| Failure::Unknown(format!("bad probe name: {e}")))?;
    fqdn.set_fqdn(true);
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(fqdn.clone(), qtype));
    let wire = msg
        .to_vec()
        .map_err(|e| Failure::Unknown(format!("cannot encode query: {e}")))?;
    Ok(SentQuery {
        id,
        name: fqdn,
        qtype,
        wire,
    })
}

/// A random label under `base`, for the "does it invent answers" check.
pub fn random_name(base: &str) -> String {
    let n: u64 = rand::random();
    format!("bsnx-{n:016x}.{}", base.trim_end_matches('.'))
}

/// What an answer says once it is known to belong to our query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rcode: ResponseCode,
    /// Addresses and names in the answer section, for the step detail.
    pub records: Vec<String>,
}

impl Answer {
    pub fn summary(&self) -> String {
        if self.records.is_empty() {
            format!("{} (no records)", self.rcode)
        } else {
            format!("{} {}", self.rcode, self.records.join(" "))
        }
    }
}

/// Parses `wire` and checks it answers `sent`: a response, same ID, same
/// question. Returns what it says; the caller decides if that is right.
pub fn parse_answer(sent: &SentQuery, wire: &[u8]) -> Result<Answer, Failure> {
    if wire.len() > MAX_MESSAGE {
        return Err(Failure::DnsServerMisbehaving);
    }
    let msg = Message::from_vec(wire).map_err(|_| Failure::DnsServerMisbehaving)?;
    if msg.metadata.message_type != MessageType::Response {
        return Err(Failure::DnsServerMisbehaving);
    }
    if msg.metadata.id != sent.id {
        return Err(Failure::DnsWrongQueryId);
    }
    // Name equality is case-insensitive: resolvers may use 0x20 encoding.
    let question_ok = msg.queries.len() == 1
        && msg.queries[0].name() == &sent.name
        && msg.queries[0].query_type() == sent.qtype;
    if !question_ok {
        return Err(Failure::DnsServerMisbehaving);
    }
    let records = msg
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            RData::CNAME(c) => Some(format!("CNAME {}", c.0)),
            _ => None,
        })
        .collect();
    Ok(Answer {
        rcode: msg.metadata.response_code,
        records,
    })
}

/// The probe name must resolve: NOERROR with at least one record.
pub fn check_probe_answer(answer: &Answer) -> Result<(), Failure> {
    match answer.rcode {
        ResponseCode::NoError if !answer.records.is_empty() => Ok(()),
        ResponseCode::NoError => Err(Failure::DnsNoAnswer),
        ResponseCode::NXDomain => Err(Failure::DnsNxdomain),
        ResponseCode::ServFail => Err(Failure::DnsServfail),
        ResponseCode::Refused => Err(Failure::DnsRefused),
        _ => Err(Failure::DnsServerMisbehaving),
    }
}

/// Outcome of the nonexistent-name check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NxCheck {
    /// NXDOMAIN, as it must be.
    Honest,
    /// No records but no NXDOMAIN either (NODATA, SERVFAIL): not lying,
    /// worth a note.
    Inconclusive,
    /// Records for a name that cannot exist.
    Lying,
}

pub fn check_nx_answer(answer: &Answer) -> NxCheck {
    if answer.rcode == ResponseCode::NXDomain {
        NxCheck::Honest
    } else if answer.records.is_empty() {
        NxCheck::Inconclusive
    } else {
        NxCheck::Lying
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::A;

    fn reply(sent: &SentQuery, id: u16, rcode: ResponseCode, addrs: &[[u8; 4]]) -> Vec<u8> {
        let mut msg = Message::response(id, OpCode::Query);
        msg.metadata.response_code = rcode;
        msg.add_query(Query::query(sent.name.clone(), sent.qtype));
        for a in addrs {
            msg.add_answer(Record::from_rdata(
                sent.name.clone(),
                60,
                RData::A(A::new(a[0], a[1], a[2], a[3])),
            ));
        }
        msg.to_vec().unwrap()
    }

    #[test]
    fn accepts_matching_answer() {
        let q = build_query("example.com", RecordType::A, 0x1234).unwrap();
        let a = parse_answer(
            &q,
            &reply(&q, 0x1234, ResponseCode::NoError, &[[192, 0, 2, 1]]),
        )
        .unwrap();
        assert_eq!(a.records, vec!["192.0.2.1".to_string()]);
        assert!(check_probe_answer(&a).is_ok());
        assert_eq!(check_nx_answer(&a), NxCheck::Lying);
    }

    #[test]
    fn rejects_wrong_id_and_question_and_garbage() {
        let q = build_query("example.com", RecordType::A, 7).unwrap();
        assert_eq!(
            parse_answer(&q, &reply(&q, 8, ResponseCode::NoError, &[])),
            Err(Failure::DnsWrongQueryId)
        );
        let other = build_query("example.net", RecordType::A, 7).unwrap();
        assert_eq!(
            parse_answer(&q, &reply(&other, 7, ResponseCode::NoError, &[])),
            Err(Failure::DnsServerMisbehaving)
        );
        assert_eq!(
            parse_answer(&q, b"not dns at all"),
            Err(Failure::DnsServerMisbehaving)
        );
        // Our own query echoed back is not a response.
        assert_eq!(
            parse_answer(&q, &q.wire),
            Err(Failure::DnsServerMisbehaving)
        );
    }

    #[test]
    fn nx_and_empty_answers() {
        let q = build_query(&random_name("example.com"), RecordType::A, 1).unwrap();
        let nx = parse_answer(&q, &reply(&q, 1, ResponseCode::NXDomain, &[])).unwrap();
        assert_eq!(check_nx_answer(&nx), NxCheck::Honest);
        assert_eq!(check_probe_answer(&nx), Err(Failure::DnsNxdomain));
        let empty = parse_answer(&q, &reply(&q, 1, ResponseCode::NoError, &[])).unwrap();
        assert_eq!(check_nx_answer(&empty), NxCheck::Inconclusive);
        assert_eq!(check_probe_answer(&empty), Err(Failure::DnsNoAnswer));
        let sf = parse_answer(&q, &reply(&q, 1, ResponseCode::ServFail, &[])).unwrap();
        assert_eq!(check_probe_answer(&sf), Err(Failure::DnsServfail));
    }

    #[test]
    fn random_names_differ() {
        assert_ne!(random_name("example.com"), random_name("example.com"));
        assert!(random_name("example.com.").ends_with(".example.com"));
    }
}
