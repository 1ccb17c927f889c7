//! The web pages over real HTTP: sign-in and its cookie, throttled failures, CSRF refusals,
//! RBAC (hidden controls and 403 pages), form validation that writes nothing, manual runs,
//! tenant isolation by URL, languages and the embedded assets.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use reqwest::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, redirect};
use support::{TestApp, spawn_app};
use testkit::each_backend;

const PASSWORD: &str = "correct horse battery";

/// A browser that does not follow redirects, so that the tests see them.
fn browser() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// A signed-in user: the session cookie and the page's CSRF token.
struct Signed {
    cookie: String,
    csrf: String,
}

async fn sign_in_response(app: &TestApp, email: &str, password: &str) -> Response {
    browser()
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/scripts"),
        ])
        .send()
        .await
        .unwrap()
}

async fn sign_in(app: &TestApp, email: &str) -> Signed {
    let response = sign_in_response(app, email, PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/scripts");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let page = get(app, "/dashboard", &cookie).await.text().await.unwrap();
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

async fn get(app: &TestApp, path: &str, cookie: &str) -> Response {
    browser()
        .get(format!("{}{path}", app.base))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

/// A state-changing HTMX request with the session's token (or without, when `csrf` is None).
async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    user: &Signed,
    csrf: Option<&str>,
    form: &[(&str, &str)],
) -> Response {
    let mut request = browser()
        .request(method, format!("{}{path}", app.base))
        .header(COOKIE, &user.cookie)
        .header("HX-Request", "true")
        .form(form);
    if let Some(csrf) = csrf {
        request = request.header("X-CSRF-Token", csrf);
    }
    request.send().await.unwrap()
}

fn script_form<'a>(name: &'a str, source: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Name", name),
        ("Description", "made in the form"),
        ("Type", "oneoff"),
        ("Status", "active"),
        ("CronExpression", "not used by a oneoff"),
        ("MaxExecutionTimeMs", "5000"),
        ("MaxMemoryBytes", "67108864"),
        ("MaxConcurrentRuns", "5"),
        ("MaxAPICallsPerMinute", "60"),
        ("MaxOutputSizeBytes", "1048576"),
        ("Source", source),
    ]
}

const ECHO: &str = "export default async function (input) { console.log('got', input.n); return { doubled: input.n * 2 } }";

/// Creates a script through the form and returns its id.
async fn create_script(app: &TestApp, user: &Signed, name: &str) -> String {
    let response = send(
        app,
        reqwest::Method::POST,
        "/scripts",
        user,
        Some(&user.csrf),
        &script_form(name, ECHO),
    )
    .await;
    assert_eq!(response.status(), 200);
    let location = response.headers()["HX-Redirect"]
        .to_str()
        .unwrap()
        .to_owned();
    location.trim_start_matches("/scripts/").to_owned()
}

