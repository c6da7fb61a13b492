//! Control-channel wrapping: none, tls-auth (HMAC) or tls-crypt(-v2)
//! (AES-256-CTR + HMAC-SHA256), as OpenVPN 2.x puts it on the wire
//! (ssl_pkt.c, tls_crypt.c, crypto.c).
//!
//! The 256-byte static key is two `struct key {cipher[64]; hmac[64]}`:
//! bytes 0..64 cipher 0, 64..128 HMAC 0, 128..192 cipher 1, 192..256 HMAC 1.
//! Key direction 0 ("normal") sends with key 0 and receives with key 1,
//! direction 1 ("inverse") the other way round, no direction uses key 0
//! both ways. tls-crypt clients always use the inverse direction (servers
//! the normal one), so `key-direction` does not apply to it.
//!
//! tls-auth on the wire: `op | sid | HMAC | packet-id | time | body`,
//! HMAC over `packet-id | time | op | sid | body` (OpenVPN signs the
//! replay fields first, then swaps op+sid to the front: `swap_hmac`).
//!
//! tls-crypt on the wire: `op | sid | packet-id | time | tag | ciphertext`;
//! tag = HMAC-SHA256 over `op | sid | packet-id | time | plaintext`, its
//! first 16 bytes are the CTR IV. tls-crypt-v2 appends the wrapped client
//! key (WKc) to the client's reset (and to `P_CONTROL_WKC_V1`).
//!
//! Keys live only here and are never printed: there is no `Debug`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aes::Aes256;
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};

use super::packet::{
    P_CONTROL_HARD_RESET_CLIENT_V3, P_CONTROL_WKC_V1, SessionId, header, split_header,
};
use crate::catalog::openvpn::{ControlWrap, OvpnProfile, STATIC_KEY_LEN};

/// The replay id a tls-crypt-v2 client starts from to announce early
/// negotiation (ssl_pkt.h EARLY_NEG_START; the first id sent is +1).
const EARLY_NEG_START: u32 = 0x0f00_0000;
const TAG_LEN: usize = 32;
/// op (1) + session id (8).
const OSID: usize = 9;
/// packet id (4) + time (4), OpenVPN's "long form".
const PID_LEN: usize = 8;

/// HMAC digests OpenVPN's `auth` may name for tls-auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

macro_rules! hmac_parts {
    ($t:ty, $key:expr, $parts:expr) => {{
        match <Hmac<$t> as Mac>::new_from_slice($key) {
            Ok(mut m) => {
                for p in $parts {
                    m.update(p);
                }
                m.finalize().into_bytes().to_vec()
            }
            // HMAC takes keys of any length; an empty tag never verifies.
            Err(_) => Vec::new(),
        }
    }};
}

impl Digest {
    /// From the catalog's canonical name.
    pub fn from_name(name: &str) -> Option<Digest> {
        Some(match name {
            "MD5" => Digest::Md5,
            "SHA1" => Digest::Sha1,
            "SHA224" => Digest::Sha224,
            "SHA256" => Digest::Sha256,
            "SHA384" => Digest::Sha384,
            "SHA512" => Digest::Sha512,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Digest::Md5 => "MD5",
            Digest::Sha1 => "SHA1",
            Digest::Sha224 => "SHA224",
            Digest::Sha256 => "SHA256",
            Digest::Sha384 => "SHA384",
            Digest::Sha512 => "SHA512",
        }
    }

    /// Output length, which is also the HMAC key length OpenVPN uses.
    pub fn output_len(self) -> usize {
        match self {
            Digest::Md5 => 16,
            Digest::Sha1 => 20,
            Digest::Sha224 => 28,
            Digest::Sha256 => 32,
            Digest::Sha384 => 48,
            Digest::Sha512 => 64,
        }
    }

    pub fn mac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Digest::Md5 => hmac_parts!(md5::Md5, key, parts),
            Digest::Sha1 => hmac_parts!(sha1::Sha1, key, parts),
            Digest::Sha224 => hmac_parts!(sha2::Sha224, key, parts),
            Digest::Sha256 => hmac_parts!(sha2::Sha256, key, parts),
            Digest::Sha384 => hmac_parts!(sha2::Sha384, key, parts),
            Digest::Sha512 => hmac_parts!(sha2::Sha512, key, parts),
        }
    }
}

/// Cipher and HMAC key of one direction of tls-crypt.
struct CryptKeys {
    cipher: [u8; 32],
    hmac: [u8; 32],
}

