//! VLESS, VMess, Trojan, Hysteria2 and TUIC links (front only).

use super::vpn::{FailKind, VpnEvidence};
use super::{BoxFuture, Evidence, Probe, ProbeConfig, Recorder};
use crate::catalog::Endpoint;
use crate::measurement::{Failure, Operation};

pub struct FrontProbe;

impl Probe for FrontProbe {
    fn run<'a>(
        &'a self,
        _endpoint: &'a Endpoint,
        _config: &'a ProbeConfig,
        _rec: &'a Recorder,
    ) -> BoxFuture<'a, Evidence> {
        Box::pin(async move {
            Evidence::Vpn(Box::new(VpnEvidence::failed(
                Operation::TcpConnect,
                Failure::Unknown("not implemented yet".into()),
                FailKind::Unsupported,
            )))
        })
    }
}
