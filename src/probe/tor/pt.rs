//! Pluggable-transport clients: finding the binary (`--pt-path`, `PATH`,
//! Tor Browser's PluggableTransports folder), launching it once per
//! process with the managed-PT protocol (tor-ptmgr's `ipc`), and opening a
//! connection through its SOCKS5 port with the bridge line's options.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use tor_linkspec::PtTransportName;
use tor_ptmgr::ipc::{
    PluggableClientTransport, PluggableTransport as _, PtClientParameters, PtCommonParameters,
};
use tor_socksproto::SocksVersion;

use super::classify::{self, SocksError};
use super::link::{self, Runtime, Stream};
use crate::catalog::bridge_line::{BridgeLine, Transport};

/// The transport name to ask the PT client for. Lyrebird only knows
/// `meek_lite`, whatever the line says.
pub fn pt_name(line: &BridgeLine) -> String {
    match &line.transport {
        Transport::Meek => "meek_lite".into(),
        Transport::Other(name) => name.clone(),
        t => t.as_str().to_string(),
    }
}

/// Client binaries that speak `transport`, preferred first.
pub fn candidates(transport: &Transport) -> Vec<String> {
    let v: &[&str] = match transport {
        Transport::Vanilla => &[],
        Transport::Obfs4 => &["lyrebird", "obfs4proxy"],
        Transport::Meek => &["lyrebird", "obfs4proxy", "meek-client"],
        Transport::Webtunnel => &["lyrebird", "webtunnel-client"],
        Transport::Snowflake => &["snowflake-client", "lyrebird"],
        Transport::Conjure => &["conjure-client"],
        // Never derive a program name from a bridge line: a shared list
        // could otherwise make us run `sh` or `poweroff`. Unknown transports
        // are reported, not launched.
        Transport::Other(_) => &[],
    };
    v.iter().map(|s| s.to_string()).collect()
}

/// How to get a client for `transport`.
pub fn missing_hint(transport: &Transport) -> String {
    let what = match transport {
        Transport::Obfs4 | Transport::Meek => {
            "install lyrebird or obfs4proxy (Debian/Ubuntu: apt install obfs4proxy)"
        }
        Transport::Webtunnel => {
            "install lyrebird or webtunnel-client (Debian: apt install webtunnel-client)"
        }
        Transport::Snowflake => "install snowflake-client (Debian: apt install snowflake-client)",
        Transport::Conjure => "install conjure-client",
        Transport::Other(_) => {
            "bridgescout only runs known transport clients (obfs4, meek, webtunnel, snowflake, conjure)"
        }
        Transport::Vanilla => "no client needed",
    };
    format!("{what}, or point --pt-path at Tor Browser's PluggableTransports folder")
}

/// Tor Browser's PluggableTransports folders in their usual places.
fn tor_browser_dirs() -> Vec<PathBuf> {
    const TAIL: &str = "Browser/TorBrowser/Tor/PluggableTransports";
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from);
    let mut dirs = Vec::new();
    if cfg!(target_os = "macos") {
        let app = "Tor Browser.app/Contents/MacOS/Tor/PluggableTransports";
        dirs.push(PathBuf::from("/Applications").join(app));
        if let Some(h) = &home {
            dirs.push(h.join("Applications").join(app));
        }
    } else if cfg!(windows) {
        let tail = TAIL.replace('/', "\\");
        if let Some(h) = &home {
            dirs.push(h.join("Desktop").join("Tor Browser").join(&tail));
        }
        for var in ["LOCALAPPDATA", "ProgramFiles", "ProgramFiles(x86)"] {
            if let Some(base) = std::env::var_os(var) {
                dirs.push(PathBuf::from(base).join("Tor Browser").join(&tail));
            }
        }
    } else {
        if let Some(h) = &home {
            dirs.push(h.join("tor-browser").join(TAIL));
            dirs.push(
                h.join(".local/share/torbrowser/tbb/x86_64/tor-browser")
                    .join(TAIL),
            );
            dirs.push(
                h.join(".local/share/torbrowser/tbb/aarch64/tor-browser")
                    .join(TAIL),
            );
        }
        dirs.push(PathBuf::from("/opt/tor-browser").join(TAIL));
    }
    dirs
}

fn is_executable(p: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// A fresh, unguessable directory only we can use, for PT state: a fixed
/// name in the shared temp dir could be pre-created by someone else.
fn private_dir() -> std::io::Result<PathBuf> {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    if let Some(d) = DIR.get() {
        return Ok(d.clone());
    }
    let n: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("bridgescout-pt-{}-{n:016x}", std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir)?;
    Ok(DIR.get_or_init(|| dir).clone())
}

/// The file name of a binary on this platform.
fn exe(name: &str) -> String {
    if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_string()
    }
}