enum Mode {
    None,
    Auth {
        digest: Digest,
        send: Vec<u8>,
        recv: Vec<u8>,
        direction: Option<u8>,
    },
    Crypt {
        send: CryptKeys,
        recv: CryptKeys,
        /// tls-crypt-v2: the wrapped client key sent with the reset.
        wkc: Option<Vec<u8>>,
    },
}

/// A control packet after unwrapping and authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    pub opcode: u8,
    pub key_id: u8,
    pub sid: SessionId,
    pub body: Vec<u8>,
}

/// One session's wrapping: keys plus the replay-protection counter.
pub struct Wrap {
    mode: Mode,
    /// Replay id of the next packet we send (never 0: OpenVPN rejects it).
    next_pid: AtomicU32,
    /// Time field of every packet we send. OpenVPN keeps it fixed for a
    /// session; over TCP the server even requires ids 1, 2, 3… with one
    /// time value.
    time: u32,
}

/// The `n`-th 64-byte slice of a static key (0: cipher 0, 1: HMAC 0,
/// 2: cipher 1, 3: HMAC 1).
fn slice(key: &[u8], n: usize) -> &[u8] {
    key.get(n * 64..(n + 1) * 64).unwrap_or(&[])
}

fn first32(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Some(src) = s.get(..32) {
        out.copy_from_slice(src);
    }
    out
}

