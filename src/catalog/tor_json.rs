//! Bridge lists in the JSON shapes the Tor Project publishes:
//!
//! * Tor Browser's `pt_config.json` (tor-browser-build,
//!   `projects/tor-expert-bundle/pt_config.json`): an object whose
//!   `"bridges"` member maps a group name (`"obfs4"`, `"meek-azure"`,
//!   `"snowflake"`, …) to an array of bridge lines. The other members
//!   (`"recommendedDefault"`, `"pluggableTransports"`) are ignored.
//! * The moat `circumvention/builtin` response: the same group-to-array map
//!   at the top level.
//! * The moat `circumvention/settings` and `circumvention/defaults`
//!   responses: `{"settings": [{"bridges": {"type": …, "source": …,
//!   "bridge_strings": [...]}}], …}`; the group is the `type`. A setting
//!   without `bridge_strings` (meaning "use the built-in ones") yields
//!   nothing. A moat `{"errors": [...]}` reply is reported as an error.
//!
//! A line that is not a valid bridge line is returned as an error next to
//! its group, so one bad entry does not hide the others; a value of the
//! wrong JSON type fails the whole document, naming where it is. Groups come
//! out in name order (JSON objects carry no order we can rely on), lines in
//! file order.

use serde_json::{Map, Value};

use super::bridge_line::{self, BridgeLine, BridgeLineError};

/// Why a JSON document could not be read as a bridge list at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TorJsonError {
    #[error("not valid JSON: {0}")]
    NotJson(String),
    #[error("the JSON must be an object ({{…}}) listing bridges, found {found}")]
    NotAnObject { found: &'static str },
    #[error("{path} must be {expected}, found {found}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("the moat service answered with errors: {0}")]
    MoatErrors(String),
    #[error(
        "no bridge lists found: expected Tor Browser's pt_config.json (a \"bridges\" object), \
         a moat circumvention/builtin response or a moat settings response"
    )]
    NoBridges,
}

/// Each bridge line found, with the group it was listed under.
pub type GroupedBridges = Vec<(String, Result<BridgeLine, BridgeLineError>)>;

/// Parses a `pt_config.json` or a moat response.
pub fn parse(text: &str) -> Result<GroupedBridges, TorJsonError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| TorJsonError::NotJson(e.to_string()))?;
    let Value::Object(root) = value else {
        return Err(TorJsonError::NotAnObject {
            found: type_name(&value),
        });
    };
    let groups = collect_groups(&root)?;
    let mut out = Vec::new();
    for (group, lines) in groups {
        for line in lines {
            out.push((group.clone(), bridge_line::parse(line)));
        }
    }
    Ok(out)
}

/// Whether `text` is JSON in one of the shapes [`parse`] reads.
pub fn looks_like(text: &str) -> bool {
    if !text.trim_start().starts_with('{') {
        return false;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(root)) => collect_groups(&root).is_ok(),
        _ => false,
    }
}

/// The bridge lines of each group, in the shape `root` has.
fn collect_groups(root: &Map<String, Value>) -> Result<Vec<(String, Vec<&str>)>, TorJsonError> {
    if let Some(bridges) = root.get("bridges") {
        let Value::Object(map) = bridges else {
            return Err(wrong_type(
                "\"bridges\"".to_string(),
                "an object mapping transport names to arrays of bridge lines",
                bridges,
            ));
        };
        return group_map(map, "bridges.");
    }
    if root.contains_key("settings") || root.contains_key("errors") {
        return moat_settings(root);
    }
    if root.is_empty() {
        return Err(TorJsonError::NoBridges);
    }
    group_map(root, "")
}

/// `{"group": ["line", …], …}`.
fn group_map<'a>(
    map: &'a Map<String, Value>,
    prefix: &str,
) -> Result<Vec<(String, Vec<&'a str>)>, TorJsonError> {
    let mut groups = Vec::with_capacity(map.len());
    for (group, lines) in map {
        let path = format!("{prefix}{group}");
        groups.push((group.clone(), string_array(lines, &path)?));
    }
    // serde_json's map order depends on its features; make it name order.
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(groups)
}

fn string_array<'a>(value: &'a Value, path: &str) -> Result<Vec<&'a str>, TorJsonError> {
    let Value::Array(items) = value else {
        return Err(wrong_type(
            path.to_string(),
            "an array of bridge lines",
            value,
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str()
                .ok_or_else(|| wrong_type(format!("{path}[{i}]"), "a bridge line string", item))
        })
        .collect()
}

