//! A signed-in browser for the web pages' tests: sign-in with the session cookie and CSRF
//! token, plain `GET`s and HTMX requests with (or without) the token.

#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

use super::TestApp;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Method, Response, redirect};

/// A browser that does not follow redirects, so that the tests see them.
pub fn browser() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// A signed-in user: the session cookie and the page's CSRF token.
pub struct Signed {
    pub cookie: String,
    pub csrf: String,
}

pub async fn sign_in(app: &TestApp, email: &str) -> Signed {
    sign_in_at(&app.base, email).await
}

/// As `sign_in`, on the server at `base` (a server process of the test's own).
pub async fn sign_in_at(base: &str, email: &str) -> Signed {
    let response = browser()
        .post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", "correct horse battery"),
            ("next", "/dashboard"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/dashboard");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let (_, page) = page_at(base, "/dashboard", &cookie).await;
    let at = page
        .find("X-CSRF-Token")
        .expect("the CSRF token is on the page");
    let csrf: String = page[at + 12..]
        .chars()
        .skip_while(|c| !c.is_ascii_hexdigit())
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(csrf.len(), 64, "{csrf}");
    Signed { cookie, csrf }
}

/// A page's status and HTML.
pub async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    page_at(&app.base, path, cookie).await
}

/// As `page`, on the server at `base`.
pub async fn page_at(base: &str, path: &str, cookie: &str) -> (u16, String) {
    let response = browser()
        .get(format!("{base}{path}"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// An HTMX `POST` of `form` with the session's token, or without any when `with_token` is
/// false.
pub async fn htmx_post(
    app: &TestApp,
    path: &str,
    user: &Signed,
    with_token: bool,
    form: &[(&str, &str)],
) -> Response {
    let mut request = browser()
        .request(Method::POST, format!("{}{path}", app.base))
        .header(COOKIE, &user.cookie)
        .header("HX-Request", "true")
        .form(form);
    if with_token {
        request = request.header("X-CSRF-Token", &user.csrf);
    }
    request.send().await.unwrap()
}