/// Keys of a tls-crypt client: it sends with key 1, receives with key 0.
fn crypt_keys(key: &[u8]) -> (CryptKeys, CryptKeys) {
    (
        CryptKeys {
            cipher: first32(slice(key, 2)),
            hmac: first32(slice(key, 3)),
        },
        CryptKeys {
            cipher: first32(slice(key, 0)),
            hmac: first32(slice(key, 1)),
        },
    )
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn ctr(key: &[u8; 32], iv: &[u8], data: &mut [u8]) -> bool {
    match Ctr128BE::<Aes256>::new_from_slices(key, iv.get(..16).unwrap_or(&[])) {
        Ok(mut c) => {
            c.apply_keystream(data);
            true
        }
        Err(_) => false,
    }
}

impl Wrap {
    /// The wrapping a profile asks for. Errors name the problem, never a key.
    pub fn new(profile: &OvpnProfile) -> Result<Wrap, String> {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(1);
        let mut next_pid = 1;
        let mode = match &profile.wrap {
            ControlWrap::None => Mode::None,
            ControlWrap::TlsAuth { key, direction } => {
                let key = key.expose();
                if key.len() != STATIC_KEY_LEN {
                    return Err("the tls-auth key is not 256 bytes".into());
                }
                let digest = Digest::from_name(&profile.auth_digest).ok_or_else(|| {
                    format!("auth {} is not supported for tls-auth", profile.auth_digest)
                })?;
                let (send, recv) = match direction {
                    None => (1, 1),
                    Some(0) => (1, 3),
                    Some(_) => (3, 1),
                };
                let n = digest.output_len();
                Mode::Auth {
                    digest,
                    send: slice(key, send).get(..n).unwrap_or(&[]).to_vec(),
                    recv: slice(key, recv).get(..n).unwrap_or(&[]).to_vec(),
                    direction: *direction,
                }
            }
            ControlWrap::TlsCrypt { key } => {
                if key.expose().len() != STATIC_KEY_LEN {
                    return Err("the tls-crypt key is not 256 bytes".into());
                }
                let (send, recv) = crypt_keys(key.expose());
                Mode::Crypt {
                    send,
                    recv,
                    wkc: None,
                }
            }
            ControlWrap::TlsCryptV2 { key, wkc } => {
                if key.expose().len() != STATIC_KEY_LEN {
                    return Err("the tls-crypt-v2 client key is not 256 bytes".into());
                }
                let (send, recv) = crypt_keys(key.expose());
                // Like OpenVPN 2.6 clients: announce that we can resend the
                // WKc, so the server can answer without keeping state.
                next_pid = EARLY_NEG_START + 1;
                Mode::Crypt {
                    send,
                    recv,
                    wkc: Some(wkc.expose().clone()),
                }
            }
        };
        Ok(Wrap {
            mode,
            next_pid: AtomicU32::new(next_pid),
            time,
        })
    }

    /// For step details and notes: "tls-auth SHA1, key-direction 1".
    pub fn describe(&self) -> String {
        match &self.mode {
            Mode::None => "no tls-auth/tls-crypt".into(),
            Mode::Auth {
                digest, direction, ..
            } => match direction {
                Some(d) => format!("tls-auth {}, key-direction {d}", digest.name()),
                None => format!("tls-auth {}, no key-direction", digest.name()),
            },
            Mode::Crypt { wkc: None, .. } => "tls-crypt".into(),
            Mode::Crypt { wkc: Some(_), .. } => "tls-crypt-v2".into(),
        }
    }

    /// Short name of the wrapping ("tls-auth", "tls-crypt", …).
    pub fn kind(&self) -> &'static str {
        match &self.mode {
            Mode::None => "none",
            Mode::Auth { .. } => "tls-auth",
            Mode::Crypt { wkc: None, .. } => "tls-crypt",
            Mode::Crypt { wkc: Some(_), .. } => "tls-crypt-v2",
        }
    }

    /// The server drops every packet that does not authenticate.
    pub fn is_authenticated(&self) -> bool {
        !matches!(self.mode, Mode::None)
    }

    /// tls-crypt-v2: the client reset is `P_CONTROL_HARD_RESET_CLIENT_V3`.
    pub fn is_v2(&self) -> bool {
        matches!(self.mode, Mode::Crypt { wkc: Some(_), .. })
    }

    fn take_pid(&self) -> [u8; PID_LEN] {
        // Atomic only so the probe's future may hold `&Wrap` and stay Send.
        let id = self.next_pid.fetch_add(1, Ordering::Relaxed).max(1);
        let mut out = [0u8; PID_LEN];
        out[..4].copy_from_slice(&id.to_be_bytes());
        out[4..].copy_from_slice(&self.time.to_be_bytes());
        out
    }

    /// A wire packet: `opcode` (key id 0) from session `sid` with `body`.
    pub fn wrap(&self, opcode: u8, sid: &SessionId, body: &[u8]) -> Vec<u8> {
        let mut osid = [0u8; OSID];
        osid[0] = header(opcode, 0);
        osid[1..].copy_from_slice(sid);
        match &self.mode {
            Mode::None => [&osid[..], body].concat(),
            Mode::Auth { digest, send, .. } => {
                let pid = self.take_pid();
                let tag = digest.mac(send, &[&pid, &osid, body]);
                [&osid[..], &tag, &pid, body].concat()
            }
            Mode::Crypt { send, wkc, .. } => {
                let pid = self.take_pid();
                let tag = Digest::Sha256.mac(&send.hmac, &[&osid, &pid, body]);
                let mut ct = body.to_vec();
                ctr(&send.cipher, &tag, &mut ct);
                let mut out = [&osid[..], &pid, &tag, &ct].concat();
                if let Some(wkc) = wkc
                    && (opcode == P_CONTROL_HARD_RESET_CLIENT_V3 || opcode == P_CONTROL_WKC_V1)
                {
                    out.extend_from_slice(wkc);
                }
                out
            }
        }
    }

    /// Authenticates (and decrypts) a packet from the server; `None` when
    /// it is too short or does not verify with our receive key.
    pub fn unwrap(&self, pkt: &[u8]) -> Option<Unwrapped> {
        let osid = pkt.get(..OSID)?;
        let (opcode, key_id) = split_header(osid[0]);
        let sid: SessionId = osid[1..].try_into().ok()?;
        let body = match &self.mode {
            Mode::None => pkt.get(OSID..)?.to_vec(),
            Mode::Auth { digest, recv, .. } => {
                let n = digest.output_len();
                let tag = pkt.get(OSID..OSID + n)?;
                let pid = pkt.get(OSID + n..OSID + n + PID_LEN)?;
                let body = pkt.get(OSID + n + PID_LEN..)?;
                let want = digest.mac(recv, &[pid, osid, body]);
                if !ct_eq(tag, &want) {
                    return None;
                }
                body.to_vec()
            }
            Mode::Crypt { recv, .. } => {
                let pid = pkt.get(OSID..OSID + PID_LEN)?;
                let tag = pkt.get(OSID + PID_LEN..OSID + PID_LEN + TAG_LEN)?;
                let mut body = pkt.get(OSID + PID_LEN + TAG_LEN..)?.to_vec();
                if !ctr(&recv.cipher, tag, &mut body) {
                    return None;
                }
                let want = Digest::Sha256.mac(&recv.hmac, &[osid, pid, &body]);
                if !ct_eq(tag, &want) {
                    return None;
                }
                body
            }
        };
        Some(Unwrapped {
            opcode,
            key_id,
            sid,
            body,
        })
    }

    /// The same keys seen from the server: wraps what a server would send.
    /// Only for tests, which play the server's side.
    #[cfg(test)]
    pub fn mirrored(&self) -> Wrap {
        let mode = match &self.mode {
            Mode::None => Mode::None,
            Mode::Auth {
                digest,
                send,
                recv,
                direction,
            } => Mode::Auth {
                digest: *digest,
                send: recv.clone(),
                recv: send.clone(),
                direction: direction.map(|d| 1 - d.min(1)),
            },
            Mode::Crypt { send, recv, .. } => Mode::Crypt {
                send: CryptKeys {
                    cipher: recv.cipher,
                    hmac: recv.hmac,
                },
                recv: CryptKeys {
                    cipher: send.cipher,
                    hmac: send.hmac,
                },
                wkc: None,
            },
        };
        Wrap {
            mode,
            next_pid: AtomicU32::new(1),
            time: self.time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::{
        Body, P_CONTROL_HARD_RESET_CLIENT_V2, P_CONTROL_HARD_RESET_SERVER_V2,
    };
    use super::*;
    use crate::catalog::Secret;

    fn key() -> Vec<u8> {
        (0..STATIC_KEY_LEN).map(|i| (i * 11 + 5) as u8).collect()
    }

    fn profile(wrap: ControlWrap, auth: &str) -> OvpnProfile {
        OvpnProfile {
            wrap,
            auth_digest: auth.into(),
            ..OvpnProfile::default()
        }
    }

    fn tls_auth(direction: Option<u8>, auth: &str) -> Wrap {
        Wrap::new(&profile(
            ControlWrap::TlsAuth {
                key: Secret::new(key()),
                direction,
            },
            auth,
        ))
        .unwrap()
    }

    const SID: SessionId = [1, 2, 3, 4, 5, 6, 7, 8];

    #[test]
    fn tls_auth_layout_and_key_slices() {
        let w = tls_auth(Some(1), "SHA1");
        let body = Body {
            msg_id: Some(0),
            ..Body::default()
        }
        .encode();
        let pkt = w.wrap(P_CONTROL_HARD_RESET_CLIENT_V2, &SID, &body);
        // op | sid | HMAC-SHA1 (20) | pid | time | body
        assert_eq!(pkt.len(), 1 + 8 + 20 + 8 + 5);
        assert_eq!(pkt[0], 0x38);
        assert_eq!(&pkt[1..9], &SID);
        assert_eq!(&pkt[29..33], &1u32.to_be_bytes());
        assert_eq!(&pkt[37..], &body[..]);
        // Direction 1 sends with the second HMAC key (bytes 192..212),
        // over pid|time|op|sid|body.
        let k = key();
        let want = Digest::Sha1.mac(&k[192..212], &[&pkt[29..37], &pkt[..9], &body]);
        assert_eq!(&pkt[9..29], &want[..]);
        // The next packet carries the next replay id, same time.
        let pkt2 = w.wrap(P_CONTROL_HARD_RESET_CLIENT_V2, &SID, &body);
        assert_eq!(&pkt2[29..33], &2u32.to_be_bytes());
        assert_eq!(&pkt2[33..37], &pkt[33..37]);
    }

    #[test]
    fn tls_auth_directions_pair_up_like_openvpn() {
        let k = key();
        // Server direction 0 sends with HMAC key 0 (64..): a client with
        // direction 1 accepts it, and so does nobody with the wrong key.
        let client = tls_auth(Some(1), "SHA256");
        let server = client.mirrored();
        let reply = server.wrap(
            P_CONTROL_HARD_RESET_SERVER_V2,
            &SID,
            b"\x00\x00\x00\x00\x00",
        );
        let want = Digest::Sha256.mac(&k[64..96], &[&reply[41..49], &reply[..9], &reply[49..]]);
        assert_eq!(&reply[9..41], &want[..]);
        let got = client.unwrap(&reply).unwrap();
        assert_eq!(got.opcode, P_CONTROL_HARD_RESET_SERVER_V2);
        assert_eq!(got.sid, SID);
        assert_eq!(got.body, b"\x00\x00\x00\x00\x00");
        // A client with the wrong direction rejects it.
        assert!(tls_auth(Some(0), "SHA256").unwrap(&reply).is_none());
        // Without direction both sides use HMAC key 0.
        let both = tls_auth(None, "SHA256");
        assert!(both.mirrored().unwrap(&both.wrap(7, &SID, b"x")).is_some());
        // A wrong digest fails too.
        assert!(tls_auth(Some(1), "SHA1").unwrap(&reply).is_none());
    }

    #[test]
    fn tls_crypt_layout_and_round_trip() {
        let k = key();
        let w = Wrap::new(&profile(
            ControlWrap::TlsCrypt {
                key: Secret::new(k.clone()),
            },
            "SHA1",
        ))
        .unwrap();
        let body = b"\x00\x00\x00\x00\x00hello".to_vec();
        let pkt = w.wrap(P_CONTROL_HARD_RESET_CLIENT_V2, &SID, &body);
        assert_eq!(pkt.len(), 9 + 8 + 32 + body.len());
        // Tag = HMAC-SHA256 with the client's send key (key 1: 192..224)
        // over op|sid|pid|time|plaintext; ciphertext = CTR with key 1
        // cipher (128..160) and IV = tag[..16].
        let tag = Digest::Sha256.mac(&k[192..224], &[&pkt[..17], &body]);
        assert_eq!(&pkt[17..49], &tag[..]);
        let mut pt = pkt[49..].to_vec();
        assert_ne!(pt, body);
        assert!(ctr(&first32(&k[128..160]), &tag, &mut pt));
        assert_eq!(pt, body);
        // The server side (key 0) decrypts what the server would send.
        let server = w.mirrored();
        let reply = server.wrap(P_CONTROL_HARD_RESET_SERVER_V2, &SID, b"reply");
        assert_eq!(w.unwrap(&reply).unwrap().body, b"reply");
        // Flip one ciphertext bit: rejected.
        let mut bad = reply.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(w.unwrap(&bad).is_none());
        // A different key: rejected.
        let mut other = k.clone();
        other[0] ^= 0x80;
        let w2 = Wrap::new(&profile(
            ControlWrap::TlsCrypt {
                key: Secret::new(other),
            },
            "SHA1",
        ))
        .unwrap();
        assert!(w2.unwrap(&reply).is_none());
    }

    #[test]
    fn tls_crypt_v2_appends_wkc_to_the_reset_and_announces_early_negotiation() {
        let wkc = vec![0xAB; 300];
        let w = Wrap::new(&profile(
            ControlWrap::TlsCryptV2 {
                key: Secret::new(key()),
                wkc: Secret::new(wkc.clone()),
            },
            "SHA1",
        ))
        .unwrap();
        assert!(w.is_v2());
        let body = [0u8, 0, 0, 0, 0];
        let pkt = w.wrap(P_CONTROL_HARD_RESET_CLIENT_V3, &SID, &body);
        assert_eq!(pkt[0], 0x50);
        assert_eq!(&pkt[9..13], &0x0f00_0001u32.to_be_bytes());
        assert!(pkt.ends_with(&wkc));
        assert_eq!(pkt.len(), 9 + 8 + 32 + body.len() + wkc.len());
        let ctl = w.wrap(super::super::packet::P_CONTROL_V1, &SID, &body);
        assert_eq!(ctl.len(), 9 + 8 + 32 + body.len());
        assert_eq!(&ctl[9..13], &0x0f00_0002u32.to_be_bytes());
    }

    #[test]
    fn unwrap_never_panics_on_short_or_random_input() {
        let modes = [
            Wrap::new(&profile(ControlWrap::None, "SHA1")).unwrap(),
            tls_auth(Some(1), "SHA512"),
            Wrap::new(&profile(
                ControlWrap::TlsCrypt {
                    key: Secret::new(key()),
                },
                "SHA1",
            ))
            .unwrap(),
        ];
        for w in &modes {
            for len in 0..120 {
                let data: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
                let r = w.unwrap(&data);
                if w.is_authenticated() {
                    assert!(r.is_none());
                }
            }
        }
    }

    #[test]
    fn bad_profiles_are_errors_without_key_text() {
        let err = Wrap::new(&profile(
            ControlWrap::TlsAuth {
                key: Secret::new(vec![1; 10]),
                direction: None,
            },
            "SHA1",
        ))
        .err()
        .unwrap();
        assert!(err.contains("256"));
        let err = Wrap::new(&profile(
            ControlWrap::TlsAuth {
                key: Secret::new(key()),
                direction: None,
            },
            "WHIRLPOOL",
        ))
        .err()
        .unwrap();
        assert!(err.contains("WHIRLPOOL"));
    }
}
