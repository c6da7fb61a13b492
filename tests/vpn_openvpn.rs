//! OpenVPN end to end: the real `bridgescout` binary in a client network
//! namespace against REAL `openvpn` 2.6 servers in a server namespace
//! (tests/common/vpnlab.rs), with a PKI made by the `openssl` CLI and keys
//! by `openvpn --genkey` at test time, and iptables interference.
//!
//! Servers (all on the lab's server address, each with its own tun device
//! inside the server namespace): plain UDP and TCP, tls-auth UDP and TCP
//! (server key-direction 0), tls-crypt UDP and TCP, tls-crypt-v2 UDP.
//! Profiles are written per scenario; several scenarios share one scan
//! where they cannot disturb each other, to keep the wall time short:
//!
//! 1. no interference: every server reachable (reset verified, certificate
//!    verified against `<ca>`), a 2-remote profile giving 2 records, no
//!    `<ca>` (reachable, with a note); wrong tls-crypt key, wrong tls-auth
//!    key, key-direction and digest → `no_response` (over TCP the server
//!    hangs up: still `no_response`); a keyed probe to a keyless server →
//!    `bad_response`; an unrelated CA → `certificate_invalid`.
//! 2. UDP drop → `no_response`, ICMP port-unreachable → `port_unreachable`,
//!    ICMP host-unreachable → `host_unreachable`, TCP RST on SYN →
//!    `connection_refused`, TCP drop → `timeout` (nothing else answered).
//! 3. TCP drop while another server answers → `ip_blocked`; a UDP flow
//!    cut right after the reset exchange → `stalled` at `openvpn_tls`.
//!
//! Every scan's stdout and stderr are checked for key material.
//!
//! Needs root + iproute2, iptables, openvpn, openssl (scripts/test installs
//! them); fails loudly otherwise, unless BRIDGESCOUT_SKIP_NETNS=1.

#[path = "common/vpnlab.rs"]
mod vpnlab;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use vpnlab::{Block, LabScan, VpnLab, require_tool, run_bounded};

/// Per-step timeout handed to the binary.
const TIMEOUT_SECS: &str = "2";
/// Hard bound on one scan run.
const RUN_DEADLINE: Duration = Duration::from_secs(40);
const CMD_DEADLINE: Duration = Duration::from_secs(30);

const PLAIN_UDP: u16 = 1194;
const PLAIN_TCP: u16 = 1443;
const AUTH_UDP: u16 = 1195;
const AUTH_TCP: u16 = 1444;
const CRYPT_UDP: u16 = 1196;
const CRYPT_TCP: u16 = 1445;
const V2_UDP: u16 = 1197;

