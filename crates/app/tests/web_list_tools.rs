//! The script list's bulk enable, disable and delete (each script checked against the
//! tenant: another tenant's id in the list is left alone), and the dead letters list walked
//! page by page with its keyset cursor — over real HTTP, on SQLite and PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use chrono::{Duration as Span, TimeZone, Utc};
use domain::execution::ExecutionError;
use domain::jobs::{DeadLetter, DeadLetterRepository, DeadLetterStatus, EventDelivery};
use domain::{ScriptId, TenantId};
use persistence::SeaDeadLetterRepository;
use serde_json::{Value, json};
use support::browser::{Signed, htmx_post, page, sign_in};
use support::{TestApp, parts, spawn_app};
use testkit::each_backend;

async fn create(app: &TestApp, token: &str, name: &str) -> String {
    let body = json!({ "name": name, "type": "oneoff", "status": "draft",
        "source": "export default async () => 1" });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// A script as its own tenant's admin reads it (status and version), or `None` when gone.
async fn read(app: &TestApp, token: &str, id: &str) -> Option<(String, i64)> {
    let (status, body) = parts(app.get(&format!("/api/v1/scripts/{id}"), token).await).await;
    (status == 200).then(|| {
        (
            body["status"].as_str().unwrap().to_owned(),
            body["version"].as_i64().unwrap(),
        )
    })
}

/// An HTMX bulk change of `ids`, with the session's CSRF token or without.
async fn bulk(
    app: &TestApp,
    user: &Signed,
    ids: &[&str],
    action: &str,
    with_token: bool,
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", *id)).collect();
    form.push(("action", action));
    htmx_post(app, "/scripts/bulk", user, with_token, &form).await
}

#[tokio::test]
async fn bulk_changes_touch_only_the_tenants_own_scripts() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let one = create(&app, &app.admin, "One").await;
        let two = create(&app, &app.admin, "Two").await;
        let three = create(&app, &app.admin, "Three").await;
        let theirs = create(&app, &app.other_tenant, "Theirs").await;
        let admin = sign_in(&app, "admin@a.test").await;

        let (_, list) = page(&app, "/scripts", &admin.cookie).await;
        assert!(
            list.contains("bulk-disable") && list.contains(&format!(r#"value="{one}""#)),
            "{list}"
        );

        // Enable two of ours and theirs: ours change, theirs is "not found" and left alone.
        let response = bulk(&app, &admin, &[&one, &two, &theirs], "enable", true).await;
        assert_eq!(response.status(), 200);
        let location = response.headers()["HX-Redirect"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(location, "/scripts?bulk=enable&changed=2&skipped=1");
        let (_, notice) = page(&app, &location, &admin.cookie).await;
        assert!(notice.contains("bulk-notice"), "{notice}");
        assert_eq!(
            read(&app, &app.admin, &one).await,
            Some(("active".into(), 2))
        );
        assert_eq!(
            read(&app, &app.admin, &two).await,
            Some(("active".into(), 2))
        );
        assert_eq!(
            read(&app, &app.admin, &three).await,
            Some(("draft".into(), 1))
        );
        assert_eq!(
            read(&app, &app.other_tenant, &theirs).await,
            Some(("draft".into(), 1))
        );

        let response = bulk(&app, &admin, &[&two, &theirs], "disable", true).await;
        assert_eq!(
            response.headers()["HX-Redirect"],
            "/scripts?bulk=disable&changed=1&skipped=1"
        );
        assert_eq!(
            read(&app, &app.admin, &two).await,
            Some(("disabled".into(), 3))
        );

        // Refused, nothing written: no token, a viewer, no script checked, an unknown action,
        // an id that is not one.
        let response = bulk(&app, &admin, &[&three], "delete", false).await;
        assert_eq!(response.status(), 403);
        let viewer = sign_in(&app, "viewer@a.test").await;
        let (_, list) = page(&app, "/scripts", &viewer.cookie).await;
        assert!(!list.contains("bulk-bar") && !list.contains(r#"name="ids""#));
        let response = bulk(&app, &viewer, &[&three], "delete", true).await;
        assert_eq!(response.status(), 403);
        let response = bulk(&app, &admin, &[], "delete", true).await;
        assert_eq!(response.status(), 422);
        let response = bulk(&app, &admin, &[&three], "explode", true).await;
        assert_eq!(response.status(), 422);
        let response = bulk(&app, &admin, &[&three, "not-an-id"], "delete", true).await;
        assert_eq!(response.status(), 422);
        assert!(response.text().await.unwrap().contains("not-an-id"));
        assert_eq!(
            read(&app, &app.admin, &three).await,
            Some(("draft".into(), 1))
        );

        // Delete ours and theirs: only ours goes.
        let response = bulk(&app, &admin, &[&one, &three, &theirs], "delete", true).await;
        assert_eq!(
            response.headers()["HX-Redirect"],
            "/scripts?bulk=delete&changed=2&skipped=1"
        );
        assert_eq!(read(&app, &app.admin, &one).await, None);
        assert_eq!(read(&app, &app.admin, &three).await, None);
        assert_eq!(
            read(&app, &app.admin, &two).await,
            Some(("disabled".into(), 3))
        );
        assert_eq!(
            read(&app, &app.other_tenant, &theirs).await,
            Some(("draft".into(), 1))
        );
        app.stop().await;
    })
    .await;
}

async fn tenant_of(app: &TestApp, token: &str) -> TenantId {
    app.components
        .accounts
        .authenticate_token(token)
        .await
        .unwrap()
        .tenant_id
}

/// `count` dead letters of `script`, one a second apart (the first is the oldest), and two
/// more with the same time to make ties; their ids newest first, as the list orders them.
async fn letters(app: &TestApp, tenant: TenantId, script: ScriptId, count: i64) -> Vec<String> {
    let repository = SeaDeadLetterRepository::new(app.components.database.clone());
    let base = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    let mut made = Vec::new();
    for n in 0..count {
        let created_at = base + Span::seconds(n.min(count - 3));
        let letter = DeadLetter {
            id: uuid::Uuid::new_v4(),
            delivery: EventDelivery {
                event_id: uuid::Uuid::new_v4(),
                tenant_id: tenant,
                script_id: script,
                event_type: "order.failed".into(),
                payload: json!({ "n": n }),
                published_at: created_at,
                source_script_id: None,
                depth: 0,
                attempt: 3,
                retry_of: None,
            },
            script_version: 1,
            error: ExecutionError {
                code: "SCRIPT_ERROR".into(),
                message: format!("letter {n}"),
                line: None,
                column: None,
                stack: None,
            },
            attempts: 3,
            last_execution_id: None,
            status: DeadLetterStatus::Pending,
            created_at,
            handled_at: None,
        };
        repository.insert(&letter).await.unwrap();
        made.push((created_at, letter.id));
    }
    made.sort_by(|a, b| b.cmp(a));
    made.into_iter().map(|(_, id)| id.to_string()).collect()
}

/// The ids of the letters on a list page, in order, and the link to the older page.
fn letters_on(html: &str) -> (Vec<String>, Option<String>) {
    let ids = html
        .split(r#"href="/dead-letters/"#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect();
    let older = html
        .split(r#"id="older" href=""#)
        .nth(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"));
    (ids, older)
}

#[tokio::test]
async fn the_dead_letters_list_pages_by_keyset_through_every_letter() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let tenant = tenant_of(&app, &app.admin).await;
        let script: ScriptId = create(&app, &app.admin, "Letters").await.parse().unwrap();
        let expected = letters(&app, tenant, script, 123).await;
        let admin = sign_in(&app, "admin@a.test").await;

        let mut seen = Vec::new();
        let mut next = Some(format!("/dead-letters?scriptId={script}"));
        let mut pages = 0;
        while let Some(path) = next {
            let (status, html) = page(&app, &path, &admin.cookie).await;
            assert_eq!(status, 200, "{path}");
            let (ids, older) = letters_on(&html);
            assert!(ids.len() <= 50, "a page shows at most 50");
            seen.extend(ids);
            next = older;
            pages += 1;
            assert!(pages < 10, "the pages end");
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, expected, "every letter once, newest first");

        // The API walks the same way with `cursor`.
        let mut api_seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = cursor.as_ref().map_or(String::new(), |c| {
                format!("&cursor={}", c.replace(':', "%3A").replace('+', "%2B"))
            });
            let (status, body) = parts(
                app.get(&format!("/api/v1/dead-letters?limit=40{query}"), &app.admin)
                    .await,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            api_seen.extend(
                body["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["id"].as_str().unwrap().to_owned()),
            );
            match &body["nextCursor"] {
                Value::String(next) => cursor = Some(next.clone()),
                _ => break,
            }
        }
        assert_eq!(api_seen, expected);

        let (status, html) = page(&app, "/dead-letters?cursor=yesterday", &admin.cookie).await;
        assert_eq!(status, 400);
        assert!(html.contains("cursor"));
        app.stop().await;
    })
    .await;
}
