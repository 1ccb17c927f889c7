//! A script's versions: the list, Monaco's diff view between any two of them, and restoring
//! one (as a new version; the old ones stay as they are).

use super::super::errors::{OrPage, UiError};
use super::super::layout::{self, data_script, time};
use super::super::session::{Mutation, Page};
use super::{html, script_id};
use crate::AppState;
use crate::api::query::{Query, integer};
use actix_web::{HttpResponse, web};
use domain::paging::PageRequest;
use domain::{Permission, ValidationErrors};
use maud::html;

/// How many versions one page lists (each with its source, for the diff).
const PER_PAGE: u64 = 20;

pub async fn list(
    state: web::Data<AppState>,
    page: Page,
    id: web::Path<String>,
    query: Query,
) -> Result<HttpResponse, UiError> {
    let lang = page.lang;
    let raw = id.into_inner();
    let id = script_id(&page, &raw)?;
    let script = state.scripts.get(page.actor(), id).await.or_page(&page)?;
    let mut ignored = ValidationErrors::new();
    let number = integer(&query, "page", &mut ignored).unwrap_or(1).max(1) as u64;
    let request = PageRequest {
        page: number,
        limit: PER_PAGE,
    };
    let versions = state
        .scripts
        .versions(page.actor(), id, request)
        .await
        .or_page(&page)?;
    let find = |key: &str| {
        let wanted = integer(&query, key, &mut ValidationErrors::new());
        versions
            .items
            .iter()
            .find(|v| Some(i64::from(v.version)) == wanted)
    };
    let newest = versions.items.first();
    let right = find("b").or(newest);
    let left = find("a").or_else(|| versions.items.get(1)).or(right);
    let title = format!(
        "{} · {}",
        lang.t("versions.title"),
        script.spec.name.as_str()
    );
    let body = html! {
        h1 { (title) }
        p { a href={ "/scripts/" (raw) } { "← " (script.spec.name.as_str()) } }
        @if let (Some(left), Some(right)) = (left, right) {
            form.filters method="get" {
                label { (lang.t("versions.compare")) }
                select name="a" aria-label=(lang.t("versions.left")) {
                    @for v in &versions.items { option value=(v.version) selected[v.version == left.version] { "v" (v.version) } }
                }
                select name="b" aria-label=(lang.t("versions.right")) {
                    @for v in &versions.items { option value=(v.version) selected[v.version == right.version] { "v" (v.version) } }
                }
                button type="submit" { (lang.t("versions.show_diff")) }
            }
            p.hint { "v" (left.version) " → v" (right.version) }
            div #diff.code-editor.diff data-original="diff-left" data-modified="diff-right" {}
            (data_script("diff-left", left.spec.source.as_str()))
            (data_script("diff-right", right.spec.source.as_str()))
        }
        table.table {
            thead { tr {
                th { (lang.t("script.version")) }
                th { (lang.t("script.created")) }
                th { (lang.t("versions.summary")) }
                th {}
            } }
            tbody {
                @for v in &versions.items {
                    tr {
                        td { "v" (v.version) @if v.version == script.version { " " span.badge.badge-active { (lang.t("versions.current")) } } }
                        td { (time(&v.created_at)) }
                        td { (v.change_summary) }
                        td {
                            @if v.version != script.version && page.can(Permission::ScriptsUpdate) {
                                button.restore hx-post={ "/scripts/" (raw) "/versions/" (v.version) "/restore" }
                                    hx-confirm=(lang.t("versions.restore_confirm")) { (lang.t("versions.restore")) }
                            }
                        }
                    }
                }
            }
        }
        nav.pager {
            @if versions.page > 1 { a href={ "?page=" (versions.page - 1) } { "← " (lang.t("pager.previous")) } }
            span { (versions.page) " / " (layout::page_count(&versions)) }
            @if versions.has_next() { a href={ "?page=" (versions.page + 1) } { (lang.t("pager.next")) " →" } }
        }
    };
    Ok(html(layout::page(
        &page,
        &format!("/scripts/{raw}/versions"),
        &title,
        body,
    )))
}

pub async fn restore(
    state: web::Data<AppState>,
    mutation: Mutation,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, UiError> {
    let page = mutation.0;
    let (raw, version) = path.into_inner();
    let id = script_id(&page, &raw)?;
    let version: i32 = version.parse().map_err(|_| {
        super::super::errors::PageContext::fail(&page, super::super::errors::UiErrorKind::NotFound)
    })?;
    let script = state
        .scripts
        .restore(page.actor(), id, version)
        .await
        .or_page(&page)?;
    Ok(HttpResponse::Ok()
        .insert_header(("HX-Redirect", format!("/scripts/{}", script.id)))
        .finish())
}
