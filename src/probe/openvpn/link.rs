//! The transport under the control channel: a connected UDP socket (one
//! packet per datagram) or a TCP stream where every packet is preceded by
//! its length as two big-endian bytes.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::super::failure::from_io;
use crate::measurement::Failure;

/// Largest datagram or frame we accept.
const MAX_PACKET: usize = 65_535;

pub enum Link {
    Udp(UdpSocket),
    Tcp {
        stream: TcpStream,
        /// Bytes read but not yet returned as a whole frame.
        buf: Vec<u8>,
    },
}

impl Link {
    pub fn tcp(stream: TcpStream) -> Link {
        Link::Tcp {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn is_udp(&self) -> bool {
        matches!(self, Link::Udp(_))
    }

    pub async fn send(&mut self, pkt: &[u8]) -> Result<(), Failure> {
        match self {
            Link::Udp(sock) => sock.send(pkt).await.map(|_| ()).map_err(|e| from_io(&e)),
            Link::Tcp { stream, .. } => {
                let len = u16::try_from(pkt.len())
                    .map_err(|_| Failure::Unknown("control packet too large".into()))?;
                let frame = [&len.to_be_bytes()[..], pkt].concat();
                stream.write_all(&frame).await.map_err(|e| from_io(&e))
            }
        }
    }

    /// The next packet. Cancel-safe (bytes of a half-read TCP frame stay
    /// buffered), so callers may wrap it in a timeout.
    pub async fn recv(&mut self) -> Result<Vec<u8>, Failure> {
        match self {
            Link::Udp(sock) => {
                let mut buf = vec![0u8; MAX_PACKET];
                let n = sock.recv(&mut buf).await.map_err(|e| from_io(&e))?;
                buf.truncate(n);
                Ok(buf)
            }
            Link::Tcp { stream, buf } => loop {
                if let Some(frame) = take_frame(buf) {
                    return Ok(frame);
                }
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await.map_err(|e| from_io(&e))?;
                if n == 0 {
                    return Err(Failure::Eof);
                }
                buf.extend_from_slice(&chunk[..n]);
            },
        }
    }
}

/// Removes and returns the first whole length-prefixed frame of `buf`.
fn take_frame(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let len = u16::from_be_bytes([*buf.first()?, *buf.get(1)?]) as usize;
    if buf.len() < 2 + len {
        return None;
    }
    let frame = buf.get(2..2 + len)?.to_vec();
    buf.drain(..2 + len);
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_and_join() {
        let mut buf = vec![0, 3, b'a', b'b', b'c', 0, 0, 0, 2, b'x'];
        assert_eq!(take_frame(&mut buf), Some(b"abc".to_vec()));
        assert_eq!(take_frame(&mut buf), Some(Vec::new()));
        assert_eq!(take_frame(&mut buf), None);
        assert_eq!(buf, vec![0, 2, b'x']);
        buf.push(b'y');
        assert_eq!(take_frame(&mut buf), Some(b"xy".to_vec()));
        assert!(buf.is_empty());
        let mut one = vec![7];
        assert_eq!(take_frame(&mut one), None);
    }

    #[tokio::test]
    async fn tcp_link_prefixes_lengths() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = [0u8; 5];
            s.read_exact(&mut got).await.unwrap();
            // Answer in two pieces to exercise reassembly.
            s.write_all(&[0, 4, b'p']).await.unwrap();
            s.flush().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            s.write_all(b"ong").await.unwrap();
            got
        });
        let mut link = Link::tcp(TcpStream::connect(addr).await.unwrap());
        assert!(!link.is_udp());
        link.send(b"pin").await.unwrap();
        assert_eq!(link.recv().await.unwrap(), b"pong");
        assert_eq!(&server.await.unwrap(), &[0, 3, b'p', b'i', b'n']);
        assert_eq!(link.recv().await, Err(Failure::Eof));
    }
}
