//! The Tor link with tor-proto directly (no ChanMgr): TLS, the link
//! handshake, certificate checks, the identity check, and a one-hop
//! CREATE_FAST circuit. Used for vanilla bridges and, over the PT's SOCKS
//! stream, for pluggable transports: one code path, our own timeouts, one
//! attempt each, per-stage timing.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use safelog::MaybeSensitive;
use tor_linkspec::{ChannelMethod, HasRelayIds, OwnedChanTarget, OwnedChanTargetBuilder};
use tor_proto::ClientTunnel;
use tor_proto::channel::Channel;
use tor_proto::client::circuit::{CircParameters, TimeoutEstimator};
use tor_proto::memquota::{ChannelAccount, SpecificAccount as _};
use tor_rtcompat::tls::TlsConnector as _;
use tor_rtcompat::tokio::TokioRustlsRuntime;
use tor_rtcompat::{CertifiedConn as _, NetStreamProvider, TlsProvider};

use super::HandshakeFail;
use super::classify;
use crate::measurement::Failure;

pub type Runtime = TokioRustlsRuntime;
/// A TCP stream of the runtime (to the bridge, or to a PT's SOCKS port).
pub type Stream = <Runtime as NetStreamProvider<SocketAddr>>::Stream;
pub type TlsStream = <Runtime as TlsProvider<Stream>>::TlsStream;

/// SNI for the link TLS: like C tor and arti, a made-up www name.
const SNI: &str = "www.example.net";

pub async fn tcp_connect(rt: &Runtime, addr: SocketAddr) -> io::Result<Stream> {
    rt.connect(&addr, &Default::default()).await
}

/// TLS without certificate validation (link certificates are self-signed;
/// the link handshake authenticates them). Returns the peer cert's DER.
pub async fn tls(rt: &Runtime, stream: Stream) -> io::Result<(TlsStream, Vec<u8>)> {
    let connector = <Runtime as TlsProvider<Stream>>::tls_connector(rt);
    let tls = connector.negotiate_unvalidated(stream, SNI).await?;
    let cert = tls
        .peer_certificate()?
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no peer certificate"))?
        .into_owned();
    Ok((tls, cert))
}

/// The expected identities of the bridge: RSA from the line, Ed25519 when
/// the line carries an `ed25519=` option (no standard form has one).
pub fn expected_target(
    addr: SocketAddr,
    rsa: Option<[u8; 20]>,
    ed25519: Option<&str>,
) -> Option<OwnedChanTarget> {
    let mut b = OwnedChanTargetBuilder::default();
    b.addrs(vec![addr]);
    let mut any = false;
    if let Some(fp) = rsa {
        b.rsa_identity(tor_llcrypto::pk::rsa::RsaIdentity::from_bytes(&fp)?);
        any = true;
    }
    if let Some(ed) = ed25519.and_then(tor_llcrypto::pk::ed25519::Ed25519Identity::from_base64) {
        b.ed_identity(ed);
        any = true;
    }
    if !any {
        return None;
    }
    b.build().ok()
}

/// An open, verified channel.
pub struct Link {
    pub chan: Arc<Channel>,
    /// Peer minus ours, seconds (NETINFO; 0 below tor-proto's 2 s floor).
    pub skew: f64,
    /// Whether identities were compared (the line had a fingerprint).
    pub identity_checked: bool,
}

/// A failed link handshake; `skew` when NETINFO arrived before the failure.
pub struct LinkFail {
    pub fail: HandshakeFail,
    pub skew: Option<f64>,
}

fn ids_of<T: HasRelayIds + ?Sized>(t: &T) -> String {
    let rsa = t
        .rsa_identity()
        .map(|i| crate::catalog::bridge_line::hex_upper(i.as_bytes()))
        .unwrap_or_else(|| "-".into());
    match t.ed_identity() {
        Some(ed) => format!("{rsa} {ed}"),
        None => rsa,
    }
}

