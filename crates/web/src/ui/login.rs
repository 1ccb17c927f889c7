//! Signing in and out, the language switcher, and `/`, which leads to the dashboard or to the
//! sign-in page.

use super::errors::{OrPage, PageContext, UiError};
use super::i18n::{LANG_COOKIE, Lang};
use super::layout;
use super::session::{Bare, Mutation, SESSION_COOKIE, same_origin, session_cookie};
use crate::AppState;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use services::AccountError;
use std::collections::HashMap;

/// Only a local path is a place to go back to after signing in.
fn safe_next(next: Option<&String>) -> String {
    next.filter(|next| next.starts_with('/') && !next.starts_with("//") && !next.contains('\\'))
        .cloned()
        .unwrap_or_else(|| "/dashboard".to_owned())
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

fn form(bare: &Bare, email: &str, next: &str, error: Option<&str>) -> Markup {
    let lang = bare.lang;
    layout::bare(
        lang,
        bare.theme,
        &lang.t("login.title"),
        html! {
            main.narrow.login {
                h1 { "IOTA Scripts" }
                h2 { (lang.t("login.title")) }
                @if let Some(error) = error {
                    p.alert.error role="alert" id="login-error" { (error) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    label for="email" { (lang.t("login.email")) }
                    input type="email" id="email" name="email" value=(email) required autofocus autocomplete="username";
                    label for="password" { (lang.t("login.password")) }
                    input type="password" id="password" name="password" required autocomplete="current-password";
                    button.primary type="submit" { (lang.t("login.submit")) }
                }
            }
        },
    )
}

fn html_response(status: actix_web::http::StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

async fn show(request: HttpRequest, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let next = safe_next(query.get("next"));
    let page = form(&Bare::of(&request), "", &next, None);
    html_response(actix_web::http::StatusCode::OK, page)
}

async fn submit(
    state: web::Data<AppState>,
    request: HttpRequest,
    fields: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, UiError> {
    let bare = Bare::of(&request);
    let lang = bare.lang;
    let email = fields.get("email").map(String::as_str).unwrap_or_default();
    let password = fields
        .get("password")
        .map(String::as_str)
        .unwrap_or_default();
    let next = safe_next(fields.get("next"));
    if !same_origin(&request) {
        return Err(bare.fail(super::errors::UiErrorKind::Csrf));
    }
    let address = request
        .peer_addr()
        .map(|address| address.ip().to_string())
        .unwrap_or_default();
    let refused = |status, message: String| {
        Ok(html_response(
            status,
            form(&bare, email, &next, Some(&message)),
        ))
    };
    match state.accounts.sign_in(email, password, &address).await {
        Ok(signed_in) => {
            let cookie = session_cookie(
                &request,
                signed_in.secret.expose().to_owned(),
                signed_in.max_age_seconds,
            );
            Ok(HttpResponse::SeeOther()
                .cookie(cookie)
                .insert_header((header::LOCATION, next))
                .finish())
        }
        Err(AccountError::BadCredentials) => refused(
            actix_web::http::StatusCode::UNAUTHORIZED,
            lang.t("login.bad_credentials"),
        ),
        Err(AccountError::SignInThrottled { minutes }) => refused(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            lang.t("login.throttled")
                .replace("%{minutes}", &minutes.to_string()),
        ),
        Err(other) => Err::<HttpResponse, _>(other).or_page(&bare),
    }
}

async fn logout(
    state: web::Data<AppState>,
    request: HttpRequest,
    mutation: Mutation,
) -> Result<HttpResponse, UiError> {
    if let Some(cookie) = request.cookie(SESSION_COOKIE) {
        state
            .accounts
            .sign_out(cookie.value())
            .await
            .or_page(&mutation.0)?;
    }
    let mut expired = session_cookie(&request, String::new(), 0);
    expired.make_removal();
    // HTMX would follow a 303 itself and swap the sign-in page into the button.
    if mutation.0.htmx {
        return Ok(HttpResponse::Ok()
            .cookie(expired)
            .insert_header(("HX-Redirect", "/login"))
            .finish());
    }
    Ok(HttpResponse::SeeOther()
        .cookie(expired)
        .insert_header((header::LOCATION, "/login"))
        .finish())
}

async fn switch_language(
    code: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let next = safe_next(query.get("next"));
    let Some(lang) = Lang::parse(&code) else {
        return see_other(&next);
    };
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(365))
        .finish();
    HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, next))
        .finish()
}

async fn root(request: HttpRequest) -> HttpResponse {
    match request.cookie(SESSION_COOKIE) {
        Some(_) => see_other("/dashboard"),
        None => see_other("/login"),
    }
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/").route(web::get().to(root)))
        .service(
            web::resource("/login")
                .route(web::get().to(show))
                .route(web::post().to(submit)),
        )
        .service(web::resource("/logout").route(web::post().to(logout)))
        .service(web::resource("/lang/{code}").route(web::get().to(switch_language)));
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        let cases = [
            (Some("/scripts?page=2"), "/scripts?page=2"),
            (Some("//evil.example/"), "/dashboard"),
            (Some("https://evil.example/"), "/dashboard"),
            (Some("/\\evil.example"), "/dashboard"),
            (None, "/dashboard"),
        ];
        for (next, expected) in cases {
            assert_eq!(safe_next(next.map(str::to_owned).as_ref()), expected);
        }
    }
}