/// Finds a client binary for `transport`: `--pt-path` entries first (a
/// file is taken when its name is one of the candidates, a folder is
/// searched), then `PATH`, then Tor Browser's folders.
pub fn find_binary(transport: &Transport, pt_paths: &[PathBuf]) -> Option<PathBuf> {
    let names = candidates(transport);
    for p in pt_paths {
        if p.is_file() {
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_ascii_lowercase);
            if stem.is_some_and(|s| names.contains(&s)) && is_executable(p) {
                return Some(p.clone());
            }
        }
    }
    let mut dirs: Vec<PathBuf> = pt_paths.iter().filter(|p| p.is_dir()).cloned().collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(tor_browser_dirs());
    // Preference by name first, so lyrebird anywhere beats obfs4proxy.
    for name in &names {
        for d in &dirs {
            let p = d.join(exe(name));
            if is_executable(&p) {
                return Some(p);
            }
        }
    }
    None
}

/// A launched PT client. The child lives as long as this value (it exits
/// when its stdin closes), so launched ones are kept for the process.
struct Launched {
    _pt: PluggableClientTransport,
    socks: SocketAddr,
}

type LaunchMap = HashMap<(PathBuf, String), Result<Arc<Launched>, String>>;

/// Launched PT clients by (binary, transport). A binary is asked for one
/// transport per launch: asking obfs4proxy for a transport it lacks fails
/// the whole launch. Only successes are kept. A tokio mutex: held across
/// the launch so parallel probes wait for the one launch.
fn launched() -> &'static tokio::sync::Mutex<LaunchMap> {
    static MAP: OnceLock<tokio::sync::Mutex<LaunchMap>> = OnceLock::new();
    MAP.get_or_init(|| tokio::sync::Mutex::new(HashMap::new()))
}

/// Whether `bin` was already launched (successfully or not) for `name`.
pub async fn is_launched(bin: &Path, name: &str) -> bool {
    launched()
        .lock()
        .await
        .contains_key(&(bin.to_path_buf(), name.to_string()))
}

/// The SOCKS address of `bin` running transport `name`, launching it on
/// first use (bounded by `timeout`).
pub async fn get_or_launch(
    rt: &Runtime,
    bin: &Path,
    name: &str,
    timeout: Duration,
) -> Result<SocketAddr, String> {
    let key = (bin.to_path_buf(), name.to_string());
    let mut map = launched().lock().await;
    if let Some(Ok(l)) = map.get(&key) {
        return Ok(l.socks);
    }
    // A failed launch is not remembered: a slow first start must not
    // condemn every later bridge of the transport (or a re-test).
    let r = launch(rt, bin, name, timeout).await.map(Arc::new);
    let out = r.as_ref().map(|l| l.socks).map_err(Clone::clone);
    if r.is_ok() {
        map.insert(key, r);
    }
    out
}

async fn launch(
    rt: &Runtime,
    bin: &Path,
    name: &str,
    timeout: Duration,
) -> Result<Launched, String> {
    let transport: PtTransportName = name
        .parse()
        .map_err(|e| format!("bad transport name: {e}"))?;
    let state = private_dir().map_err(|e| format!("PT state dir: {e}"))?;
    let common = PtCommonParameters::builder()
        .state_location(state)
        .timeout(Some(timeout))
        .build()
        .map_err(|e| e.to_string())?;
    let client = PtClientParameters::builder()
        .transports(vec![transport.clone()])
        .build()
        .map_err(|e| e.to_string())?;
    let mut pt = PluggableClientTransport::new(bin.to_path_buf(), Vec::new(), common, client);
    match tokio::time::timeout(timeout, pt.launch(rt.clone())).await {
        Err(_) => return Err("PT client did not report ready in time".into()),
        Ok(Err(e)) => return Err(classify::chain_message(&e)),
        Ok(Ok(())) => {}
    }
    let method = pt
        .transport_methods()
        .get(&transport)
        .ok_or_else(|| format!("PT client did not offer {name}"))?;
    if method.kind() != SocksVersion::V5 {
        return Err("PT client offers only SOCKS4".into());
    }
    Ok(Launched {
        socks: method.endpoint(),
        _pt: pt,
    })
}

/// pt-spec's escaping of `;`, `=` and `\` in SOCKS arguments.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, ';' | '=' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The bridge options as SOCKS5 username/password (pt-spec §3.5): joined
/// `k=v;k=v`, split after 255 bytes; a lone NUL password when it fits.
pub fn socks_auth(params: &[(String, String)]) -> Option<(Vec<u8>, Vec<u8>)> {
    if params.is_empty() {
        return None;
    }
    let joined = params
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join(";")
        .into_bytes();
    if joined.len() <= 255 {
        return Some((joined, vec![0]));
    }
    let (user, pass) = joined.split_at(255);
    Some((user.to_vec(), pass.to_vec()))
}

