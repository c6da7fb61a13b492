//! A run: one scan's worth of measurements plus where it was made from.
//! Shared by the history store, exports and the workshop merge.

use serde::{Deserialize, Serialize};

use crate::measurement::Measurement;

/// What we know about the network a run was made from. Derived facts only:
/// the client's IP address itself is never kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkContext {
    /// User's own name for the network ("home fiber", "hotel wifi").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case ("KZ").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Autonomous system number, from a user-supplied MMDB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_name: Option<String>,
}

/// Facts about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Store-assigned id, absent before the run is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// RFC 3339 UTC.
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub software_version: String,
    #[serde(default)]
    pub network: NetworkContext,
}

impl RunMeta {
    /// A run starting now, for this build of bridgescout.
    pub fn starting_now(network: NetworkContext) -> RunMeta {
        RunMeta {
            id: None,
            started_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            finished_at: None,
            software_version: env!("CARGO_PKG_VERSION").to_string(),
            network,
        }
    }
}

/// A run with its measurements, as exports and merges consume them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub meta: RunMeta,
    pub measurements: Vec<Measurement>,
}
