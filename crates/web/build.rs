//! Installs the web pages' npm packages (`htmx.org`, `monaco-editor`, `swagger-ui-dist`) into
//! `assets/node_modules` before the crate embeds them, failing with a clear message when npm is
//! missing. It runs `npm ci` again only when `assets/package-lock.json` changed.

use std::fs;
use std::path::Path;
use std::process::{Command, ExitCode};

const STAMP: &str = "node_modules/.iota-scripts-installed";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed=assets/package.json");
    println!("cargo:rerun-if-changed=assets/package-lock.json");
    println!("cargo:rerun-if-changed=assets/{STAMP}");
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let lock = match fs::read_to_string(assets.join("package-lock.json")) {
        Ok(lock) => lock,
        Err(error) => {
            eprintln!("error: cannot read crates/web/assets/package-lock.json: {error}");
            return ExitCode::FAILURE;
        }
    };
    if fs::read_to_string(assets.join(STAMP)).is_ok_and(|stamp| stamp == lock) {
        return ExitCode::SUCCESS;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let status = Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(&assets)
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => {
            eprintln!(
                "error: `npm ci` in crates/web/assets failed ({status}); the web pages need its \
                 packages (htmx.org, monaco-editor, swagger-ui-dist) from the npm registry"
            );
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!(
                "error: npm was not found ({error}). Building IOTA Scripts needs Node.js with npm \
                 (version 18 or later) to install the web pages' packages (htmx.org, \
                 monaco-editor, swagger-ui-dist) into crates/web/assets/node_modules; install \
                 Node.js and build again"
            );
            return ExitCode::FAILURE;
        }
    }
    if let Err(error) = fs::write(assets.join(STAMP), lock) {
        eprintln!("error: cannot write crates/web/assets/{STAMP}: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
