//! OpenVPN.

use super::vpn::{FailKind, VpnEvidence};
use super::{BoxFuture, Evidence, Probe, ProbeConfig, Recorder};
use crate::catalog::Endpoint;
use crate::measurement::{Failure, Operation};

pub struct OpenvpnProbe;

impl Probe for OpenvpnProbe {
    fn run<'a>(
        &'a self,
        _endpoint: &'a Endpoint,
        _config: &'a ProbeConfig,
        _rec: &'a Recorder,
    ) -> BoxFuture<'a, Evidence> {
        Box::pin(async move {
            Evidence::Vpn(Box::new(VpnEvidence::failed(
                Operation::OpenvpnReset,
                Failure::Unknown("not implemented yet".into()),
                FailKind::Unsupported,
            )))
        })
    }
}
