//! DNS over HTTPS (RFC 8484): POST and GET with `application/dns-message`,
//! over HTTP/2 when the server offers it, HTTP/1.1 otherwise (noted).

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::dns::{MAX_MESSAGE, SentQuery};
use super::failure::{from_hyper, scrub};
use super::resolver::{self, ExchangeFail, ExchangeReport, Exchanger, Role, SendFail};
use super::{AbortOnDrop, ProbeConfig, Recorder};
use crate::catalog::DnsResolver;
use crate::measurement::{Failure, Operation};

const DNS_MESSAGE: &str = "application/dns-message";

enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

struct DohSession {
    sender: Sender,
    /// Drives the connection; replaced with it on a redial.
    _driver: AbortOnDrop<()>,
    authority: String,
    path: String,
    notes: Vec<String>,
    /// GET was refused with a client error once; use POST from then on.
    get_refused: bool,
    /// The server said `Connection: close`: every further query needs a
    /// new connection, as a real HTTP/1.1 client would open.
    server_closes: bool,
    redial: Redial,
}

/// What opening the same connection again takes.
struct Redial {
    addr: SocketAddr,
    host: String,
    tls: std::sync::Arc<rustls::ClientConfig>,
    config: ProbeConfig,
    rec: Recorder,
}

impl DohSession {
    /// A new TCP + TLS + HTTP/1.1 connection to the same address, with its
    /// steps recorded like the first one.
    async fn redial(&mut self) -> Result<(), Failure> {
        let r = &self.redial;
        let tcp = resolver::connect(r.addr, &r.config, &r.rec).await?;
        let tls = resolver::handshake(
            tcp,
            r.tls.clone(),
            &r.host,
            r.addr,
            Operation::TlsHandshake,
            &r.config,
            &r.rec,
        )
        .await?;
        let (sender, driver) =
            tokio::time::timeout(r.config.step_timeout, connect_http(tls, false))
                .await
                .map_err(|_| Failure::GenericTimeout)??;
        self.sender = sender;
        self._driver = driver;
        Ok(())
    }
}

impl DohSession {
    fn uri(&self, path_and_query: &str) -> String {
        match self.sender {
            // HTTP/2 needs the absolute form to fill :scheme and :authority.
            Sender::H2(_) => format!("https://{}{}", self.authority, path_and_query),
            Sender::H1(_) => path_and_query.to_string(),
        }
    }

    fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, SendFail> {
        let mut b = Request::builder()
            .method(method.clone())
            .uri(self.uri(path_and_query))
            .header(header::ACCEPT, DNS_MESSAGE);
        if matches!(self.sender, Sender::H1(_)) {
            b = b.header(header::HOST, &self.authority);
        }
        if method == Method::POST {
            b = b.header(header::CONTENT_TYPE, DNS_MESSAGE);
        }
        b.body(Full::new(body))
            .map_err(|e| SendFail::Bad(Failure::Unknown(scrub(&e.to_string()))))
    }

    async fn round_trip(&mut self, req: Request<Full<Bytes>>) -> Result<Vec<u8>, SendFail> {
        if self.server_closes {
            self.redial().await.map_err(SendFail::Transport)?;
        }
        let response = match &mut self.sender {
            Sender::H1(s) => {
                s.ready()
                    .await
                    .map_err(|e| SendFail::Transport(from_hyper(&e)))?;
                s.send_request(req).await
            }
            Sender::H2(s) => {
                s.ready()
                    .await
                    .map_err(|e| SendFail::Transport(from_hyper(&e)))?;
                s.send_request(req).await
            }
        }
        .map_err(|e| SendFail::Transport(from_hyper(&e)))?;
        let closes = response
            .headers()
            .get(header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if closes && matches!(self.sender, Sender::H1(_)) && !self.server_closes {
            self.server_closes = true;
            self.notes.push(
                "the server closes its HTTP/1.1 connection after every answer \
                 (Connection: close); each query used a new connection"
                    .to_string(),
            );
        }
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if status != StatusCode::OK {
            return Err(SendFail::Http(status.as_u16()));
        }
        if content_type
            .as_deref()
            .is_some_and(|ct| !ct.starts_with(DNS_MESSAGE))
        {
            let note = format!(
                "answer content type is {}, not {DNS_MESSAGE}",
                content_type.as_deref().unwrap_or("missing")
            );
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
        }
        read_bounded(response.into_body(), MAX_MESSAGE).await
    }
}

/// Reads a body but never more than `limit` bytes: a hostile or broken
/// server must not make us buffer megabytes.
async fn read_bounded(mut body: Incoming, limit: usize) -> Result<Vec<u8>, SendFail> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| SendFail::Transport(from_hyper(&e)))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(SendFail::Bad(Failure::Unknown(format!(
                    "response body larger than {limit} bytes, the most a DNS message can be"
                ))));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

