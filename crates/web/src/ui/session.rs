//! The signed-in user of a page: `Page` reads the session cookie (a 401 becomes the sign-in
//! page), and `Mutation` also demands the session's CSRF token in the `X-CSRF-Token` header
//! (HTMX sends it on every request) and refuses a request from another origin.

use super::errors::{PageContext, UiError, UiErrorKind};
use super::i18n::Lang;
use super::theme::Theme;
use crate::AppState;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::Payload;
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpRequest, web};
use domain::{Actor, Permission};
use futures::future::LocalBoxFuture;
use services::{AccountError, Session};

/// The session cookie's name (an `http` script may never set a cookie of this name).
pub use services::sessions::SESSION_COOKIE;
/// The header HTMX sends the CSRF token in.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// A request of a signed-in user.
pub struct Page {
    pub session: Session,
    pub lang: Lang,
    pub theme: Theme,
    pub htmx: bool,
}

impl Page {
    pub fn actor(&self) -> &Actor {
        &self.session.actor
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.session.actor.can(permission)
    }

    /// Refuses (403 page) a user without `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), UiError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(self.fail(UiErrorKind::Forbidden))
        }
    }
}

impl PageContext for Page {
    fn lang(&self) -> Lang {
        self.lang
    }
    fn theme(&self) -> Theme {
        self.theme
    }
    fn htmx(&self) -> bool {
        self.htmx
    }
}

/// What an error needs before a session is known.
pub struct Bare {
    pub lang: Lang,
    pub theme: Theme,
    pub htmx: bool,
}

impl PageContext for Bare {
    fn lang(&self) -> Lang {
        self.lang
    }
    fn theme(&self) -> Theme {
        self.theme
    }
    fn htmx(&self) -> bool {
        self.htmx
    }
}

impl Bare {
    pub fn of(request: &HttpRequest) -> Self {
        Self {
            lang: Lang::of(request),
            theme: Theme::of(request),
            htmx: request.headers().contains_key("HX-Request"),
        }
    }
}

/// The state was not registered: a wiring mistake, never the client's.
#[derive(Debug, thiserror::Error)]
#[error("application state missing")]
struct StateMissing;

/// The cookie that carries a session: HTTP-only, `SameSite=Lax`, `Secure` when the page was
/// served over https (plain http stays usable on 127.0.0.1).
pub fn session_cookie(
    request: &HttpRequest,
    value: String,
    max_age_seconds: i64,
) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(request.connection_info().scheme() == "https")
        .max_age(time::Duration::seconds(max_age_seconds))
        .finish()
}

async fn session_of(request: &HttpRequest, bare: &Bare) -> Result<Session, UiError> {
    let state = request
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| bare.fail(UiErrorKind::internal(StateMissing)))?;
    let next = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let sign_in = || bare.fail(UiErrorKind::SignIn { next: next.clone() });
    let cookie = request.cookie(SESSION_COOKIE).ok_or_else(sign_in)?;
    match state.accounts.authenticate_session(cookie.value()).await {
        Ok(session) => Ok(session),
        Err(AccountError::BadSession) => Err(sign_in()),
        Err(other) => Err(bare.fail(other.into())),
    }
}

impl FromRequest for Page {
    type Error = UiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let bare = Bare::of(&request);
            let session = session_of(&request, &bare).await?;
            Ok(Page {
                session,
                lang: bare.lang,
                theme: bare.theme,
                htmx: bare.htmx,
            })
        })
    }
}

/// A state-changing request of a signed-in user, with its CSRF token checked.
pub struct Mutation(pub Page);

/// Whether the request's `Origin` (when the browser sent one) is this server's own.
pub fn same_origin(request: &HttpRequest) -> bool {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return true;
    };
    let info = request.connection_info();
    origin
        .to_str()
        .is_ok_and(|origin| origin == format!("{}://{}", info.scheme(), info.host()))
}

/// Compares two tokens in time independent of where they differ.
fn same_token(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len()
        && presented
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

impl FromRequest for Mutation {
    type Error = UiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let bare = Bare::of(&request);
            let session = session_of(&request, &bare).await?;
            let presented = request
                .headers()
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            let safe = matches!(*request.method(), Method::GET | Method::HEAD);
            let checked = same_origin(&request) && same_token(presented, &session.csrf_token);
            if !(safe || checked) {
                tracing::info!(
                    path = request.path(),
                    "request refused: CSRF token or origin"
                );
                return Err(bare.fail(UiErrorKind::Csrf));
            }
            Ok(Mutation(Page {
                session,
                lang: bare.lang,
                theme: bare.theme,
                htmx: bare.htmx,
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
        assert!(!same_token("", "abc"));
    }
}
