//! The declaration file and the sandbox agree: every global and SDK member a script can
//! reach is declared, and everything declared exists.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use runtime::{HostErrorCode, SDK_DECLARATIONS, standard_globals};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use support::*;

fn declared_globals() -> BTreeSet<String> {
    SDK_DECLARATIONS
        .lines()
        .filter_map(|line| {
            let rest = ["declare const ", "declare function ", "declare class "]
                .iter()
                .find_map(|p| line.strip_prefix(p))?;
            Some(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            )
        })
        .collect()
}

/// Members of each `interface Name {` block, by the identifier that starts each member line.
fn declared_members() -> BTreeMap<String, BTreeSet<String>> {
    let mut members = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in SDK_DECLARATIONS.lines() {
        if let Some(rest) = line.strip_prefix("interface ") {
            current = Some(rest.chars().take_while(|c| c.is_alphanumeric()).collect());
            continue;
        }
        if line.starts_with('}') {
            current = None;
            continue;
        }
        let Some(interface) = &current else { continue };
        let Some(member) = line.strip_prefix("  ").filter(|m| !m.starts_with(' ')) else {
            continue;
        };
        let name: String = member
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && member[name.len()..].starts_with(['(', ':', '<', '?']) {
            members
                .entry(interface.clone())
                .or_insert_with(BTreeSet::new)
                .insert(name);
        }
    }
    members
}

#[tokio::test(flavor = "multi_thread")]
async fn declarations_and_sandbox_agree() {
    let engine = engine();
    let source = "export default () => ({
        globals: Object.getOwnPropertyNames(globalThis),
        sdk: Object.keys(sdk),
        log: Object.keys(sdk.log),
        http: Object.keys(sdk.http),
        db: Object.keys(sdk.db),
        cache: Object.keys(sdk.cache),
        events: Object.keys(events),
        console: Object.keys(console),
        crypto: Object.keys(crypto),
        utils: Object.keys(utils),
        context: Object.keys(context),
    })";
    let value = output(&run(&engine, job(source)).await);
    let names = |key: &str| -> BTreeSet<String> {
        value[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let standard: BTreeSet<String> = standard_globals().into_iter().collect();
    assert!(
        standard.contains("Object") && standard.contains("JSON"),
        "{standard:?}"
    );
    let installed: BTreeSet<String> = names("globals").difference(&standard).cloned().collect();
    let declared = declared_globals();
    let undeclared: Vec<_> = installed.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "installed but not declared: {undeclared:?}"
    );
    let missing: Vec<_> = declared
        .iter()
        .filter(|d| !names("globals").contains(*d))
        .collect();
    assert!(
        missing.is_empty(),
        "declared but not installed: {missing:?}"
    );

    let members = declared_members();
    for (key, interface) in [
        ("sdk", "Sdk"),
        ("log", "SdkLog"),
        ("http", "SdkHttp"),
        ("db", "SdkDb"),
        ("cache", "SdkCache"),
        ("events", "IotaEvents"),
        ("console", "IotaConsole"),
        ("crypto", "IotaCrypto"),
        ("utils", "IotaUtils"),
        ("context", "IotaContext"),
    ] {
        let declared = members.get(interface).cloned().unwrap_or_default();
        assert_eq!(
            names(key),
            declared,
            "{key} and interface {interface} differ"
        );
    }
    assert_eq!(value["sdk"], json!(["log", "http", "db", "cache"]));
    for global in [
        "context",
        "sdk",
        "events",
        "services",
        "setTimeout",
        "URL",
        "TextDecoder",
        "atob",
        "crypto",
    ] {
        assert!(declared.contains(global), "{global} is not declared");
    }
    assert!(members["SdkDb"].contains("transaction"));
    let _: &Value = &value;
}

#[test]
fn every_host_error_code_is_declared_for_scripts() {
    let union: BTreeSet<&str> = SDK_DECLARATIONS
        .lines()
        .filter_map(|line| line.trim().strip_prefix("| \"")?.strip_suffix('"'))
        .collect();
    let codes: BTreeSet<&str> = HostErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        union, codes,
        "SdkError.code in sdk.d.ts and HostErrorCode differ"
    );
}