impl Exchanger for DohSession {
    fn operation(&self) -> Operation {
        Operation::HttpRoundTrip
    }

    fn method(&self, role: Role) -> &'static str {
        match role {
            Role::Nx if !self.get_refused => "GET",
            _ => "POST",
        }
    }

    async fn send(&mut self, query: &SentQuery, role: Role) -> Result<Vec<u8>, SendFail> {
        let post = |s: &Self| s.request(Method::POST, &s.path, Bytes::from(query.wire.clone()));
        if role == Role::Probe || self.get_refused {
            let req = post(self)?;
            return self.round_trip(req).await;
        }
        let sep = if self.path.contains('?') { '&' } else { '?' };
        let get_path = format!(
            "{}{sep}dns={}",
            self.path,
            URL_SAFE_NO_PAD.encode(&query.wire)
        );
        let req = self.request(Method::GET, &get_path, Bytes::new())?;
        match self.round_trip(req).await {
            // RFC 8484 servers must support GET; some do not. Say so and
            // ask again by POST rather than failing a working resolver.
            Err(SendFail::Http(code)) if (400..500).contains(&code) => {
                self.get_refused = true;
                self.notes
                    .push(format!("GET refused with HTTP {code}; POST works"));
                let req = post(self)?;
                self.round_trip(req).await
            }
            other => other,
        }
    }

    fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
}

/// Sets up HTTP on the TLS session and runs the DNS checks.
pub async fn exchange(
    stream: TlsStream<TcpStream>,
    tls: std::sync::Arc<rustls::ClientConfig>,
    resolver: &DnsResolver,
    addr: SocketAddr,
    config: &ProbeConfig,
    rec: &Recorder,
) -> ExchangeReport {
    let is_h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let authority = if resolver.port == 443 {
        host_authority(&resolver.host)
    } else {
        format!("{}:{}", host_authority(&resolver.host), resolver.port)
    };
    let target = format!("{addr} {authority}{}", resolver.path);
    let started = rec.begin(Operation::HttpRoundTrip, Some(target.clone()));
    let setup = tokio::time::timeout(config.step_timeout, connect_http(stream, is_h2)).await;
    let (sender, driver) = match setup {
        Ok(Ok(pair)) => {
            rec.finish(
                started,
                None,
                Some(
                    if is_h2 {
                        "HTTP/2 connection"
                    } else {
                        "HTTP/1.1 connection"
                    }
                    .into(),
                ),
                Vec::new(),
            );
            pair
        }
        other => {
            let f = match other {
                Ok(Err(f)) => f,
                _ => Failure::GenericTimeout,
            };
            rec.finish(
                started,
                Some(f.clone()),
                Some("HTTP setup".into()),
                Vec::new(),
            );
            return ExchangeReport {
                result: Err(ExchangeFail::Transport(Operation::HttpRoundTrip, f)),
                latency_ms: None,
                notes: Vec::new(),
            };
        }
    };
    let mut notes = Vec::new();
    if !is_h2 {
        notes.push("server speaks HTTP/1.1 only (no HTTP/2)".to_string());
    }
    let mut session = DohSession {
        sender,
        _driver: driver,
        authority,
        path: resolver.path.clone(),
        notes,
        get_refused: false,
        server_closes: false,
        redial: Redial {
            addr,
            host: resolver.host.clone(),
            tls,
            config: config.clone(),
            rec: rec.clone(),
        },
    };
    resolver::run_checks(&mut session, target, config, rec).await
}

fn host_authority(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

async fn connect_http(
    stream: TlsStream<TcpStream>,
    is_h2: bool,
) -> Result<(Sender, AbortOnDrop<()>), Failure> {
    let io = TokioIo::new(stream);
    if is_h2 {
        let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| from_hyper(&e))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok((Sender::H2(sender), AbortOnDrop(driver)))
    } else {
        let (sender, conn) = http1::handshake(io).await.map_err(|e| from_hyper(&e))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok((Sender::H1(sender), AbortOnDrop(driver)))
    }
}