/// Link handshake over `tls` (already at the bridge, directly or through a
/// PT), certificate checks against an address-only target, then
/// `check_match` against the expected ids: this yields a distinct
/// mismatch error and lets us name what the bridge proved instead.
pub async fn handshake(
    rt: &Runtime,
    tls: TlsStream,
    peer_cert: &[u8],
    addr: SocketAddr,
    method: ChannelMethod,
    expected: Option<&OwnedChanTarget>,
) -> Result<Link, LinkFail> {
    let mut builder = tor_proto::ClientChannelBuilder::new();
    builder.set_declared_method(method);
    let unverified = builder
        .launch(tls, rt.clone(), ChannelAccount::new_noop())
        .connect(SystemTime::now)
        .await
        .map_err(|e| LinkFail {
            fail: classify::handshake_fail(&e, None),
            skew: None,
        })?;
    // ClockSkew::as_secs_f64 is positive when OUR clock is ahead.
    let ours_ahead = unverified.clock_skew().as_secs_f64();
    // (Avoid reporting "-0".)
    let skew = if ours_ahead == 0.0 { 0.0 } else { -ours_ahead };
    let fail = |e: tor_proto::Error| LinkFail {
        fail: classify::handshake_fail(&e, Some(skew)),
        skew: Some(skew),
    };
    let addr_only = OwnedChanTargetBuilder::default()
        .addrs(vec![addr])
        .build()
        .map_err(|e| LinkFail {
            fail: HandshakeFail::Network(Failure::Unknown(classify::chain_message(&e))),
            skew: Some(skew),
        })?;
    let verified = unverified
        .verify(&addr_only, peer_cert, Some(SystemTime::now()))
        .map_err(fail)?;
    let (chan, reactor) = verified
        .finish(MaybeSensitive::sensitive(addr.into()))
        .await
        .map_err(fail)?;
    // The channel reactor must run for anything to move; it ends when the
    // channel is terminated.
    tokio::spawn(async move {
        let _ = reactor.run().await;
    });
    if let Some(expected) = expected
        && let Err(e) = chan.check_match(expected)
    {
        let found = ids_of(chan.as_ref());
        chan.terminate();
        let fail = if classify::is_identity_mismatch(&e) {
            HandshakeFail::IdentityMismatch {
                expected: ids_of(expected),
                found,
            }
        } else {
            classify::handshake_fail(&e, Some(skew))
        };
        return Err(LinkFail {
            fail,
            skew: Some(skew),
        });
    }
    Ok(Link {
        chan,
        skew,
        identity_checked: expected.is_some(),
    })
}

/// Our fixed circuit-build timeout (tor-circmgr's estimator needs history).
struct FixedTimeouts(Duration);

impl TimeoutEstimator for FixedTimeouts {
    fn circuit_build_timeout(&self, _length: usize) -> Duration {
        self.0
    }
}

/// Circuit parameters without a consensus: the defaults of an empty one.
fn circ_params() -> Result<CircParameters, Failure> {
    let np = tor_netdir::params::NetParameters::default();
    tor_circmgr::build::exit_circparams_from_netparams(&np)
        .map_err(|e| Failure::Unknown(classify::chain_message(&e)))
}

/// A one-hop circuit to the bridge with CREATE_FAST (what tor uses for
/// directory fetches from a bridge).
pub async fn one_hop(chan: &Arc<Channel>, timeout: Duration) -> Result<Arc<ClientTunnel>, Failure> {
    let (pending, reactor) = chan
        .new_tunnel(Arc::new(FixedTimeouts(timeout)))
        .await
        .map_err(|e| classify::failure_of(&e))?;
    tokio::spawn(async move {
        let _ = reactor.run().await;
    });
    let tunnel = pending
        .create_firsthop_fast(circ_params()?)
        .await
        .map_err(|e| classify::failure_of(&e))?;
    Ok(Arc::new(tunnel))
}