/// Runs a host command (no network: key and certificate generation).
fn run(dir: &Path, prog: &Path, args: &[&str]) {
    let out = run_bounded(Command::new(prog).args(args).current_dir(dir), CMD_DEADLINE);
    assert!(
        out.code() == Some(0),
        "{} {} failed ({:?}):\n{}\n{}",
        prog.display(),
        args.join(" "),
        out.status,
        out.stdout,
        out.stderr
    );
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// A self-signed CA (`name.crt`, `name.key`).
fn make_ca(dir: &Path, openssl: &Path, name: &str, cn: &str) {
    run(
        dir,
        openssl,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-days",
            "3",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// A leaf signed by `ca` with extended key usage `eku`.
fn make_leaf(dir: &Path, openssl: &Path, ca: &str, name: &str, eku: &str) {
    std::fs::write(
        dir.join(format!("{name}.ext")),
        format!(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\n\
             extendedKeyUsage={eku}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        ),
    )
    .unwrap();
    run(
        dir,
        openssl,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    run(
        dir,
        openssl,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.crt"),
            "-days",
            "3",
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

/// Everything secret or public the profiles are made of.
struct Material {
    dir: PathBuf,
    ca: String,
    other_ca: String,
    client_cert: String,
    client_key: String,
    tls_auth: String,
    tls_crypt: String,
    wrong: String,
    v2_client: String,
}

fn make_material(dir: &Path, openssl: &Path, openvpn: &Path) -> Material {
    make_ca(dir, openssl, "ca", "bridgescout OpenVPN test CA");
    make_ca(dir, openssl, "other-ca", "bridgescout unrelated CA");
    make_leaf(dir, openssl, "ca", "server", "serverAuth");
    make_leaf(dir, openssl, "ca", "client", "clientAuth");
    for k in ["ta.key", "tc.key", "wrong.key"] {
        run(dir, openvpn, &["--genkey", "secret", k]);
    }
    run(
        dir,
        openvpn,
        &["--genkey", "tls-crypt-v2-server", "v2s.key"],
    );
    run(
        dir,
        openvpn,
        &[
            "--tls-crypt-v2",
            "v2s.key",
            "--genkey",
            "tls-crypt-v2-client",
            "v2c.key",
        ],
    );
    Material {
        dir: dir.to_path_buf(),
        ca: read(dir, "ca.crt"),
        other_ca: read(dir, "other-ca.crt"),
        client_cert: read(dir, "client.crt"),
        client_key: read(dir, "client.key"),
        tls_auth: read(dir, "ta.key"),
        tls_crypt: read(dir, "tc.key"),
        wrong: read(dir, "wrong.key"),
        v2_client: read(dir, "v2c.key"),
    }
}

impl Material {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// Lines that must never appear in bridgescout's output: every key
    /// body line (static keys are 16 lines of 32 hex digits, PEM bodies
    /// 64 base64 characters).
    fn secret_lines(&self) -> Vec<String> {
        [
            &self.tls_auth,
            &self.tls_crypt,
            &self.wrong,
            &self.v2_client,
            &self.client_key,
        ]
        .iter()
        .flat_map(|t| t.lines())
        .map(str::trim)
        .filter(|l| l.len() >= 24 && !l.starts_with('-') && !l.starts_with('#'))
        .map(String::from)
        .collect()
    }
}

/// Starts one `openvpn` server in the server namespace.
fn spawn_server(lab: &mut VpnLab, m: &Material, n: u8, tcp: bool, port: u16, wrap: &[&str]) {
    let dev = format!("ovt{n}");
    let net = format!("10.8.{n}.0");
    let port_s = port.to_string();
    let ip = lab.server_ip.clone();
    let (ca, cert, key) = (m.path("ca.crt"), m.path("server.crt"), m.path("server.key"));
    let mut argv: Vec<&str> = vec![
        "openvpn",
        "--dev-type",
        "tun",
        "--dev",
        &dev,
        "--server",
        &net,
        "255.255.255.0",
        "--topology",
        "subnet",
        "--dh",
        "none",
        "--ca",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
        "--proto",
        if tcp { "tcp-server" } else { "udp" },
        "--local",
        &ip,
        "--port",
        &port_s,
        "--disable-dco",
        "--verb",
        "4",
    ];
    argv.extend_from_slice(wrap);
    lab.spawn_in_server(&format!("openvpn-{dev}"), &argv);
}

/// An `.ovpn` client profile.
fn profile(remotes: &[(&str, u16, &str)], ca: Option<&str>, extra: &str) -> String {
    let mut s = String::from("client\ndev tun\nnobind\nremote-cert-tls server\nverb 3\n");
    for (host, port, proto) in remotes {
        s.push_str(&format!("remote {host} {port} {proto}\n"));
    }
    if let Some(ca) = ca {
        s.push_str(&format!("<ca>\n{}\n</ca>\n", ca.trim()));
    }
    s.push_str(extra);
    s
}

fn inline(tag: &str, body: &str) -> String {
    format!("<{tag}>\n{}\n</{tag}>\n", body.trim())
}

/// Writes each profile to `dir/<stem>.ovpn` and scans them all at once.
fn scan(lab: &VpnLab, m: &Material, profiles: &[(&str, String)]) -> LabScan {
    let mut args: Vec<String> = Vec::new();
    for (stem, text) in profiles {
        let path = lab.dir.join(format!("{stem}.ovpn"));
        std::fs::write(&path, text).unwrap();
        args.push(path.to_str().unwrap().to_string());
    }
    let s = lab.scan_jsonl(&args, TIMEOUT_SECS, RUN_DEADLINE);
    // Key material never shows, in results or in warnings.
    for secret in m.secret_lines() {
        assert!(
            !s.stdout.contains(&secret) && !s.stderr.contains(&secret),
            "key material {secret:?} in bridgescout's output\n{}",
            s.dump
        );
    }
    s
}

fn label(lab: &VpnLab, stem: &str, port: u16, proto: &str) -> String {
    format!("ovpn {stem} {}:{port}/{proto}", lab.server_ip)
}

/// Checks verdict, diagnosis and failed operation of one record.
fn expect(
    s: &LabScan,
    label: &str,
    verdict: &str,
    diagnosis: &str,
    failed_op: Option<&str>,
) -> Value {
    let r = s.get(label).clone();
    let got = (
        r["kind"].as_str(),
        r["verdict"].as_str(),
        r["diagnosis"].as_str(),
        r["failed_operation"].as_str(),
    );
    assert_eq!(
        got,
        (Some("openvpn"), Some(verdict), Some(diagnosis), failed_op),
        "{label}: (kind, verdict, diagnosis, failed_operation)\nrecord:\n{}\n{}",
        serde_json::to_string_pretty(&r).unwrap(),
        s.dump
    );
    r
}

fn step<'a>(r: &'a Value, op: &str) -> Option<&'a Value> {
    r["steps"]
        .as_array()
        .and_then(|st| st.iter().find(|s| s["operation"] == op))
}

fn notes(r: &Value) -> String {
    r["notes"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

/// A reachable record: reset reply and certificate both verified.
fn expect_ok(s: &LabScan, label: &str, wrap: &str, tcp: bool) {
    let r = expect(s, label, "reachable", "ok", None);
    assert!(r["latency_ms"].is_number(), "{label}: no latency\n{r}");
    let reset = step(&r, "openvpn_reset").unwrap_or_else(|| panic!("{label}: no reset step\n{r}"));
    let detail = reset["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("server reset in ") && detail.contains(wrap),
        "{label}: reset detail {detail:?}"
    );
    let tls = step(&r, "openvpn_tls").unwrap_or_else(|| panic!("{label}: no TLS step\n{r}"));
    let detail = tls["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("server certificate verified against <ca>; TLS 1."),
        "{label}: TLS detail {detail:?}"
    );
    assert_eq!(
        step(&r, "tcp_connect").is_some(),
        tcp,
        "{label}: tcp_connect step\n{r}"
    );
}

#[test]
fn openvpn_servers_keys_certificates_and_blocking() {
    let test = module_path!();
    let Some(mut lab) = VpnLab::start(test) else {
        return;
    };
    let openvpn = require_tool(test, "openvpn", "openvpn");
    let openssl = require_tool(test, "openssl", "openssl");
    let keys = lab.dir.join("pki");
    std::fs::create_dir_all(&keys).unwrap();
    let m = make_material(&keys, &openssl, &openvpn);
    let ip = lab.server_ip.clone();

    let ta = m.path("ta.key");
    let tc = m.path("tc.key");
    let v2s = m.path("v2s.key");
    spawn_server(&mut lab, &m, 1, false, PLAIN_UDP, &[]);
    spawn_server(&mut lab, &m, 2, true, PLAIN_TCP, &[]);
    spawn_server(&mut lab, &m, 3, false, AUTH_UDP, &["--tls-auth", &ta, "0"]);
    spawn_server(&mut lab, &m, 4, true, AUTH_TCP, &["--tls-auth", &ta, "0"]);
    spawn_server(&mut lab, &m, 5, false, CRYPT_UDP, &["--tls-crypt", &tc]);
    spawn_server(&mut lab, &m, 6, true, CRYPT_TCP, &["--tls-crypt", &tc]);
    spawn_server(&mut lab, &m, 7, false, V2_UDP, &["--tls-crypt-v2", &v2s]);
    let at = |p: u16| vec![format!("{ip}:{p}")];
    for p in [PLAIN_UDP, AUTH_UDP, CRYPT_UDP, V2_UDP] {
        lab.wait_udp(&at(p));
    }
    for p in [PLAIN_TCP, AUTH_TCP, CRYPT_TCP] {
        lab.wait_tcp(&at(p));
    }

    let ip = ip.as_str();
    let auth1 = format!("key-direction 1\n{}", inline("tls-auth", &m.tls_auth));
    let crypt = inline("tls-crypt", &m.tls_crypt);
    let client_id = format!(
        "{}{}",
        inline("cert", &m.client_cert),
        inline("key", &m.client_key)
    );
    let ca = Some(m.ca.as_str());

    // --- Phase 1: no interference. ---
    let s = scan(
        &lab,
        &m,
        &[
            ("plain-udp", profile(&[(ip, PLAIN_UDP, "udp")], ca, "")),
            (
                "plain-tcp",
                profile(&[(ip, PLAIN_TCP, "tcp-client")], ca, ""),
            ),
            (
                "auth-udp",
                profile(&[(ip, AUTH_UDP, "udp")], ca, &format!("{auth1}{client_id}")),
            ),
            ("auth-tcp", profile(&[(ip, AUTH_TCP, "tcp")], ca, &auth1)),
            ("crypt-udp", profile(&[(ip, CRYPT_UDP, "udp")], ca, &crypt)),
            ("crypt-tcp", profile(&[(ip, CRYPT_TCP, "tcp")], ca, &crypt)),
            (
                "v2-udp",
                profile(
                    &[(ip, V2_UDP, "udp")],
                    ca,
                    &inline("tls-crypt-v2", &m.v2_client),
                ),
            ),
            (
                "crypt-wrong-key",
                profile(
                    &[(ip, CRYPT_UDP, "udp")],
                    ca,
                    &inline("tls-crypt", &m.wrong),
                ),
            ),
            (
                "auth-wrong-dir",
                profile(
                    &[(ip, AUTH_UDP, "udp")],
                    ca,
                    &format!("key-direction 0\n{}", inline("tls-auth", &m.tls_auth)),
                ),
            ),
            (
                "auth-wrong-key",
                profile(
                    &[(ip, AUTH_UDP, "udp")],
                    ca,
                    &format!("key-direction 1\n{}", inline("tls-auth", &m.wrong)),
                ),
            ),
            (
                "auth-wrong-digest",
                profile(
                    &[(ip, AUTH_UDP, "udp")],
                    ca,
                    &format!("auth SHA256\n{auth1}"),
                ),
            ),
            (
                "wrong-ca",
                profile(&[(ip, PLAIN_UDP, "udp")], Some(&m.other_ca), ""),
            ),
            (
                "two-remotes",
                profile(
                    &[(ip, CRYPT_UDP, "udp"), (ip, CRYPT_TCP, "tcp")],
                    ca,
                    &crypt,
                ),
            ),
            ("no-ca", profile(&[(ip, CRYPT_UDP, "udp")], None, &crypt)),
            (
                "auth-tcp-wrong-key",
                profile(
                    &[(ip, AUTH_TCP, "tcp")],
                    ca,
                    &format!("key-direction 1\n{}", inline("tls-auth", &m.wrong)),
                ),
            ),
            (
                "crypt-on-plain",
                profile(&[(ip, PLAIN_UDP, "udp")], ca, &crypt),
            ),
        ],
    );
    assert!(
        !s.stderr.contains("warning: skipped"),
        "profiles rejected:\n{}",
        s.dump
    );
    assert_eq!(s.records.len(), 17, "one record per remote\n{}", s.dump);
    expect_ok(
        &s,
        &label(&lab, "plain-udp", PLAIN_UDP, "udp"),
        "no tls-auth/tls-crypt",
        false,
    );
    expect_ok(
        &s,
        &label(&lab, "plain-tcp", PLAIN_TCP, "tcp"),
        "no tls-auth/tls-crypt",
        true,
    );
    expect_ok(
        &s,
        &label(&lab, "auth-udp", AUTH_UDP, "udp"),
        "tls-auth SHA1, key-direction 1",
        false,
    );
    expect_ok(
        &s,
        &label(&lab, "auth-tcp", AUTH_TCP, "tcp"),
        "tls-auth SHA1",
        true,
    );
    expect_ok(
        &s,
        &label(&lab, "crypt-udp", CRYPT_UDP, "udp"),
        "tls-crypt",
        false,
    );
    expect_ok(
        &s,
        &label(&lab, "crypt-tcp", CRYPT_TCP, "tcp"),
        "tls-crypt",
        true,
    );
    expect_ok(
        &s,
        &label(&lab, "v2-udp", V2_UDP, "udp"),
        "tls-crypt-v2",
        false,
    );
    expect_ok(
        &s,
        &label(&lab, "two-remotes", CRYPT_UDP, "udp"),
        "tls-crypt",
        false,
    );
    expect_ok(
        &s,
        &label(&lab, "two-remotes", CRYPT_TCP, "tcp"),
        "tls-crypt",
        true,
    );

    // Wrong keys: the server stays silent, which is never `reachable`.
    for (stem, key_word) in [
        ("crypt-wrong-key", "tls-crypt key"),
        ("auth-wrong-dir", "tls-auth key"),
        ("auth-wrong-key", "tls-auth key"),
        ("auth-wrong-digest", "tls-auth key"),
    ] {
        let port = if stem.starts_with("crypt") {
            CRYPT_UDP
        } else {
            AUTH_UDP
        };
        let r = expect(
            &s,
            &label(&lab, stem, port, "udp"),
            "failed",
            "no_response",
            Some("openvpn_reset"),
        );
        let n = notes(&r);
        assert!(
            n.contains(key_word) && n.contains("wrong key"),
            "{stem}: notes should explain silence: {n}"
        );
        assert!(step(&r, "openvpn_tls").is_none(), "{stem}: {r}");
    }

    // Over TCP the server closes the connection on a wrong key: still
    // silence (no valid answer), not an injected reset.
    let r = expect(
        &s,
        &label(&lab, "auth-tcp-wrong-key", AUTH_TCP, "tcp"),
        "failed",
        "no_response",
        Some("openvpn_reset"),
    );
    assert_eq!(r["failure"], "eof_error", "{r}");
    assert!(notes(&r).contains("wrong key"), "{r}");

    // A keyed probe to a server without a key: it answers, but nothing
    // authenticates, which the notes say.
    let r = expect(
        &s,
        &label(&lab, "crypt-on-plain", PLAIN_UDP, "udp"),
        "failed",
        "bad_response",
        Some("openvpn_reset"),
    );
    assert!(notes(&r).contains("did not authenticate"), "{r}");

    // A CA that did not sign the server certificate.
    let r = expect(
        &s,
        &label(&lab, "wrong-ca", PLAIN_UDP, "udp"),
        "failed",
        "certificate_invalid",
        Some("openvpn_tls"),
    );
    assert_eq!(r["failure"], "ssl_unknown_authority", "{r}");
    assert!(step(&r, "openvpn_reset").is_some_and(|st| st["failure"].is_null()));

    // No CA: reachable on the reset reply alone, and the note says so.
    let r = expect(
        &s,
        &label(&lab, "no-ca", CRYPT_UDP, "udp"),
        "reachable",
        "ok",
        None,
    );
    assert!(notes(&r).contains("no <ca>"), "{r}");
    assert!(step(&r, "openvpn_tls").is_none(), "{r}");

    // --- Phase 2: interference on five servers, nothing else answering. ---
    let plain_udp = profile(&[(ip, PLAIN_UDP, "udp")], ca, "");
    let auth_udp = profile(&[(ip, AUTH_UDP, "udp")], ca, &auth1);
    let plain_tcp = profile(&[(ip, PLAIN_TCP, "tcp")], ca, "");
    let auth_tcp = profile(&[(ip, AUTH_TCP, "tcp")], ca, &auth1);
    lab.block(&Block::DropUdpPort(PLAIN_UDP));
    lab.block(&Block::IcmpPortUnreachableUdp(AUTH_UDP));
    lab.block(&Block::ResetSyn(PLAIN_TCP));
    lab.block(&Block::DropPort(AUTH_TCP));
    lab.block(&Block::IcmpHostUnreachableUdp(V2_UDP));
    let s = scan(
        &lab,
        &m,
        &[
            ("plain-udp", plain_udp.clone()),
            ("auth-udp", auth_udp.clone()),
            ("plain-tcp", plain_tcp.clone()),
            ("auth-tcp", auth_tcp.clone()),
            (
                "v2-udp",
                profile(
                    &[(ip, V2_UDP, "udp")],
                    ca,
                    &inline("tls-crypt-v2", &m.v2_client),
                ),
            ),
        ],
    );
    let r = expect(
        &s,
        &label(&lab, "v2-udp", V2_UDP, "udp"),
        "failed",
        "host_unreachable",
        Some("openvpn_reset"),
    );
    assert!(notes(&r).contains("host- or network-unreachable"), "{r}");
    let r = expect(
        &s,
        &label(&lab, "plain-udp", PLAIN_UDP, "udp"),
        "failed",
        "no_response",
        Some("openvpn_reset"),
    );
    assert!(notes(&r).contains("unlikely to be a key problem"), "{r}");
    let r = expect(
        &s,
        &label(&lab, "auth-udp", AUTH_UDP, "udp"),
        "failed",
        "port_unreachable",
        Some("openvpn_reset"),
    );
    assert_eq!(r["failure"], "connection_refused", "{r}");
    expect(
        &s,
        &label(&lab, "plain-tcp", PLAIN_TCP, "tcp"),
        "failed",
        "connection_refused",
        Some("tcp_connect"),
    );
    let r = expect(
        &s,
        &label(&lab, "auth-tcp", AUTH_TCP, "tcp"),
        "failed",
        "timeout",
        Some("tcp_connect"),
    );
    assert_eq!(r["failure"], "generic_timeout_error", "{r}");

    // --- Phase 3: the dropped TCP server while another one answers; and
    // a UDP flow cut once the reset exchange (about 180 bytes with
    // tls-crypt) is through, so TLS inside the control channel stalls. ---
    lab.block(&Block::CutAfterBytes {
        port: CRYPT_UDP,
        proto: "udp",
        bytes: 250,
    });
    let s = scan(
        &lab,
        &m,
        &[
            ("auth-tcp", auth_tcp),
            ("crypt-tcp", profile(&[(ip, CRYPT_TCP, "tcp")], ca, &crypt)),
            ("crypt-udp", profile(&[(ip, CRYPT_UDP, "udp")], ca, &crypt)),
        ],
    );
    expect(
        &s,
        &label(&lab, "auth-tcp", AUTH_TCP, "tcp"),
        "failed",
        "ip_blocked",
        Some("tcp_connect"),
    );
    expect_ok(
        &s,
        &label(&lab, "crypt-tcp", CRYPT_TCP, "tcp"),
        "tls-crypt",
        true,
    );
    let r = expect(
        &s,
        &label(&lab, "crypt-udp", CRYPT_UDP, "udp"),
        "failed",
        "stalled",
        Some("openvpn_tls"),
    );
    assert!(
        step(&r, "openvpn_reset").is_some_and(|st| st["failure"].is_null()),
        "the reset must have worked: {r}"
    );
    assert!(
        notes(&r).contains("answered the reset with the right key"),
        "{r}"
    );
}
