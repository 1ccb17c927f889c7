//! `cargo xtask tidy`: the architecture held by checks that fail the build. Each rule reads the
//! tree as text (and `cargo metadata` for the crate graph) and reports every violation with
//! its file and line.

mod graph;
mod rules;

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// A source file as the rules see it: its path from the workspace root and its text.
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// One broken rule, where.
#[derive(Debug, PartialEq, Eq)]
pub struct Violation {
    pub rule: &'static str,
    pub at: String,
    pub message: String,
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<SourceFile>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "target" && name != "node_modules" && !name.starts_with('.') {
                collect(root, &path, files)?;
            }
        } else if name.ends_with(".rs") {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            files.push(SourceFile {
                path: relative.to_string_lossy().replace('\\', "/"),
                text: std::fs::read_to_string(&path)?,
            });
        }
    }
    Ok(())
}

/// The Rust sources of the workspace's crates, migrations and xtask.
fn sources(root: &Path) -> Result<Vec<SourceFile>> {
    let mut files = Vec::new();
    for top in ["crates", "migrations", "xtask"] {
        collect(root, &root.join(top), &mut files)?;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Every violation in the tree at `root`.
pub fn check(root: &Path) -> Result<Vec<Violation>> {
    let files = sources(root)?;
    let architecture_path: PathBuf = root.join("docs").join("ARCHITECTURE.md");
    let architecture = std::fs::read_to_string(&architecture_path)?;
    let mut violations = Vec::new();
    violations.extend(rules::first_line(&files));
    violations.extend(rules::file_size(&files));
    violations.extend(rules::clock_reads(&files));
    violations.extend(rules::domain_purity(&files));
    violations.extend(rules::module_cycles(&files));
    violations.extend(rules::architecture_names(&files, &architecture));
    let edges = graph::workspace_edges(root)?;
    violations.extend(graph::check(&edges, &architecture));
    Ok(violations)
}

/// Runs every rule; fails listing the violations.
pub fn run(root: &Path) -> Result<()> {
    println!("==> cargo xtask tidy");
    let violations = check(root)?;
    if violations.is_empty() {
        println!("    tidy: ok");
        return Ok(());
    }
    for violation in &violations {
        eprintln!(
            "tidy [{}] {}: {}",
            violation.rule, violation.at, violation.message
        );
    }
    bail!("tidy found {} violation(s)", violations.len())
}
