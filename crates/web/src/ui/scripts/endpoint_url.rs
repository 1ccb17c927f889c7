//! The full URLs of an `http` script: `{origin}/api/scripts{path}` for members with an API
//! token, and, for a public endpoint, the webhook URL `{origin}/hooks/{tenantSlug}{path}`.
//! The form shows them as the path is typed (`GET /scripts/endpoint-preview`); the script
//! page shows them too.

use super::super::errors::{OrPage, UiError};
use super::super::i18n::Lang;
use super::super::session::Page;
use super::html;
use crate::AppState;
use crate::api::query::Query;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

/// Where the pages are served from, as the browser reached them.
pub fn origin(request: &HttpRequest) -> String {
    let info = request.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// The URLs of a path (nothing for an empty one).
pub fn endpoint_urls(lang: Lang, origin: &str, slug: &str, path: &str, public: bool) -> Markup {
    let path = path.trim();
    if path.is_empty() {
        return html! {};
    }
    let slash = if path.starts_with('/') { "" } else { "/" };
    html! {
        dl.endpoint-urls {
            dt { (lang.t("script.url.endpoint")) }
            dd { code #endpoint-url { (origin) "/api/scripts" (slash) (path) } }
            @if public {
                dt { (lang.t("script.url.webhook")) }
                dd { code #webhook-url { (origin) "/hooks/" (slug) (slash) (path) } }
            } @else {
                dd.muted { (lang.t("script.url.public_only")) }
            }
        }
    }
}

/// The tenant's slug, for the webhook URL.
pub async fn tenant_slug(state: &AppState, page: &Page) -> Result<String, UiError> {
    let tenant = state.accounts.tenant_of(page.actor()).await.or_page(page)?;
    Ok(tenant.slug.as_str().to_owned())
}

/// `GET /scripts/endpoint-preview?HTTPPath=…&EndpointAuth=…`
pub async fn preview(
    state: web::Data<AppState>,
    page: Page,
    request: HttpRequest,
    query: Query,
) -> Result<HttpResponse, UiError> {
    let path = query.get("HTTPPath").map_or("", String::as_str);
    let public = query
        .get("EndpointAuth")
        .is_some_and(|auth| auth == "public");
    let slug = tenant_slug(&state, &page).await?;
    Ok(html(endpoint_urls(
        page.lang,
        &origin(&request),
        &slug,
        path,
        public,
    )))
}
