//! The assets the pages use, served by the binary itself (no CDN): our stylesheet and script,
//! HTMX and Monaco from their npm packages (`assets/node_modules`, installed by the build
//! script), and the SDK's declarations for the editor. Vendor files live under versioned paths
//! and are cached for a year; our own files carry an ETag and are revalidated.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;

/// The installed versions (those of `assets/package.json`; a test keeps them in step).
pub const HTMX_VERSION: &str = "2.0.11";
pub const MONACO_VERSION: &str = "0.52.2";
pub const HTMX_PATH: &str = "/assets/htmx/2.0.11/htmx.min.js";
pub const MONACO_BASE: &str = "/assets/monaco/0.52.2/vs";

/// The SDK's declarations, the one source of the editor's completions and the reference.
pub const SDK_TYPES: &str = include_str!("../../../runtime/src/sdk.d.ts");

const HTMX: &[u8] = include_bytes!("../../assets/node_modules/htmx.org/dist/htmx.min.js");

#[derive(RustEmbed)]
#[folder = "assets/"]
#[include = "*.css"]
#[include = "*.js"]
#[include = "*.svg"]
#[exclude = "node_modules/*"]
struct Own;

/// Monaco's minified AMD build, with only the JavaScript/TypeScript and JSON languages.
#[derive(RustEmbed)]
#[folder = "assets/node_modules/monaco-editor/min/vs/"]
#[include = "loader.js"]
#[include = "editor/*"]
#[include = "base/*"]
#[include = "language/typescript/*"]
#[include = "language/json/*"]
#[include = "basic-languages/javascript/*"]
#[include = "basic-languages/typescript/*"]
struct Monaco;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "public, max-age=300, must-revalidate";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("ttf") => "font/ttf",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn immutable(path: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type(path)))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .body(body)
}

/// One of our own files, with an ETag from its hash (304 when the browser has it).
fn revalidated(request: &HttpRequest, path: &str, body: Vec<u8>, hash: &str) -> HttpResponse {
    let etag = format!("\"{}\"", &hash[..hash.len().min(24)]);
    let fresh = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == etag);
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CONTENT_TYPE, content_type(path)))
        .insert_header((header::CACHE_CONTROL, REVALIDATE))
        .insert_header((header::ETAG, etag));
    if fresh {
        response.finish()
    } else {
        response.body(body)
    }
}

async fn asset(request: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    if path == HTMX_PATH.trim_start_matches("/assets/") {
        return immutable(&path, HTMX.to_vec());
    }
    let monaco = path
        .strip_prefix(&format!("monaco/{MONACO_VERSION}/vs/"))
        .and_then(|rest| Monaco::get(rest).map(|file| (rest, file)));
    if let Some((rest, file)) = monaco {
        return immutable(rest, file.data.into_owned());
    }
    if path == "sdk.d.ts" {
        let hash = domain::token::hash_token(SDK_TYPES);
        return revalidated(&request, &path, SDK_TYPES.as_bytes().to_vec(), &hash);
    }
    if let Some(file) = Own::get(&path) {
        let hash: String = file
            .metadata
            .sha256_hash()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        return revalidated(&request, &path, file.data.into_owned(), &hash);
    }
    HttpResponse::NotFound()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(web::resource("/assets/{path:.*}").route(web::get().to(asset)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_versions_are_the_installed_ones() {
        let manifest = include_str!("../../assets/package.json");
        let manifest: serde_json::Value = serde_json::from_str(manifest).expect("package.json");
        let dependencies = &manifest["dependencies"];
        assert_eq!(dependencies["htmx.org"], HTMX_VERSION);
        assert_eq!(dependencies["monaco-editor"], MONACO_VERSION);
        assert!(HTMX_PATH.contains(HTMX_VERSION));
        assert!(MONACO_BASE.contains(MONACO_VERSION));
    }

    #[test]
    fn the_editor_files_are_embedded_and_other_languages_are_not() {
        for file in [
            "loader.js",
            "editor/editor.main.js",
            "editor/editor.main.css",
            "base/worker/workerMain.js",
            "language/typescript/tsWorker.js",
            "basic-languages/javascript/javascript.js",
        ] {
            assert!(Monaco::get(file).is_some(), "{file} missing");
        }
        assert!(Monaco::get("basic-languages/python/python.js").is_none());
        assert!(Own::get("ui.css").is_some() && Own::get("ui.js").is_some());
        assert!(Own::get("node_modules/htmx.org/dist/htmx.min.js").is_none());
    }
}
