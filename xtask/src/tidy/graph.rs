//! The crate graph: the dependencies between workspace crates, from `cargo metadata`, must be
//! exactly the edges `docs/ARCHITECTURE.md` declares in its `crate-graph` block, so that no
//! layer reaches one it must not, and the map stays true.

use super::Violation;
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Crate → the workspace crates it depends on (normal dependencies only).
pub type Edges = BTreeMap<String, BTreeSet<String>>;

/// The edges between workspace crates, as cargo resolves them.
pub fn workspace_edges(root: &Path) -> Result<Edges> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed no JSON")?;
    edges_from_metadata(&metadata)
}

fn edges_from_metadata(metadata: &serde_json::Value) -> Result<Edges> {
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata has no packages")?;
    let members: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut edges = Edges::new();
    for package in packages {
        let Some(name) = package["name"].as_str() else {
            continue;
        };
        let entry = edges.entry(name.to_owned()).or_default();
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let normal = dependency["kind"].is_null();
            if let Some(dep) = dependency["name"].as_str()
                && normal
                && members.contains(dep)
            {
                entry.insert(dep.to_owned());
            }
        }
    }
    Ok(edges)
}

/// The edges declared in the map's ```` ```crate-graph ```` block: `crate: dep, dep`.
pub fn declared(architecture: &str) -> Option<Edges> {
    let start = architecture.find("```crate-graph")?;
    let body = &architecture[start..];
    let body = &body[body.find('\n')? + 1..];
    let body = &body[..body.find("```")?];
    let mut edges = Edges::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let (name, deps) = line.split_once(':')?;
        edges.insert(
            name.trim().to_owned(),
            deps.split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    Some(edges)
}

/// Every difference between the real graph and the declared one.
pub fn check(actual: &Edges, architecture: &str) -> Vec<Violation> {
    let Some(declared) = declared(architecture) else {
        return vec![Violation {
            rule: "crate-graph",
            at: "docs/ARCHITECTURE.md".into(),
            message: "no ```crate-graph block declares the edges between crates".into(),
        }];
    };
    let mut found = Vec::new();
    let none = BTreeSet::new();
    for (krate, deps) in actual {
        let allowed = declared.get(krate).unwrap_or(&none);
        if !declared.contains_key(krate) {
            found.push(Violation {
                rule: "crate-graph",
                at: krate.clone(),
                message: "the crate is missing from the crate-graph block".into(),
            });
        }
        for dep in deps.difference(allowed) {
            found.push(Violation {
                rule: "crate-graph",
                at: krate.clone(),
                message: format!("depends on `{dep}`, which the architecture does not allow"),
            });
        }
        for dep in allowed.difference(deps) {
            found.push(Violation {
                rule: "crate-graph",
                at: krate.clone(),
                message: format!("the map declares a dependency on `{dep}` that does not exist"),
            });
        }
    }
    for krate in declared.keys().filter(|k| !actual.contains_key(*k)) {
        found.push(Violation {
            rule: "crate-graph",
            at: krate.clone(),
            message: "the map declares a crate that does not exist".into(),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MAP: &str = "text\n```crate-graph\ndomain:\nruntime: domain\nweb: domain, runtime\n```\n";

    fn metadata(web_deps: &[&str]) -> serde_json::Value {
        let deps = |names: &[&str]| -> Vec<serde_json::Value> {
            names
                .iter()
                .map(|n| json!({"name": n, "kind": null}))
                .collect()
        };
        json!({"packages": [
            {"name": "domain", "dependencies": deps(&["serde"])},
            {"name": "runtime", "dependencies": [{"name": "domain", "kind": null}, {"name": "web", "kind": "dev"}]},
            {"name": "web", "dependencies": deps(web_deps)},
        ]})
    }

    #[test]
    fn the_declared_graph_holds() {
        let edges = edges_from_metadata(&metadata(&["domain", "runtime", "tokio"])).unwrap();
        assert_eq!(check(&edges, MAP), vec![]);
    }

    #[test]
    fn an_undeclared_edge_and_a_stale_map_are_refused() {
        let edges = edges_from_metadata(&metadata(&["domain"])).unwrap();
        let messages: Vec<String> = check(&edges, MAP).into_iter().map(|v| v.message).collect();
        assert_eq!(
            messages,
            ["the map declares a dependency on `runtime` that does not exist"]
        );
        let map = MAP.replace("runtime: domain", "runtime:");
        let edges = edges_from_metadata(&metadata(&["domain", "runtime"])).unwrap();
        let violations = check(&edges, &map);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].at, "runtime");
        assert!(violations[0].message.contains("`domain`"));
        assert_eq!(check(&edges, "no block").len(), 1);
    }
}
