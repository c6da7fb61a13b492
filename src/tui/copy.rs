//! Copying the selected endpoint out of the UI: the text, the OSC 52
//! clipboard sequence, and the file kept as a fallback for terminals that
//! ignore OSC 52 (many do, or need it enabled).

use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::measurement::EndpointInfo;

/// The file name the copied text is also written to.
pub const FILE_NAME: &str = "bridgescout-copied.txt";

/// What to paste elsewhere: a torrc `Bridge …` line for bridges (the form
/// Tor Browser's "provide a bridge" box and torrc both take), the URL for
/// resolvers.
pub fn copy_text(info: &EndpointInfo) -> String {
    let line = info.address.trim();
    if !info.kind.is_tor() {
        return line.to_string();
    }
    let already = line
        .split_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("bridge"));
    if already {
        line.to_string()
    } else {
        format!("Bridge {line}")
    }
}

/// The OSC 52 "set clipboard" sequence for `text`.
pub fn osc52(text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{b64}\x07")
}

/// Where the fallback file goes: beside the export directory when there
/// is one (the user already knows that place), else the temp directory.
pub fn file_path(export_dir: Option<&Path>) -> PathBuf {
    let dir = export_dir
        .and_then(Path::parent)
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    dir.join(FILE_NAME)
}

/// Writes `text` (plus a newline) to `path`, readable only by this user
/// where that can be said: a user's bridge line is a secret.
pub fn save(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    // In a shared temp dir someone may have planted a link to a file of
    // theirs for us to overwrite; refuse to follow one.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other(
            "refusing to write through a symbolic link",
        ));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(path)?;
    // `mode` only applies to new files; an older copy may be wider.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{EndpointKind, Origin};

    fn info(kind: EndpointKind, address: &str) -> EndpointInfo {
        EndpointInfo {
            kind,
            label: "x".into(),
            address: address.into(),
            origin: Origin::User,
        }
    }

    #[test]
    fn bridges_become_torrc_lines_and_resolvers_stay_urls() {
        let line =
            "obfs4 192.0.2.1:443 0123456789ABCDEF0123456789ABCDEF01234567 cert=abc iat-mode=0";
        assert_eq!(
            copy_text(&info(EndpointKind::Obfs4, line)),
            format!("Bridge {line}")
        );
        assert_eq!(
            copy_text(&info(EndpointKind::Tor, "192.0.2.1:9001")),
            "Bridge 192.0.2.1:9001"
        );
        // Never doubled.
        assert_eq!(
            copy_text(&info(EndpointKind::Tor, "Bridge 192.0.2.1:9001")),
            "Bridge 192.0.2.1:9001"
        );
        let url = "https://dns.example/dns-query";
        assert_eq!(copy_text(&info(EndpointKind::Doh, url)), url);
        assert_eq!(
            copy_text(&info(EndpointKind::Dot, "tls://dns.example:853")),
            "tls://dns.example:853"
        );
    }

    #[test]
    fn osc52_encodes_base64() {
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
    }

    #[test]
    fn file_goes_beside_exports_or_to_temp() {
        assert_eq!(
            file_path(Some(Path::new("/data/bs/exports"))),
            Path::new("/data/bs").join(FILE_NAME)
        );
        assert_eq!(file_path(None), std::env::temp_dir().join(FILE_NAME));
    }

    #[test]
    fn save_writes_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        save(&path, "Bridge x").unwrap();
        save(&path, "Bridge y").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "Bridge y\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
    }
}
