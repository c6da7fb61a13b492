//! AmneziaWG's changes to WireGuard's wire format, applied around an
//! unmodified Noise implementation (boringtun):
//!
//! * before each initiation, `Jc` junk datagrams of `Jmin..=Jmax` random bytes;
//! * handshake initiation / response / cookie reply / transport data are
//!   prefixed with S1 / S2 / S3 / S4 random bytes and carry message type
//!   H1 / H2 / H3 / H4 (a value from the range, in AWG 2.0) instead of 1–4.
//!
//! WireGuard's `mac1` covers the message bytes before it, type field
//! included, so a retyped handshake message needs a new `mac1`: outgoing
//! with the server's key (what an AmneziaWG server checks), incoming
//! checked as received (type H2, our own key) and only then restored to
//! type 2 with a `mac1` boringtun accepts. Transport messages carry no MAC
//! over the header, so their type is just swapped.
//!
//! With no AmneziaWG parameters every function here is the identity, apart
//! from classifying what came in.

use blake2::digest::consts::U16;
use blake2::digest::{FixedOutput, KeyInit, Update};
use blake2::{Blake2s256, Blake2sMac, Digest};

use crate::catalog::wireguard::AwgParams;

#[cfg(test)]
const INITIATION_LEN: usize = 148;
const RESPONSE_LEN: usize = 92;
const COOKIE_LEN: usize = 64;
/// Header (type, receiver, counter) plus the AEAD tag of an empty payload.
const DATA_MIN_LEN: usize = 32;

const TYPE_INITIATION: u32 = 1;
const TYPE_RESPONSE: u32 = 2;
const TYPE_COOKIE: u32 = 3;
const TYPE_DATA: u32 = 4;

const LABEL_MAC1: &[u8] = b"mac1----";

/// The `mac1` key for messages sent to the owner of `public`:
/// BLAKE2s-256("mac1----" || public).
pub fn mac1_key(public: &[u8; 32]) -> [u8; 32] {
    let mut h = Blake2s256::new();
    Digest::update(&mut h, LABEL_MAC1);
    Digest::update(&mut h, public);
    h.finalize().into()
}

/// Keyed BLAKE2s-128 of `data` (WireGuard's MAC).
pub fn mac(key: &[u8; 32], data: &[u8]) -> [u8; 16] {
    // A 32-byte key is always valid for BLAKE2s; the fallback is unreachable.
    match <Blake2sMac<U16> as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize_fixed().into()
        }
        Err(_) => [0; 16],
    }
}