fn moat_settings(root: &Map<String, Value>) -> Result<Vec<(String, Vec<&str>)>, TorJsonError> {
    if let Some(errors) = root.get("errors")
        && !errors.is_null()
    {
        let Value::Array(list) = errors else {
            return Err(wrong_type("errors".to_string(), "an array", errors));
        };
        if !list.is_empty() {
            let details: Vec<String> = list
                .iter()
                .map(|e| {
                    let code = e.get("code").map(Value::to_string);
                    let detail = e.get("detail").and_then(Value::as_str);
                    match (code, detail) {
                        (Some(c), Some(d)) => format!("{d} (code {c})"),
                        (None, Some(d)) => d.to_string(),
                        (Some(c), None) => format!("code {c}"),
                        (None, None) => e.to_string(),
                    }
                })
                .collect();
            return Err(TorJsonError::MoatErrors(details.join("; ")));
        }
    }
    let settings = match root.get("settings") {
        None | Some(Value::Null) => return Err(TorJsonError::NoBridges),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(wrong_type("settings".to_string(), "an array", other));
        }
    };
    let mut groups = Vec::with_capacity(settings.len());
    for (i, setting) in settings.iter().enumerate() {
        let path = format!("settings[{i}].bridges");
        let Some(bridges) = setting.get("bridges") else {
            return Err(wrong_type(
                format!("settings[{i}]"),
                "an object with a \"bridges\" member",
                setting,
            ));
        };
        let Value::Object(bridges) = bridges else {
            return Err(wrong_type(path, "an object", bridges));
        };
        let group = match bridges.get("type") {
            None => String::new(),
            Some(Value::String(t)) => t.clone(),
            Some(other) => {
                return Err(wrong_type(format!("{path}.type"), "a string", other));
            }
        };
        let lines = match bridges.get("bridge_strings") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => string_array(v, &format!("{path}.bridge_strings"))?,
        };
        groups.push((group, lines));
    }
    Ok(groups)
}

