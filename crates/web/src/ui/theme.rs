//! The colour theme: light, dark, or the system's (the default), from the `theme` cookie that
//! the switcher in the header sets; Monaco follows it too.

use super::i18n::Lang;
use super::layout::encode;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use std::collections::HashMap;

/// The cookie the theme switcher sets.
pub const THEME_COOKIE: &str = "theme";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn code(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(code: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|theme| theme.code() == code)
    }

    /// The `data-theme` of the page: none when it follows the system.
    pub fn attribute(self) -> Option<&'static str> {
        (self != Theme::System).then(|| self.code())
    }

    pub fn of(request: &HttpRequest) -> Theme {
        request
            .cookie(THEME_COOKIE)
            .and_then(|cookie| Theme::parse(cookie.value()))
            .unwrap_or_default()
    }

    fn label_key(self) -> &'static str {
        match self {
            Theme::System => "theme.system",
            Theme::Light => "theme.light",
            Theme::Dark => "theme.dark",
        }
    }
}

/// The switcher: the current theme, and links to the others.
pub fn switcher(lang: Lang, theme: Theme, here: &str) -> Markup {
    html! {
        nav.themes aria-label=(lang.t("theme.label")) {
            @for other in Theme::ALL {
                @if other == theme {
                    span.current { (lang.t(other.label_key())) }
                } @else {
                    a data-theme-link=(other.code()) href={ "/theme/" (other.code()) "?next=" (encode(here)) } {
                        (lang.t(other.label_key()))
                    }
                }
            }
        }
    }
}

async fn switch(
    code: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let next = query
        .get("next")
        .filter(|next| next.starts_with('/') && !next.starts_with("//") && !next.contains('\\'))
        .cloned()
        .unwrap_or_else(|| "/dashboard".to_owned());
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, next));
    if let Some(theme) = Theme::parse(&code) {
        response.cookie(
            Cookie::build(THEME_COOKIE, theme.code())
                .path("/")
                .same_site(SameSite::Lax)
                .max_age(time::Duration::days(365))
                .finish(),
        );
    }
    response.finish()
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(web::resource("/theme/{code}").route(web::get().to(switch)));
}
