//! IKEv2 responders: `ike://host[:port]`, or a bare host with `--kind ikev2`.

use super::{Endpoint, Origin};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeTarget {
    pub host: String,
    /// `None`: try UDP 500 and 4500 (with the non-ESP marker).
    pub port: Option<u16>,
}

pub fn parse(line: &str, origin: Origin) -> Result<Endpoint, String> {
    let _ = (line, origin);
    Err("ike:// is not supported yet".into())
}
