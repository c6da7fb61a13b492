//! Where a run was made from, learned offline: the user's label, the
//! country from an embedded IP-to-country table, and the AS from an MMDB
//! file the user supplies. The public IP is only learned when the user names
//! a STUN server ([`stun_public_ip`]) and is dropped as soon as the derived
//! facts are known: [`NetworkContext`] has no field that could hold it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::run::NetworkContext;

mod stun;

pub use stun::stun_public_ip;

#[cfg(test)]
mod mmdb_writer;
#[cfg(test)]
mod tests;

/// Longest AS name or label kept; MMDB and command-line text is untrusted.
const TEXT_MAX: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum NetCtxError {
    #[error("ASN database {path}: {message}")]
    AsnDb { path: PathBuf, message: String },
    #[error("STUN server {server}: {source}")]
    StunIo {
        server: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("STUN server {server} did not answer within {timeout:?}")]
    StunTimeout {
        server: std::net::SocketAddr,
        timeout: std::time::Duration,
    },
    #[error("STUN server {server}: {reason}")]
    Stun {
        server: std::net::SocketAddr,
        reason: String,
    },
}

/// Maps an address to an ISO 3166-1 alpha-2 country code (upper case).
pub trait CountryLookup {
    fn country(&self, ip: IpAddr) -> Option<String>;
}

/// Tor's GeoIP table, compiled into the binary by `tor-geoip`; no file or
/// network access. Parsed on first use (a fraction of a second), then shared.
#[derive(Debug, Clone)]
pub struct EmbeddedGeoip(Arc<tor_geoip::GeoipDb>);

impl EmbeddedGeoip {
    pub fn new() -> EmbeddedGeoip {
        EmbeddedGeoip(tor_geoip::GeoipDb::new_embedded())
    }
}

impl Default for EmbeddedGeoip {
    fn default() -> Self {
        EmbeddedGeoip::new()
    }
}

impl CountryLookup for EmbeddedGeoip {
    fn country(&self, ip: IpAddr) -> Option<String> {
        let code = self.0.lookup_country_code(ip.to_canonical())?;
        Some(code.get().to_ascii_uppercase())
    }
}

/// An AS-number database in MaxMind DB format (GeoLite2-ASN, DB-IP ASN
/// Lite, GeoIP2-ISP), read whole into memory.
pub struct AsnDb {
    reader: maxminddb::Reader<Vec<u8>>,
    path: PathBuf,
}

impl std::fmt::Debug for AsnDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsnDb").field("path", &self.path).finish()
    }
}

impl AsnDb {
    pub fn open(path: &Path) -> Result<AsnDb, NetCtxError> {
        let reader = maxminddb::Reader::open_readfile(path).map_err(|e| NetCtxError::AsnDb {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(AsnDb {
            reader,
            path: path.to_path_buf(),
        })
    }

    /// The AS number and organisation for `ip`, if the database has them.
    pub fn lookup(&self, ip: IpAddr) -> Result<Option<(u32, Option<String>)>, NetCtxError> {
        let ip = ip.to_canonical();
        // An IPv4-only database cannot answer for IPv6; that is "unknown",
        // not a broken file.
        if ip.is_ipv6() && self.reader.metadata().ip_version == 4 {
            return Ok(None);
        }
        let bad = |e: maxminddb::MaxMindDbError| NetCtxError::AsnDb {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let found = self.reader.lookup(ip).map_err(bad)?;
        let Some(record) = found.decode::<maxminddb::geoip2::Asn<'_>>().map_err(bad)? else {
            return Ok(None);
        };
        let Some(asn) = record.autonomous_system_number else {
            return Ok(None);
        };
        let name = record.autonomous_system_organization.and_then(clean_text);
        Ok(Some((asn, name)))
    }
}

impl NetworkContext {
    /// Derives the stored facts about this network. `ip` (the public
    /// address, if the user asked for it) is only looked up, never kept.
    /// With `asn_db`, the file is opened even without an address so a bad
    /// path is reported at once.
    pub fn derive(
        ip: Option<IpAddr>,
        label: Option<&str>,
        asn_db: Option<&Path>,
    ) -> Result<NetworkContext, NetCtxError> {
        // Parsing the country table costs time; skip it when there is
        // nothing to look up.
        match ip {
            Some(_) => NetworkContext::derive_with(ip, label, asn_db, &EmbeddedGeoip::new()),
            None => NetworkContext::derive_with(ip, label, asn_db, &NoCountries),
        }
    }

    /// [`NetworkContext::derive`] with a chosen country table.
    pub fn derive_with(
        ip: Option<IpAddr>,
        label: Option<&str>,
        asn_db: Option<&Path>,
        countries: &dyn CountryLookup,
    ) -> Result<NetworkContext, NetCtxError> {
        let asn_db = asn_db.map(AsnDb::open).transpose()?;
        let mut ctx = NetworkContext {
            label: label.and_then(clean_text),
            ..NetworkContext::default()
        };
        if let Some(ip) = ip {
            ctx.country = countries
                .country(ip.to_canonical())
                .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
                .map(|c| c.to_ascii_uppercase());
            if let Some(db) = &asn_db
                && let Some((asn, name)) = db.lookup(ip)?
            {
                ctx.asn = Some(asn);
                ctx.as_name = name;
            }
        }
        Ok(ctx)
    }
}

/// No country table: everything unknown.
struct NoCountries;

impl CountryLookup for NoCountries {
    fn country(&self, _ip: IpAddr) -> Option<String> {
        None
    }
}

/// Trimmed, control characters removed, bounded; `None` when empty.
fn clean_text(s: &str) -> Option<String> {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(TEXT_MAX)
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}