#[tokio::test]
async fn pages_need_a_session_and_sign_in_sets_a_safe_cookie() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let root = get(&app, "/", "").await;
        assert_eq!(
            (
                root.status().as_u16(),
                root.headers()[LOCATION].to_str().unwrap()
            ),
            (303, "/login")
        );
        let page = get(&app, "/scripts?page=2", "").await;
        assert_eq!(page.status(), 303);
        assert_eq!(
            page.headers()[LOCATION],
            "/login?next=%2Fscripts%3Fpage%3D2"
        );
        let wrong = sign_in_response(&app, "admin@a.test", "wrong password").await;
        assert_eq!(wrong.status(), 401);
        assert!(wrong.headers().get(SET_COOKIE).is_none());
        assert!(wrong.text().await.unwrap().contains("login-error"));

        let response = sign_in_response(&app, "admin@a.test", PASSWORD).await;
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("iota_session=iotw_"), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Secure"),
            "plain http on 127.0.0.1 must keep working: {cookie}"
        );
        // A session is not an API token.
        let session = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("iota_session=");
        assert_eq!(app.get("/api/v1/scripts", session).await.status(), 401);

        let user = sign_in(&app, "admin@a.test").await;
        let dashboard = get(&app, "/dashboard", &user.cookie).await;
        assert_eq!(dashboard.status(), 200);
        assert_eq!(
            get(&app, "/", &user.cookie).await.headers()[LOCATION],
            "/dashboard"
        );

        // The pages read the API with the cookie (the execution stream), but never write with it.
        assert_eq!(
            get(&app, "/api/v1/scripts", &user.cookie).await.status(),
            200
        );
        let write = browser()
            .post(format!("{}/api/v1/scripts", app.base))
            .header(COOKIE, &user.cookie)
            .json(&serde_json::json!({ "name": "By cookie", "type": "oneoff", "source": ECHO }))
            .send()
            .await
            .unwrap();
        assert_eq!(write.status(), 401);

        let out = send(
            &app,
            reqwest::Method::POST,
            "/logout",
            &user,
            Some(&user.csrf),
            &[],
        )
        .await;
        assert_eq!(
            out.status(),
            200,
            "HTMX is told where to go, not redirected"
        );
        assert_eq!(out.headers()["HX-Redirect"], "/login");
        assert_eq!(
            get(&app, "/dashboard", &user.cookie).await.status(),
            303,
            "the session ended"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn failed_sign_ins_are_bounded_per_account() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        for _ in 0..5 {
            assert_eq!(
                sign_in_response(&app, "dev@a.test", "wrong").await.status(),
                401
            );
        }
        let locked = sign_in_response(&app, "dev@a.test", PASSWORD).await;
        assert_eq!(locked.status(), 429, "even the right password waits now");
        assert!(locked.headers().get(SET_COOKIE).is_none());
        // Another account from the same address is not locked yet.
        assert_eq!(
            sign_in_response(&app, "viewer@a.test", PASSWORD)
                .await
                .status(),
            303
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_state_change_without_the_csrf_token_is_refused_and_writes_nothing() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let user = sign_in(&app, "admin@a.test").await;
        let form = script_form("No token", ECHO);
        let missing = send(&app, reqwest::Method::POST, "/scripts", &user, None, &form).await;
        assert_eq!(missing.status(), 403);
        let wrong = send(
            &app,
            reqwest::Method::POST,
            "/scripts",
            &user,
            Some(&"0".repeat(64)),
            &form,
        )
        .await;
        assert_eq!(wrong.status(), 403);
        let foreign = browser()
            .post(format!("{}/scripts", app.base))
            .header(COOKIE, &user.cookie)
            .header("X-CSRF-Token", &user.csrf)
            .header("Origin", "https://evil.example")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), 403);
        assert_eq!(app.script_count().await, 0);
        create_script(&app, &user, "With token").await;
        assert_eq!(app.script_count().await, 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_fields_are_shown_beside_them_and_nothing_is_written() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let user = sign_in(&app, "admin@a.test").await;
        let mut form = script_form("ab", "export default function (input) { return 1 ");
        form.retain(|(name, _)| {
            *name != "MaxMemoryBytes" && *name != "Type" && *name != "CronExpression"
        });
        form.push(("MaxMemoryBytes", "lots"));
        form.push(("Type", "scheduled"));
        form.push(("CronExpression", "61 * * * *"));
        let response = send(
            &app,
            reqwest::Method::POST,
            "/scripts",
            &user,
            Some(&user.csrf),
            &form,
        )
        .await;
        assert_eq!(response.status(), 422);
        let body = response.text().await.unwrap();
        for field in ["Name", "MaxMemoryBytes", "CronExpression"] {
            let slot = format!("id=\"error-{field}\" hx-swap-oob=\"true\" role=\"alert\"");
            assert!(body.contains(&slot), "no error beside {field}: {body}");
        }
        assert_eq!(app.script_count().await, 0);

        // Without HTMX the whole form comes back with the messages beside the fields.
        let plain = browser()
            .post(format!("{}/scripts", app.base))
            .header(COOKIE, &user.cookie)
            .header("X-CSRF-Token", &user.csrf)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(plain.status(), 422);
        let page = plain.text().await.unwrap();
        assert!(
            page.contains("id=\"field-Name\"") && page.contains("value=\"ab\""),
            "{page}"
        );
        assert_eq!(app.script_count().await, 0);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_viewer_sees_no_controls_and_gets_403_on_their_routes() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let admin = sign_in(&app, "admin@a.test").await;
        let id = create_script(&app, &admin, "Shared").await;
        let admin_page = get(&app, &format!("/scripts/{id}"), &admin.cookie)
            .await
            .text()
            .await
            .unwrap();
        assert!(admin_page.contains("id=\"edit\"") && admin_page.contains("hx-delete"));

        let viewer = sign_in(&app, "viewer@a.test").await;
        let page = get(&app, &format!("/scripts/{id}"), &viewer.cookie).await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("Shared"));
        for control in [
            "id=\"edit\"",
            "hx-delete",
            "id=\"run-form\"",
            "href=\"/scripts/new\"",
        ] {
            assert!(!page.contains(control), "a viewer sees {control}");
        }
        assert_eq!(
            get(&app, &format!("/scripts/{id}/edit"), &viewer.cookie)
                .await
                .status(),
            403
        );
        assert_eq!(
            get(&app, "/scripts/new", &viewer.cookie).await.status(),
            403
        );
        let put = send(
            &app,
            reqwest::Method::PUT,
            &format!("/scripts/{id}"),
            &viewer,
            Some(&viewer.csrf),
            &script_form("Shared", ECHO),
        )
        .await;
        assert_eq!(put.status(), 403);
        let run = send(
            &app,
            reqwest::Method::POST,
            &format!("/scripts/{id}/execute"),
            &viewer,
            Some(&viewer.csrf),
            &[("Input", "{}")],
        )
        .await;
        assert_eq!(run.status(), 403);
        let delete = send(
            &app,
            reqwest::Method::DELETE,
            &format!("/scripts/{id}"),
            &viewer,
            Some(&viewer.csrf),
            &[],
        )
        .await;
        assert_eq!(delete.status(), 403);
        assert_eq!(app.script_count().await, 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_run_from_the_script_page_shows_its_result_and_another_tenant_sees_nothing() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let admin = sign_in(&app, "admin@a.test").await;
        let id = create_script(&app, &admin, "Doubler").await;
        let bad = send(
            &app,
            reqwest::Method::POST,
            &format!("/scripts/{id}/execute"),
            &admin,
            Some(&admin.csrf),
            &[("Input", "{nope")],
        )
        .await;
        assert_eq!(bad.status(), 422);
        let run = send(
            &app,
            reqwest::Method::POST,
            &format!("/scripts/{id}/execute"),
            &admin,
            Some(&admin.csrf),
            &[("Input", "{\"n\": 21}")],
        )
        .await;
        assert_eq!(run.status(), 200);
        let result = run.text().await.unwrap();
        assert!(
            result.contains("&quot;doubled&quot;: 42") || result.contains("\"doubled\": 42"),
            "{result}"
        );
        let execution = result.split("/executions/").nth(1).unwrap()[..36].to_owned();
        let history = get(&app, &format!("/scripts/{id}/executions"), &admin.cookie)
            .await
            .text()
            .await
            .unwrap();
        assert!(history.contains(&execution));
        let page = get(&app, &format!("/executions/{execution}"), &admin.cookie)
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("got") && page.contains("log-info"), "{page}");

        let other = sign_in(&app, "admin@b.test").await;
        assert_eq!(
            get(&app, &format!("/scripts/{id}"), &other.cookie)
                .await
                .status(),
            404
        );
        assert_eq!(
            get(&app, &format!("/scripts/{id}/edit"), &other.cookie)
                .await
                .status(),
            404
        );
        assert_eq!(
            get(&app, &format!("/scripts/{id}/executions"), &other.cookie)
                .await
                .status(),
            404
        );
        assert_eq!(
            get(&app, &format!("/executions/{execution}"), &other.cookie)
                .await
                .status(),
            404
        );
        let list = get(&app, "/scripts", &other.cookie)
            .await
            .text()
            .await
            .unwrap();
        assert!(!list.contains("Doubler"));
        let dashboard = get(&app, "/dashboard", &other.cookie)
            .await
            .text()
            .await
            .unwrap();
        assert!(!dashboard.contains("Doubler"));
        let run = send(
            &app,
            reqwest::Method::POST,
            &format!("/scripts/{id}/execute"),
            &other,
            Some(&other.csrf),
            &[("Input", "{}")],
        )
        .await;
        assert_eq!(run.status(), 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn pages_speak_the_browsers_language_and_assets_are_served_with_cache_headers() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let login = browser()
            .get(format!("{}/login", app.base))
            .header(ACCEPT_LANGUAGE, "ru-RU,ru;q=0.9,en;q=0.5")
            .send()
            .await
            .unwrap();
        assert!(login.text().await.unwrap().contains("Вход"));
        let uzbek = browser()
            .get(format!("{}/login", app.base))
            .header(COOKIE, "lang=uz")
            .send()
            .await
            .unwrap();
        assert!(uzbek.text().await.unwrap().contains("Kirish"));

        let htmx = browser()
            .get(format!("{}/assets/htmx/2.0.11/htmx.min.js", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(htmx.status(), 200);
        assert!(
            htmx.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let monaco = browser()
            .get(format!("{}/assets/monaco/0.52.2/vs/loader.js", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(monaco.status(), 200);
        let css = browser()
            .get(format!("{}/assets/ui.css", app.base))
            .send()
            .await
            .unwrap();
        let etag = css.headers()["etag"].to_str().unwrap().to_owned();
        let again = browser()
            .get(format!("{}/assets/ui.css", app.base))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
        let types = browser()
            .get(format!("{}/assets/sdk.d.ts", app.base))
            .send()
            .await
            .unwrap();
        assert!(types.text().await.unwrap().contains("http"));
        let missing = browser()
            .get(format!("{}/no/such/page", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        assert!(missing.text().await.unwrap().contains("<html"));
        app.stop().await;
    })
    .await;
}
