//! STUB: replaced by the catalog work.
use super::{Endpoint, Origin};
pub fn parse(line: &str, _origin: Origin) -> Result<Endpoint, String> {
    Err(format!("unsupported: {line}"))
}