/// Connects through the PT's SOCKS5 port to `target`. The PT answers only
/// after its own handshake with the bridge (obfs4's, for instance), so
/// this is the transport handshake.
pub async fn socks_connect(
    rt: &Runtime,
    socks: SocketAddr,
    target: SocketAddr,
    params: &[(String, String)],
) -> Result<Stream, SocksError> {
    let mut s = link::tcp_connect(rt, socks).await?;
    let auth = socks_auth(params);
    let method = if auth.is_some() { 2u8 } else { 0u8 };
    s.write_all(&[5, 1, method]).await?;
    let mut rep = [0u8; 2];
    s.read_exact(&mut rep).await?;
    if rep != [5, method] {
        return Err(SocksError::Protocol("PT refused our authentication method"));
    }
    if let Some((user, pass)) = auth {
        let (Ok(ul), Ok(pl)) = (u8::try_from(user.len()), u8::try_from(pass.len())) else {
            return Err(SocksError::Protocol("bridge options too long for SOCKS"));
        };
        let mut msg = vec![1, ul];
        msg.extend_from_slice(&user);
        msg.push(pl);
        msg.extend_from_slice(&pass);
        s.write_all(&msg).await?;
        s.read_exact(&mut rep).await?;
        if rep[1] != 0 {
            return Err(SocksError::Protocol("PT rejected the bridge options"));
        }
    }
    let mut req = vec![5, 1, 0];
    match target.ip() {
        IpAddr::V4(ip) => {
            req.push(1);
            req.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            req.push(4);
            req.extend_from_slice(&ip.octets());
        }
    }
    req.extend_from_slice(&target.port().to_be_bytes());
    s.write_all(&req).await?;
    s.flush().await?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    if head[0] != 5 {
        return Err(SocksError::Protocol("not a SOCKS5 reply"));
    }
    if head[1] != 0 {
        return Err(SocksError::Reply(head[1]));
    }
    // Skip the bound address.
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).await?;
            usize::from(len[0]) + 2
        }
        _ => return Err(SocksError::Protocol("bad address type in SOCKS reply")),
    };
    let mut skip = vec![0u8; rest];
    s.read_exact(&mut skip).await?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn unknown_transport_names_never_pick_a_program() {
        // A bridge line `sh 127.0.0.1:1` must not make us run /bin/sh.
        for name in ["sh", "bash", "poweroff", "obfs4proxy"] {
            let t = Transport::Other(name.to_string());
            assert!(candidates(&t).is_empty(), "{name}");
            assert_eq!(
                find_binary(&t, &[PathBuf::from("/bin"), PathBuf::from("/usr/bin")]),
                None
            );
        }
    }

    #[test]
    fn socks_auth_encoding() {
        assert_eq!(socks_auth(&[]), None);
        let (u, pw) = socks_auth(&[p("cert", "ab=c"), p("iat-mode", "0")]).unwrap();
        assert_eq!(u, b"cert=ab\\=c;iat-mode=0".to_vec());
        assert_eq!(pw, vec![0]);
        let long = "x".repeat(300);
        let (u, pw) = socks_auth(&[p("url", &long)]).unwrap();
        assert_eq!(u.len(), 255);
        assert_eq!(u.len() + pw.len(), 4 + 300);
    }

    #[test]
    fn candidates_and_names() {
        assert_eq!(candidates(&Transport::Obfs4), ["lyrebird", "obfs4proxy"]);
        assert_eq!(candidates(&Transport::Snowflake)[0], "snowflake-client");
        assert!(candidates(&Transport::Vanilla).is_empty());
        assert!(missing_hint(&Transport::Obfs4).contains("apt install obfs4proxy"));
        assert!(missing_hint(&Transport::Obfs4).contains("--pt-path"));
    }

    #[test]
    fn finds_binaries_in_pt_path_folders_and_files() {
        let dir = std::env::temp_dir().join(format!("bs-pt-find-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("lyrebird");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(
            find_binary(&Transport::Obfs4, std::slice::from_ref(&dir)),
            Some(bin.clone())
        );
        assert_eq!(
            find_binary(&Transport::Obfs4, std::slice::from_ref(&bin)),
            Some(bin.clone())
        );
        // A file named for another transport is not taken for this one.
        assert_ne!(
            find_binary(&Transport::Conjure, std::slice::from_ref(&bin)),
            Some(bin)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
