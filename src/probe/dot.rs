//! DNS over TLS (RFC 7858): two-byte length prefix, then the message.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::dns::SentQuery;
use super::failure::from_io;
use super::resolver::{self, ExchangeReport, Exchanger, Role, SendFail};
use super::{ProbeConfig, Recorder};
use crate::measurement::Operation;

struct DotSession {
    stream: TlsStream<TcpStream>,
}

impl Exchanger for DotSession {
    fn operation(&self) -> Operation {
        Operation::DnsRoundTrip
    }

    fn method(&self, _role: Role) -> &'static str {
        "DoT"
    }

    async fn send(&mut self, query: &SentQuery, _role: Role) -> Result<Vec<u8>, SendFail> {
        let len = u16::try_from(query.wire.len()).map_err(|_| {
            SendFail::Bad(crate::measurement::Failure::Unknown(
                "query too long".into(),
            ))
        })?;
        let mut frame = Vec::with_capacity(query.wire.len() + 2);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&query.wire);
        let io = |e: std::io::Error| SendFail::Transport(from_io(&e));
        self.stream.write_all(&frame).await.map_err(io)?;
        self.stream.flush().await.map_err(io)?;
        let mut len_buf = [0u8; 2];
        self.stream.read_exact(&mut len_buf).await.map_err(io)?;
        // The prefix caps the answer at 64 KiB, so this read is bounded.
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len_buf))];
        self.stream.read_exact(&mut answer).await.map_err(io)?;
        Ok(answer)
    }

    fn take_notes(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// Runs the DNS checks over an established TLS session.
pub async fn exchange(
    stream: TlsStream<TcpStream>,
    addr: SocketAddr,
    config: &ProbeConfig,
    rec: &Recorder,
) -> ExchangeReport {
    let mut session = DotSession { stream };
    resolver::run_checks(&mut session, addr.to_string(), config, rec).await
}
