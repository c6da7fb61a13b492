//! Helpers shared by the integration tests. Each test binary uses only part
//! of them, hence the blanket `dead_code` allowance.
#![allow(dead_code)]

pub mod inproc;
pub mod netns;
pub mod tornet;
pub mod vpnlab;
