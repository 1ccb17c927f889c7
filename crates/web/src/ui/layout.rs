//! The page shell: head with the embedded assets, the CSRF token for HTMX, navigation by
//! permission, the language switcher; and small helpers the views share.

use super::assets::{HTMX_PATH, MONACO_BASE};
use super::i18n::Lang;
use super::session::{CSRF_HEADER, Page};
use super::theme::{self, Theme};
use chrono::{DateTime, Utc};
use domain::Permission;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A query-string or path value, percent-encoded.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A time as the pages show it (UTC, to the second).
pub fn time(at: &DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S")) } }
}

pub fn optional_time(at: Option<&DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { span.muted { "—" } },
    }
}

/// The items a list holds: `10000+` past the count's cap.
pub fn total<T>(page: &domain::paging::Page<T>) -> String {
    if page.total_exact {
        page.total.to_string()
    } else {
        format!("{}+", page.total)
    }
}

/// The pages a list holds: `500+` past the count's cap.
pub fn page_count<T>(page: &domain::paging::Page<T>) -> String {
    if page.total_exact {
        page.pages().to_string()
    } else {
        format!("{}+", page.pages())
    }
}

/// A status as a coloured badge (`completed`, `failed`, `active`…).
pub fn badge(status: &str, label: &str) -> Markup {
    html! { span class={ "badge badge-" (status) } { (label) } }
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · IOTA Scripts" }
            link rel="stylesheet" href="/assets/ui.css";
            link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
            script src=(HTMX_PATH) {}
            script src="/assets/ui.js" defer {}
            meta name="monaco-base" content=(MONACO_BASE);
            meta name="lang" content=(lang.code());
        }
    }
}

/// A page without navigation: sign-in and error pages.
pub fn bare(lang: Lang, theme: Theme, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) data-theme=[theme.attribute()] {
            (head(lang, title))
            body { (body) }
        }
    }
}

fn language_switcher(lang: Lang, here: &str) -> Markup {
    html! {
        nav.langs aria-label=(lang.t("nav.language")) {
            @for other in Lang::ALL {
                @if other == lang {
                    span.current lang=(other.code()) { (other.native_name()) }
                } @else {
                    a lang=(other.code()) href={ "/lang/" (other.code()) "?next=" (encode(here)) } {
                        (other.native_name())
                    }
                }
            }
        }
    }
}

/// A page of a signed-in user: header, navigation, the body, with the CSRF token that HTMX
/// sends on every request.
pub fn page(page: &Page, here: &str, title: &str, body: Markup) -> Markup {
    let lang = page.lang;
    let headers = format!(r#"{{"{CSRF_HEADER}": "{}"}}"#, page.session.csrf_token);
    html! {
        (DOCTYPE)
        html lang=(lang.code()) data-theme=[page.theme.attribute()] {
            (head(lang, title))
            body hx-headers=(headers) {
                header.top {
                    a.brand href="/dashboard" { "IOTA Scripts" }
                    nav.main {
                        a href="/dashboard" { (lang.t("nav.dashboard")) }
                        a href="/scripts" { (lang.t("nav.scripts")) }
                        a href="/executions" { (lang.t("nav.executions")) }
                        a href="/dead-letters" { (lang.t("nav.dead_letters")) }
                        @if page.can(Permission::ScriptsCreate) {
                            a href="/scripts/new" { (lang.t("nav.new_script")) }
                        }
                    }
                    (language_switcher(lang, here))
                    (theme::switcher(lang, page.theme, here))
                    div.user {
                        span.muted { (page.session.email) }
                        button.link hx-post="/logout" { (lang.t("nav.sign_out")) }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// JSON for a `<pre>`, pretty-printed.
pub fn json_block(value: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    html! { pre.json { (text) } }
}

/// Raw text the page script reads (e.g. a source for Monaco), safely inside a `<script>`.
pub fn data_script(id: &str, text: &str) -> Markup {
    // `</` would end the element early; JSON with it escaped cannot.
    let json = serde_json::to_string(text)
        .unwrap_or_default()
        .replace("</", "<\\/");
    html! { script type="application/json" id=(id) { (PreEscaped(json)) } }
}
