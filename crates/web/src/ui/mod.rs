//! The web pages: server-rendered with maud, made live with HTMX, the editor with Monaco; all
//! assets served by the binary. Signed-in users only (a session cookie, CSRF-checked on every
//! state-changing request); every page goes through the tenant-scoped services.

pub mod assets;
mod dashboard;
mod dead_letters;
pub mod errors;
mod executions;
mod history;
pub mod i18n;
mod layout;
mod login;
mod scripts;
pub mod session;
pub mod templates;
pub mod theme;

use actix_web::{HttpRequest, web};
use errors::{PageContext, UiError, UiErrorKind};

/// A path no route knows: the 404 page.
async fn not_found(request: HttpRequest) -> Result<actix_web::HttpResponse, UiError> {
    Err(session::Bare::of(&request).fail(UiErrorKind::NotFound))
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .configure(assets::routes)
        .configure(login::routes)
        .configure(theme::routes)
        .service(web::resource("/dashboard").route(web::get().to(dashboard::dashboard)))
        .configure(scripts::routes)
        .configure(history::routes)
        .configure(executions::routes)
        .configure(dead_letters::routes);
}

/// The answer for any path nothing else serves.
pub fn default_service() -> actix_web::Route {
    web::route().to(not_found)
}
