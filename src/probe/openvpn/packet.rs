//! OpenVPN control-channel packets, without the tls-auth/tls-crypt wrapping
//! (see `wrap.rs`): the opcode byte, session ids, the ACK array and the
//! reliability layer's message id. Layout (ssl_pkt.h, reliable.c):
//!
//! ```text
//! opcode<<3 | key_id   1 byte
//! session id           8 bytes   (the sender's)
//! -- wrapping fields (HMAC, replay id) sit here, see wrap.rs --
//! ack count            1 byte
//! acked message ids    4 bytes each
//! remote session id    8 bytes   (only when ack count > 0)
//! message id           4 bytes   (not in P_ACK_V1)
//! payload              TLS records, or TLVs in a reset
//! ```
//!
//! Everything here is bounds-checked: a packet from the network never
//! panics the decoder.

pub const P_CONTROL_V1: u8 = 4;
pub const P_ACK_V1: u8 = 5;
pub const P_CONTROL_HARD_RESET_CLIENT_V2: u8 = 7;
pub const P_CONTROL_HARD_RESET_SERVER_V2: u8 = 8;
pub const P_CONTROL_HARD_RESET_CLIENT_V3: u8 = 10;
pub const P_CONTROL_WKC_V1: u8 = 11;

/// Session ids are 8 random bytes chosen by each side.
pub type SessionId = [u8; 8];

/// Most ACKs one packet may carry (OpenVPN's RELIABLE_ACK_SIZE).
pub const MAX_ACKS: usize = 8;

/// Early-negotiation TLV in a server reset (ssl_pkt.h).
const TLV_TYPE_EARLY_NEG_FLAGS: u16 = 0x0001;
pub const EARLY_NEG_FLAG_RESEND_WKC: u16 = 0x0001;

/// The first byte of every packet.
pub fn header(opcode: u8, key_id: u8) -> u8 {
    (opcode << 3) | (key_id & 0x07)
}

/// Splits the first byte into (opcode, key id).
pub fn split_header(b: u8) -> (u8, u8) {
    (b >> 3, b & 0x07)
}

/// The part of a control packet after the opcode, session id and wrapping.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body {
    pub acks: Vec<u32>,
    /// The peer's session id; present when `acks` is not empty.
    pub remote_sid: Option<SessionId>,
    /// `None` only for `P_ACK_V1`.
    pub msg_id: Option<u32>,
    pub payload: Vec<u8>,
}

impl Body {
    pub fn encode(&self) -> Vec<u8> {
        let acks = &self.acks[..self.acks.len().min(MAX_ACKS)];
        let mut out = Vec::with_capacity(1 + 4 * acks.len() + 8 + 4 + self.payload.len());
        // min() above keeps the count within one byte.
        out.push(acks.len() as u8);
        for a in acks {
            out.extend_from_slice(&a.to_be_bytes());
        }
        if !acks.is_empty() {
            out.extend_from_slice(&self.remote_sid.unwrap_or_default());
        }
        if let Some(id) = self.msg_id {
            out.extend_from_slice(&id.to_be_bytes());
        }
        out.extend_from_slice(&self.payload);
        out
    }

    /// Parses the body of a packet with `opcode`; `None` if it is cut short.
    pub fn decode(opcode: u8, data: &[u8]) -> Option<Body> {
        let mut r = Reader(data);
        let n = r.u8()? as usize;
        let mut acks = Vec::with_capacity(n.min(MAX_ACKS));
        for _ in 0..n {
            acks.push(r.u32()?);
        }
        let remote_sid = if n > 0 { Some(r.array::<8>()?) } else { None };
        let msg_id = if opcode == P_ACK_V1 {
            None
        } else {
            Some(r.u32()?)
        };
        Some(Body {
            acks,
            remote_sid,
            msg_id,
            payload: r.0.to_vec(),
        })
    }
}

/// Flags of the early-negotiation TLV in a server reset's payload, if any.
/// Malformed TLVs end the scan (the payload is only advisory).
pub fn early_neg_flags(payload: &[u8]) -> Option<u16> {
    let mut r = Reader(payload);
    while !r.0.is_empty() {
        let t = r.u16()?;
        let len = r.u16()? as usize;
        let value = r.take(len)?;
        if t == TLV_TYPE_EARLY_NEG_FLAGS && len == 2 {
            return Some(u16::from_be_bytes([value[0], value[1]]));
        }
    }
    None
}

/// A cursor that never reads past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        assert_eq!(header(P_CONTROL_HARD_RESET_CLIENT_V2, 0), 0x38);
        assert_eq!(header(P_CONTROL_HARD_RESET_SERVER_V2, 0), 0x40);
        assert_eq!(header(P_CONTROL_HARD_RESET_CLIENT_V3, 0), 0x50);
        assert_eq!(split_header(0x21), (P_CONTROL_V1, 1));
    }

    #[test]
    fn reset_body_is_empty_ack_array_and_message_id_zero() {
        let b = Body {
            msg_id: Some(0),
            ..Body::default()
        };
        assert_eq!(b.encode(), vec![0, 0, 0, 0, 0]);
    }

    #[test]
    fn body_round_trip_with_acks() {
        let b = Body {
            acks: vec![0, 7],
            remote_sid: Some([1, 2, 3, 4, 5, 6, 7, 8]),
            msg_id: Some(3),
            payload: b"tls".to_vec(),
        };
        let wire = b.encode();
        assert_eq!(wire.len(), 1 + 8 + 8 + 4 + 3);
        assert_eq!(Body::decode(P_CONTROL_V1, &wire), Some(b));
        let ack = Body {
            acks: vec![9],
            remote_sid: Some([9; 8]),
            msg_id: None,
            payload: vec![],
        };
        assert_eq!(Body::decode(P_ACK_V1, &ack.encode()), Some(ack));
    }

    #[test]
    fn truncated_or_hostile_bodies_never_panic() {
        assert_eq!(Body::decode(P_CONTROL_V1, &[]), None);
        assert_eq!(Body::decode(P_CONTROL_V1, &[255, 0, 0]), None);
        assert_eq!(Body::decode(P_CONTROL_V1, &[1, 0, 0, 0, 1, 2, 3]), None);
        for len in 0..64 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            for op in 0..32 {
                let _ = Body::decode(op, &data);
            }
            let _ = early_neg_flags(&data);
        }
    }

    #[test]
    fn early_negotiation_tlv() {
        assert_eq!(early_neg_flags(&[0, 1, 0, 2, 0, 1]), Some(1));
        assert_eq!(early_neg_flags(&[0, 9, 0, 1, 7, 0, 1, 0, 2, 0, 0]), Some(0));
        assert_eq!(early_neg_flags(&[]), None);
        assert_eq!(early_neg_flags(&[0, 1, 0, 9, 0]), None);
    }
}