/// Whether `mac1` of a handshake message (the 16 bytes that start 32 bytes
/// before its end) is right for its current contents and `key`.
pub fn mac1_ok(msg: &[u8], key: &[u8; 32]) -> bool {
    let Some(at) = msg.len().checked_sub(32) else {
        return false;
    };
    let want = mac(key, &msg[..at]);
    // Constant time, as boringtun compares it.
    want.iter()
        .zip(&msg[at..at + 16])
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Rewrites `mac1` of a handshake message in place (the 16 bytes that
/// start 32 bytes before its end) for its current contents.
pub fn set_mac1(msg: &mut [u8], key: &[u8; 32]) {
    let Some(at) = msg.len().checked_sub(32) else {
        return;
    };
    let m = mac(key, &msg[..at]);
    msg[at..at + 16].copy_from_slice(&m);
}

fn msg_type(msg: &[u8]) -> Option<u32> {
    let b: [u8; 4] = msg.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

fn set_type(msg: &mut [u8], t: u32) {
    if let Some(b) = msg.get_mut(..4) {
        b.copy_from_slice(&t.to_le_bytes());
    }
}

/// A datagram from the server, de-obfuscated to plain WireGuard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A handshake response whose `mac1` is right for our key.
    Response(Vec<u8>),
    /// Shaped like a handshake response, but its `mac1` is not for our
    /// key: not from a server that knows us (a stray, or forged at our
    /// index, which anyone on the path can see).
    Unverified,
    Cookie(Vec<u8>),
    Data(Vec<u8>),
    /// Nothing WireGuard (or this AmneziaWG) would accept.
    Other,
}

/// Obfuscation for one peer: the parameters and both `mac1` keys.
pub struct Awg {
    params: Option<AwgParams>,
    /// For initiations we send: keyed with the server's public key.
    to_server: [u8; 32],
    /// For responses we receive: keyed with our own public key.
    to_us: [u8; 32],
}

impl Awg {
    pub fn new(params: Option<AwgParams>, server_public: &[u8; 32], own_public: &[u8; 32]) -> Awg {
        Awg {
            params,
            to_server: mac1_key(server_public),
            to_us: mac1_key(own_public),
        }
    }

    pub fn is_amnezia(&self) -> bool {
        self.params.is_some()
    }

    /// Datagrams to send for one handshake initiation (`msg`, as boringtun
    /// formatted it): junk packets first, then the padded, retyped message.
    pub fn initiation(&self, msg: &[u8]) -> Vec<Vec<u8>> {
        let Some(p) = &self.params else {
            return vec![msg.to_vec()];
        };
        let mut out = Vec::with_capacity(usize::from(p.jc) + 1);
        for _ in 0..p.jc {
            let len = rand::random_range(p.jmin..=p.jmax.max(p.jmin));
            out.push(random_bytes(usize::from(len)));
        }
        let mut m = msg.to_vec();
        set_type(&mut m, pick(p, 0));
        set_mac1(&mut m, &self.to_server);
        out.push(padded(p.s1, &m));
        out
    }

    /// A transport message (keepalive or data) as it goes on the wire.
    pub fn data(&self, msg: &[u8]) -> Vec<u8> {
        let Some(p) = &self.params else {
            return msg.to_vec();
        };
        let mut m = msg.to_vec();
        set_type(&mut m, pick(p, 3));
        padded(p.s4, &m)
    }

    /// Classifies a datagram from the server and undoes the obfuscation,
    /// in the order an AmneziaWG peer checks: response, cookie, data.
    pub fn incoming(&self, dgram: &[u8]) -> Incoming {
        let d = AwgParams::default();
        let p = self.params.as_ref().unwrap_or(&d);
        let typed = |pad: u16, len: Option<usize>, which: usize| -> Option<Vec<u8>> {
            let msg = dgram.get(usize::from(pad)..)?;
            match len {
                Some(l) if msg.len() != l => return None,
                None if msg.len() < DATA_MIN_LEN => return None,
                _ => {}
            }
            let t = msg_type(msg)?;
            if t < p.h[which] || t > p.h_end[which] {
                return None;
            }
            let mut m = msg.to_vec();
            set_type(
                &mut m,
                [TYPE_INITIATION, TYPE_RESPONSE, TYPE_COOKIE, TYPE_DATA][which],
            );
            Some(m)
        };
        if let Some(mut m) = typed(p.s2, Some(RESPONSE_LEN), 1) {
            // Checked on the bytes as received, before the retype: once we
            // recompute it, boringtun's own check would pass anything.
            let as_received = dgram.get(usize::from(p.s2)..).unwrap_or_default();
            if !mac1_ok(as_received, &self.to_us) {
                return Incoming::Unverified;
            }
            if self.params.is_some() {
                set_mac1(&mut m, &self.to_us);
            }
            return Incoming::Response(m);
        }
        if let Some(m) = typed(p.s3, Some(COOKIE_LEN), 2) {
            return Incoming::Cookie(m);
        }
        if let Some(m) = typed(p.s4, None, 3) {
            return Incoming::Data(m);
        }
        Incoming::Other
    }
}

/// A message type for slot `i` (0: initiation … 3: data) from its range.
fn pick(p: &AwgParams, i: usize) -> u32 {
    let (a, b) = (p.h[i], p.h_end[i]);
    if a >= b { a } else { rand::random_range(a..=b) }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::fill(&mut v[..]);
    v
}

fn padded(pad: u16, msg: &[u8]) -> Vec<u8> {
    let mut v = random_bytes(usize::from(pad));
    v.extend_from_slice(msg);
    v
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use boringtun::noise::rate_limiter::RateLimiter;
    use boringtun::noise::{Tunn, TunnResult};
    use boringtun::x25519::{PublicKey, StaticSecret};

    use super::*;

    struct Pair {
        client: Tunn,
        server: Tunn,
        client_pub: [u8; 32],
        server_pub: [u8; 32],
    }

    fn pair() -> Pair {
        let cs = StaticSecret::from(rand::random::<[u8; 32]>());
        let ss = StaticSecret::from(rand::random::<[u8; 32]>());
        let (cp, sp) = (PublicKey::from(&cs), PublicKey::from(&ss));
        let client = Tunn::new(cs, sp, None, None, 1, None);
        let server = Tunn::new(ss, cp, None, None, 2, None);
        Pair {
            client,
            server,
            client_pub: *cp.as_bytes(),
            server_pub: *sp.as_bytes(),
        }
    }

    fn initiation(t: &mut Tunn) -> Vec<u8> {
        let mut buf = vec![0u8; 256];
        match t.format_handshake_initiation(&mut buf, true) {
            TunnResult::WriteToNetwork(m) => m.to_vec(),
            other => panic!("{other:?}"),
        }
    }

    fn params() -> AwgParams {
        AwgParams {
            jc: 3,
            jmin: 10,
            jmax: 50,
            s1: 15,
            s2: 68,
            s3: 0,
            s4: 0,
            h: [1_234_567, 2_345_678, 3_456_789, 4_567_890],
            h_end: [1_234_567, 2_345_678, 3_456_789, 4_567_890],
            not_imitated: vec![],
        }
    }

    /// boringtun computed mac1 itself: our MAC must give the same bytes.
    #[test]
    fn mac1_matches_boringtun() {
        let mut p = pair();
        let msg = initiation(&mut p.client);
        assert_eq!(msg.len(), INITIATION_LEN);
        let key = mac1_key(&p.server_pub);
        assert_eq!(&msg[116..132], &mac(&key, &msg[..116]));
        let mut again = msg.clone();
        again[116..132].fill(0);
        set_mac1(&mut again, &key);
        assert_eq!(again, msg);
    }

    #[test]
    fn plain_wireguard_is_untouched() {
        let mut p = pair();
        let a = Awg::new(None, &p.server_pub, &p.client_pub);
        let msg = initiation(&mut p.client);
        assert_eq!(a.initiation(&msg), vec![msg.clone()]);
        assert_eq!(a.data(&[4, 0, 0, 0, 9]), vec![4, 0, 0, 0, 9]);
        assert_eq!(a.incoming(&msg), Incoming::Other);
        let mut resp = vec![0u8; RESPONSE_LEN];
        resp[0] = 2;
        assert_eq!(a.incoming(&resp), Incoming::Unverified, "mac1 not ours");
        set_mac1(&mut resp, &mac1_key(&p.client_pub));
        assert_eq!(a.incoming(&resp), Incoming::Response(resp.clone()));
        let mut data = vec![0u8; 48];
        data[0] = 4;
        assert_eq!(a.incoming(&data), Incoming::Data(data.clone()));
        assert_eq!(a.incoming(&data[..20]), Incoming::Other);
    }

    /// A full handshake through the transforms, with boringtun as the
    /// server after the server side's own de-obfuscation.
    #[test]
    fn obfuscated_handshake_verifies_on_both_sides() {
        let mut p = pair();
        let prm = params();
        let a = Awg::new(Some(prm.clone()), &p.server_pub, &p.client_pub);
        let msg = initiation(&mut p.client);
        let sent = a.initiation(&msg);
        assert_eq!(sent.len(), 4, "3 junk + initiation");
        for j in &sent[..3] {
            assert!((10..=50).contains(&j.len()), "{}", j.len());
        }
        let wire = &sent[3];
        assert_eq!(wire.len(), 15 + INITIATION_LEN);
        let body = &wire[15..];
        assert_eq!(msg_type(body), Some(1_234_567));
        assert_eq!(&body[4..116], &msg[4..116], "only type and mac1 change");
        // What an AmneziaWG server checks: mac1 over the retyped bytes.
        let server_key = mac1_key(&p.server_pub);
        assert_eq!(&body[116..132], &mac(&server_key, &body[..116]));
        // A plain server rejects it (wrong type) …
        let mut out = vec![0u8; 2048];
        assert!(matches!(
            p.server.decapsulate(None, body, &mut out),
            TunnResult::Err(_)
        ));
        // … and accepts it once the server undoes the transform.
        let mut plain = body.to_vec();
        set_type(&mut plain, 1);
        set_mac1(&mut plain, &server_key);
        assert_eq!(plain, msg);
        let resp = match p.server.decapsulate(None, &plain, &mut out) {
            TunnResult::WriteToNetwork(r) => r.to_vec(),
            other => panic!("{other:?}"),
        };
        // Server side obfuscation of the response: H2, S2, mac1 for us.
        let mut r = resp.clone();
        set_type(&mut r, 2_345_678);
        set_mac1(&mut r, &mac1_key(&p.client_pub));
        let mut wire = random_bytes(68);
        wire.extend_from_slice(&r);
        let Incoming::Response(back) = a.incoming(&wire) else {
            panic!("not classified as a response");
        };
        assert_eq!(back, resp);
        match p.client.decapsulate(None, &back, &mut out) {
            TunnResult::WriteToNetwork(k) => assert_eq!(msg_type(k), Some(4)),
            other => panic!("{other:?}"),
        }
        // Wrong padding length or wrong type: not a response.
        assert_eq!(a.incoming(&wire[1..]), Incoming::Other);
        let mut bad = wire.clone();
        bad[68] ^= 1;
        assert_eq!(a.incoming(&bad), Incoming::Other);
        // Right shape, type and size, but mac1 not for our key (a forgery
        // at our index, or mac1 for the restored type 2): never a response.
        let mut forged = wire.clone();
        forged[68 + 60] ^= 1;
        assert_eq!(a.incoming(&forged), Incoming::Unverified);
        let mut typed2 = r.clone();
        set_type(&mut typed2, 2);
        set_mac1(&mut typed2, &mac1_key(&p.client_pub));
        set_type(&mut typed2, 2_345_678);
        let mut wire2 = random_bytes(68);
        wire2.extend_from_slice(&typed2);
        assert_eq!(a.incoming(&wire2), Incoming::Unverified);
    }

    #[test]
    fn data_messages_swap_type_and_padding() {
        let mut prm = params();
        prm.s4 = 7;
        prm.h[3] = 100;
        prm.h_end[3] = 200;
        let a = Awg::new(Some(prm), &[1; 32], &[2; 32]);
        let mut msg = vec![0u8; 48];
        msg[0] = 4;
        msg[4] = 0xaa;
        let w = a.data(&msg);
        assert_eq!(w.len(), 7 + 48);
        let t = msg_type(&w[7..]).unwrap();
        assert!((100..=200).contains(&t), "{t}");
        assert_eq!(&w[11..], &msg[4..]);
        assert_eq!(a.incoming(&w), Incoming::Data(msg));
    }

    #[test]
    fn ranges_pick_inside_and_garbage_is_other() {
        let mut prm = params();
        prm.h_end[0] = prm.h[0] + 10;
        for _ in 0..50 {
            let t = pick(&prm, 0);
            assert!((prm.h[0]..=prm.h[0] + 10).contains(&t));
        }
        let a = Awg::new(Some(prm), &[1; 32], &[2; 32]);
        for n in [0, 1, 3, 4, 31, 68, 91, 92, 160, 1500] {
            let _ = a.incoming(&random_bytes(n));
        }
        assert_eq!(a.incoming(&[]), Incoming::Other);
    }

    #[test]
    fn own_rate_limiter_key_checks_our_mac1() {
        // The probe gives boringtun a rate limiter keyed with our public
        // key; it must accept exactly what `set_mac1(to_us)` produces.
        let cs = StaticSecret::from([7u8; 32]);
        let cp = PublicKey::from(&cs);
        let rl = Arc::new(RateLimiter::new(&cp, u64::MAX));
        let mut buf = vec![0u8; 64];
        let mut resp = vec![0u8; RESPONSE_LEN];
        resp[0] = 2;
        set_mac1(&mut resp, &mac1_key(cp.as_bytes()));
        assert!(rl.verify_packet(None, &resp, &mut buf).is_ok());
        resp[5] ^= 1;
        assert!(rl.verify_packet(None, &resp, &mut buf).is_err());
    }
}