fn wrong_type(path: String, expected: &'static str, found: &Value) -> TorJsonError {
    TorJsonError::WrongType {
        path,
        expected,
        found: type_name(found),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::bridge_line::Transport;

    /// Tor Browser's pt_config.json as published in tor-browser-build
    /// (mirror tor-actions/tor-browser-build, commit 00ff7fc6dd75…), the
    /// source of `bridges/tor-builtin.txt`.
    const PT_CONFIG: &str = r#"{
  "recommendedDefault" : "obfs4",
  "pluggableTransports" : {
    "lyrebird" : "ClientTransportPlugin meek_lite,obfs2,obfs3,obfs4,scramblesuit,webtunnel exec ${pt_path}lyrebird${pt_extension}",
    "snowflake": "ClientTransportPlugin snowflake exec ${pt_path}lyrebird${pt_extension}",
    "conjure" : "ClientTransportPlugin conjure exec ${pt_path}conjure-client${pt_extension} -registerURL https://registration.refraction.network/api"
  },
  "bridges" : {
    "meek-azure" : [
      "meek_lite 192.0.2.20:80 url=https://1603026938.rsc.cdn77.org front=www.phpmyadmin.net utls=HelloRandomizedALPN"
    ],
    "obfs4" : [
      "obfs4 192.95.36.142:443 CDF2E852BF539B82BD10E27E9115A31734E378C2 cert=qUVQ0srL1JI/vO6V6m/24anYXiJD3QP2HgzUKQtQ7GRqqUvs7P+tG43RtAqdhLOALP7DJQ iat-mode=1",
      "obfs4 37.218.245.14:38224 D9A82D2F9C2F65A18407B1D2B764F130847F8B5D cert=bjRaMrr1BRiAW8IE9U5z27fQaYgOhX1UCmOpg2pFpoMvo6ZgQMzLsaTzzQNTlm7hNcb+Sg iat-mode=0",
      "obfs4 85.31.186.98:443 011F2599C0E9B27EE74B353155E244813763C3E5 cert=ayq0XzCwhpdysn5o0EyDUbmSOx3X/oTEbzDMvczHOdBJKlvIdHHLJGkZARtT4dcBFArPPg iat-mode=0",
      "obfs4 85.31.186.26:443 91A6354697E6B02A386312F68D82CF86824D3606 cert=PBwr+S8JTVZo6MPdHnkTwXJPILWADLqfMGoVvhZClMq/Urndyd42BwX9YFJHZnBB3H0XCw iat-mode=0",
      "obfs4 193.11.166.194:27015 2D82C2E354D531A68469ADF7F878FA6060C6BACA cert=4TLQPJrTSaDffMK7Nbao6LC7G9OW/NHkUwIdjLSS3KYf0Nv4/nQiiI8dY2TcsQx01NniOg iat-mode=0",
      "obfs4 193.11.166.194:27020 86AC7B8D430DAC4117E9F42C9EAED18133863AAF cert=0LDeJH4JzMDtkJJrFphJCiPqKx7loozKN7VNfuukMGfHO0Z8OGdzHVkhVAOfo1mUdv9cMg iat-mode=0",
      "obfs4 193.11.166.194:27025 1AE2C08904527FEA90C4C4F8C1083EA59FBC6FAF cert=ItvYZzW5tn6v3G4UnQa6Qz04Npro6e81AP70YujmK/KXwDFPTs3aHXcHp4n8Vt6w/bv8cA iat-mode=0",
      "obfs4 209.148.46.65:443 74FAD13168806246602538555B5521A0383A1875 cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa+7kTOa9/m+tGWT1SmSYpQ9uTBGa6Hw iat-mode=0",
      "obfs4 146.57.248.225:22 10A6CD36A537FCE513A322361547444B393989F0 cert=K1gDtDAIcUfeLqbstggjIw2rtgIKqdIhUlHp82XRqNSq/mtAjp1BIC9vHKJ2FAEpGssTPw iat-mode=0",
      "obfs4 45.145.95.6:27015 C5B7CD6946FF10C5B3E89691A7D3F2C122D2117C cert=TD7PbUO0/0k6xYHMPW3vJxICfkMZNdkRrb63Zhl5j9dW3iRGiCx0A7mPhe5T2EDzQ35+Zw iat-mode=0",
      "obfs4 51.222.13.177:80 5EDAC3B810E12B01F6FD8050D2FD3E277B289A08 cert=2uplIpLQ0q9+0qMFrK5pkaYRDOe460LL9WHBvatgkuRr/SL31wBOEupaMMJ6koRE6Ld0ew iat-mode=0"
    ],
    "snowflake" : [
      "snowflake 192.0.2.3:80 2B280B23E1107BB62ABFC40DDCC8824814F80A72 fingerprint=2B280B23E1107BB62ABFC40DDCC8824814F80A72 url=https://voluble-torrone-fc39bf.netlify.app/ fronts=vuejs.org ice=stun:stun.epygi.com:3478,stun:stun.uls.co.za:3478,stun:stun.voipgate.com:3478,stun:stun.mixvoip.com:3478,stun:stun.nextcloud.com:3478,stun:stun.bethesda.net:3478,stun:stun.nextcloud.com:443 utls-imitate=hellorandomizedalpn",
      "snowflake 192.0.2.4:80 8838024498816A039FCBBAB14E6F40A0843051FA fingerprint=8838024498816A039FCBBAB14E6F40A0843051FA url=https://voluble-torrone-fc39bf.netlify.app/ fronts=vuejs.org ice=stun:stun.epygi.com:3478,stun:stun.uls.co.za:3478,stun:stun.voipgate.com:3478,stun:stun.mixvoip.com:3478,stun:stun.nextcloud.com:3478,stun:stun.bethesda.net:3478,stun:stun.nextcloud.com:443 utls-imitate=hellorandomizedalpn"
    ]
  }
}
"#;

    const OBFS4: &str = "obfs4 192.95.36.142:443 CDF2E852BF539B82BD10E27E9115A31734E378C2 cert=qUVQ0srL1JI/vO6V6m/24anYXiJD3QP2HgzUKQtQ7GRqqUvs7P+tG43RtAqdhLOALP7DJQ iat-mode=1";

    fn groups(entries: &GroupedBridges) -> Vec<&str> {
        let mut g: Vec<&str> = entries.iter().map(|(g, _)| g.as_str()).collect();
        g.dedup();
        g
    }

    #[test]
    fn pt_config_matches_shipped_list() {
        assert!(looks_like(PT_CONFIG));
        let entries = parse(PT_CONFIG).unwrap();
        assert_eq!(groups(&entries), vec!["meek-azure", "obfs4", "snowflake"]);
        assert_eq!(entries.len(), 14);
        let from_json: Vec<String> = entries
            .iter()
            .map(|(g, r)| match r {
                Ok(b) => b.to_string(),
                Err(e) => panic!("{g}: {e}"),
            })
            .collect();
        let shipped: Vec<&str> = include_str!("../../bridges/tor-builtin.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(from_json, shipped);
    }

    #[test]
    fn moat_builtin_shape() {
        let text = format!(
            r#"{{"obfs4": ["{OBFS4}", "obfs4 192.0.2.1:0"], "meek": [], "webtunnel": ["webtunnel [2001:db8::1]:443 url=https://example.org/p ver=0.0.1"]}}"#
        );
        assert!(looks_like(&text));
        let entries = parse(&text).unwrap();
        assert_eq!(groups(&entries), vec!["obfs4", "webtunnel"]);
        assert!(entries[0].1.is_ok());
        let e = entries[1].1.as_ref().unwrap_err().to_string();
        assert!(e.contains("port 0 is not valid"), "{e}");
        assert_eq!(
            entries[2].1.as_ref().map(|b| b.transport.clone()),
            Ok(Transport::Webtunnel)
        );
    }

    #[test]
    fn moat_settings_shape() {
        let text = format!(
            r#"{{"settings": [
                {{"bridges": {{"type": "obfs4", "source": "bridgedb", "bridge_strings": ["{OBFS4}"]}}}},
                {{"bridges": {{"type": "snowflake", "source": "builtin"}}}}
            ], "country": "xx"}}"#
        );
        assert!(looks_like(&text));
        let entries = parse(&text).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0, "obfs4");

        let err = parse(r#"{"errors": [{"code": 404, "detail": "no settings for xx"}]}"#);
        assert_eq!(
            err.unwrap_err().to_string(),
            "the moat service answered with errors: no settings for xx (code 404)"
        );
        assert_eq!(parse(r#"{"settings": null}"#), Err(TorJsonError::NoBridges));
    }

    #[test]
    fn not_an_object_or_not_json() {
        assert!(matches!(parse("not json"), Err(TorJsonError::NotJson(_))));
        assert!(matches!(parse(""), Err(TorJsonError::NotJson(_))));
        assert_eq!(
            parse(r#"["obfs4 1.2.3.4:1"]"#),
            Err(TorJsonError::NotAnObject { found: "an array" })
        );
        assert_eq!(
            parse("42").unwrap_err().to_string(),
            "the JSON must be an object ({…}) listing bridges, found a number"
        );
        assert_eq!(parse("{}"), Err(TorJsonError::NoBridges));
        assert!(!looks_like("{}"));
        assert!(!looks_like("[1]"));
        assert!(!looks_like("obfs4 1.2.3.4:1"));
        assert!(!looks_like("{broken"));
    }

    #[test]
    fn wrong_types_name_the_place() {
        let e = parse(r#"{"bridges": ["obfs4 1.2.3.4:1"]}"#).unwrap_err();
        assert!(
            e.to_string().starts_with("\"bridges\" must be an object"),
            "{e}"
        );
        let e = parse(r#"{"bridges": {"obfs4": "obfs4 1.2.3.4:1"}}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bridges.obfs4 must be an array of bridge lines, found a string"
        );
        let e = parse(r#"{"bridges": {"obfs4": ["x", 7]}}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bridges.obfs4[1] must be a bridge line string, found a number"
        );
        let e = parse(r#"{"obfs4": true}"#).unwrap_err();
        assert!(e.to_string().starts_with("obfs4 must be an array"), "{e}");
        let e = parse(r#"{"settings": {}}"#).unwrap_err();
        assert!(
            e.to_string().starts_with("settings must be an array"),
            "{e}"
        );
        let e = parse(r#"{"settings": [{"bridges": {"type": 1}}]}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("settings[0].bridges.type must be a string"),
            "{e}"
        );
        let e = parse(r#"{"settings": [{}]}"#).unwrap_err();
        assert!(
            e.to_string().starts_with("settings[0] must be an object"),
            "{e}"
        );
        let e = parse(r#"{"settings": [{"bridges": {"bridge_strings": [null]}}]}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("settings[0].bridges.bridge_strings[0] must be a bridge line string"),
            "{e}"
        );
        assert!(!looks_like(r#"{"version": 3, "name": "x"}"#));
    }

    #[test]
    fn bad_lines_are_kept_per_entry() {
        let entries =
            parse(r#"{"bridges": {"obfs4": ["", "obfs4 192.0.2.1:443 iat-mode=0"]}}"#).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].1, Err(BridgeLineError::Empty));
        assert!(matches!(
            entries[1].1,
            Err(BridgeLineError::MissingOption { .. })
        ));
    }
}
