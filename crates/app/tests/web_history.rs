//! The executions and dead letters pages, and `GET /api/v1/executions`, over real HTTP on
//! SQLite and PostgreSQL: filters, keyset pages across equal timestamps, the search in logs
//! and errors, 400 on a bad filter, tenant isolation through every filter and id, and retry,
//! discard and redrive refused without the permission or the CSRF token.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use domain::execution::{
    Execution, ExecutionError, LogEntry, LogLevel, NewExecution, Outcome, Trigger, TriggerKind,
};
use domain::jobs::{DeadLetter, DeadLetterRepository, DeadLetterStatus, EventDelivery};
use domain::repository::ExecutionRepository;
use domain::{ExecutionId, ScriptId, TenantId};
use persistence::{SeaDeadLetterRepository, SeaExecutionRepository};
use reqwest::header::COOKIE;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use support::browser::{Signed, browser, page, sign_in};
use support::{TestApp, parts, spawn_app};
use testkit::each_backend;

/// An HTMX `POST` with the session's token, or with `csrf` instead when given.
async fn post(
    app: &TestApp,
    path: &str,
    user: &Signed,
    csrf: Option<&str>,
    form: &[(&str, &str)],
) -> Response {
    browser()
        .request(Method::POST, format!("{}{path}", app.base))
        .header(COOKIE, &user.cookie)
        .header("HX-Request", "true")
        .header("X-CSRF-Token", csrf.unwrap_or(&user.csrf))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn tenant_of(app: &TestApp, token: &str) -> TenantId {
    app.components
        .accounts
        .authenticate_token(token)
        .await
        .unwrap()
        .tenant_id
}

async fn script(app: &TestApp, token: &str, name: &str) -> ScriptId {
    let body = json!({ "name": name, "type": "event", "status": "active", "eventTypes": ["order.failed"],
        "source": "export default async (event) => event.payload" });
    let (status, created) = parts(app.post("/api/v1/scripts", token, &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().parse().unwrap()
}

/// A whole second, so that both databases store it exactly.
fn at(seconds_ago: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(Utc::now().timestamp() - seconds_ago, 0)
        .unwrap()
}

struct Run {
    kind: TriggerKind,
    at: DateTime<Utc>,
    log: &'static str,
    error: Option<&'static str>,
}

async fn store_run(app: &TestApp, tenant: TenantId, script: ScriptId, run: Run) -> ExecutionId {
    let new = NewExecution {
        tenant_id: tenant,
        script_id: script,
        script_version: 1,
        trigger: Trigger {
            kind: run.kind,
            details: Default::default(),
        },
        input: json!({}),
        attempt: 1,
    };
    let mut execution = Execution::pending(new, run.at);
    execution.start(run.at).unwrap();
    execution.logs = vec![LogEntry {
        level: LogLevel::Info,
        message: run.log.into(),
        metadata: Value::Null,
        ts: run.at,
    }];
    let outcome = match run.error {
        Some(message) => Outcome::Failed(ExecutionError {
            code: "SCRIPT_ERROR".into(),
            message: message.into(),
            line: None,
            column: None,
            stack: None,
        }),
        None => Outcome::Completed(json!("done")),
    };
    execution.finish(outcome, run.at).unwrap();
    SeaExecutionRepository::new(app.components.database.clone())
        .insert(&execution)
        .await
        .unwrap();
    execution.id
}

/// Every id of a history query, walking its pages of `limit` by cursor.
async fn walk(app: &TestApp, token: &str, filters: &str, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut path = format!("/api/v1/executions?limit={limit}{filters}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={}", url_encode(cursor)));
        }
        let (status, body) = parts(app.get(&path, token).await).await;
        assert_eq!(status, 200, "{path}: {body}");
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        ids.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
    panic!("the pages never ended");
}

async fn count(app: &TestApp, filters: &str) -> usize {
    walk(app, &app.admin, filters, 3).await.len()
}

/// The `href` of the element with `id` on a page.
fn href_of(html: &str, id: &str) -> String {
    let element = html.split(&format!("id=\"{id}\"")).nth(1).unwrap();
    let start = html.len() - element.len();
    let tag_start = html[..start].rfind('<').unwrap();
    let tag = &html[tag_start..start + element.find('>').unwrap()];
    let href = tag
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    href.replace("&amp;", "&")
}

fn url_encode(value: &str) -> String {
    value.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn the_history_filters_pages_by_keyset_and_searches_within_the_tenant() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let tenant = tenant_of(&app, &app.admin).await;
        let alpha = script(&app, &app.admin, "Alpha").await;
        let beta = script(&app, &app.admin, "Beta").await;
        let same = at(3600);
        let mut expected: Vec<(DateTime<Utc>, String)> = Vec::new();
        // Five runs created at the same instant: the pages must cut between them.
        for n in 0..5 {
            let log = if n == 2 {
                "found the NEEDLE here"
            } else {
                "plain line"
            };
            let id = store_run(
                &app,
                tenant,
                alpha,
                Run {
                    kind: TriggerKind::Manual,
                    at: same,
                    log,
                    error: None,
                },
            )
            .await;
            expected.push((same, id.to_string()));
        }
        for n in 0..2 {
            let id = store_run(
                &app,
                tenant,
                alpha,
                Run {
                    kind: TriggerKind::Cron,
                    at: at(7200 + n),
                    log: "tick",
                    error: Some("boom 50% needle"),
                },
            )
            .await;
            expected.push((at(7200 + n), id.to_string()));
        }
        for n in 0..3 {
            let id = store_run(
                &app,
                tenant,
                beta,
                Run {
                    kind: TriggerKind::Api,
                    at: at(3 * 86_400 + n),
                    log: "beta line",
                    error: None,
                },
            )
            .await;
            expected.push((at(3 * 86_400 + n), id.to_string()));
        }
        expected.sort_by(|a, b| b.cmp(a));
        let newest_first: Vec<String> = expected.iter().map(|(_, id)| id.clone()).collect();
        for limit in [1, 2, 3, 4, 100] {
            assert_eq!(
                walk(&app, &app.admin, "", limit).await,
                newest_first,
                "pages of {limit}"
            );
        }

        assert_eq!(count(&app, &format!("&scriptId={beta}")).await, 3);
        assert_eq!(count(&app, "&status=failed").await, 2);
        assert_eq!(count(&app, "&status=completed&trigger=manual").await, 5);
        assert_eq!(count(&app, "&trigger=cron").await, 2);
        assert_eq!(count(&app, "&trigger=api").await, 3);
        let from = (same - Span::days(1)).format("%Y-%m-%d").to_string();
        assert_eq!(count(&app, &format!("&from={from}")).await, 7);
        let to = (same - Span::days(2)).format("%Y-%m-%d").to_string();
        assert_eq!(count(&app, &format!("&to={to}")).await, 3);
        // The search looks in log lines and errors, case-insensitively, wildcards literally.
        assert_eq!(count(&app, "&search=needle").await, 3);
        assert_eq!(count(&app, "&search=50%25").await, 2);
        assert_eq!(count(&app, "&search=5_%25").await, 0);
        assert_eq!(count(&app, "&search=beta%20line").await, 3);
        assert_eq!(count(&app, "&search=nowhere").await, 0);
        // The script's own list keeps its parameters.
        let (status, script_page) = parts(
            app.get(
                &format!("/api/v1/scripts/{alpha}/executions?status=failed&page=1&limit=1"),
                &app.admin,
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, script_page["total"].as_u64()),
            (200, Some(2)),
            "{script_page}"
        );

        for (filters, field) in [
            ("status=lost", "status"),
            ("trigger=telepathy", "trigger"),
            ("scriptId=nope", "scriptId"),
            ("from=yesterday", "from"),
            ("to=2026-13-01", "to"),
            ("from=2026-02-02&to=2026-02-01", "to"),
            ("cursor=garbage", "cursor"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
        ] {
            let (status, body) = parts(
                app.get(&format!("/api/v1/executions?{filters}"), &app.admin)
                    .await,
            )
            .await;
            assert_eq!(status, 400, "{filters}: {body}");
            assert!(
                body["error"]["fields"][field].is_string(),
                "{filters}: {body}"
            );
        }
        let long = "x".repeat(201);
        let (status, _) = parts(
            app.get(&format!("/api/v1/executions?search={long}"), &app.admin)
                .await,
        )
        .await;
        assert_eq!(status, 400);

        // Tenant B sees only its own, whatever it asks for.
        let other_tenant = tenant_of(&app, &app.other_tenant).await;
        let gamma = script(&app, &app.other_tenant, "Gamma").await;
        let theirs = store_run(
            &app,
            other_tenant,
            gamma,
            Run {
                kind: TriggerKind::Manual,
                at: same,
                log: "needle of B",
                error: None,
            },
        )
        .await;
        let (_, first_a) = parts(app.get("/api/v1/executions?limit=1", &app.admin).await).await;
        let a_cursor = url_encode(first_a["nextCursor"].as_str().unwrap());
        for filters in [
            String::new(),
            format!("&scriptId={alpha}"),
            "&search=needle".into(),
            "&status=failed".into(),
            "&trigger=manual".into(),
            format!("&cursor={a_cursor}"),
        ] {
            let ids = walk(&app, &app.other_tenant, &filters, 2).await;
            assert!(
                ids.iter().all(|id| *id == theirs.to_string()),
                "{filters}: {ids:?}"
            );
            assert!(ids.iter().all(|id| !newest_first.contains(id)), "{filters}");
        }
        assert_eq!(
            walk(&app, &app.admin, "&search=needle", 10).await.len(),
            3,
            "A does not see B's either"
        );
        let (status, _) = parts(
            app.get(
                &format!("/api/v1/executions/{}", newest_first[0]),
                &app.other_tenant,
            )
            .await,
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(app.get("/api/v1/executions", "").await.status(), 401);

        // The page: the same filters, a link to the next page, each row to its execution.
        let admin = sign_in(&app, "admin@a.test").await;
        let (status, html) = page(&app, "/executions?status=failed", &admin.cookie).await;
        assert_eq!(status, 200);
        assert_eq!(html.matches("class=\"execution-row\"").count(), 2, "{html}");
        for (_, id) in expected
            .iter()
            .filter(|(when, _)| *when < same && *when > same - Span::days(1))
        {
            assert!(
                html.contains(&format!("href=\"/executions/{id}\"")),
                "{html}"
            );
        }
        let (_, first) = page(&app, "/executions?limit=4", &admin.cookie).await;
        assert_eq!(first.matches("class=\"execution-row\"").count(), 4);
        let older = href_of(&first, "older");
        let (status, second) = page(&app, &older, &admin.cookie).await;
        assert_eq!(status, 200, "{older}");
        assert!(
            second.contains(&format!("/executions/{}", newest_first[4])),
            "{second}"
        );
        assert!(!second.contains(&format!("/executions/{}\"", newest_first[3])));
        let (status, refused) = page(&app, "/executions?status=lost", &admin.cookie).await;
        assert_eq!(status, 400);
        assert!(
            refused.contains("filter-errors") && refused.contains("status"),
            "{refused}"
        );
        assert!(first.contains("href=\"/dead-letters\"") && first.contains("href=\"/executions\""));

        let other = sign_in(&app, "admin@b.test").await;
        let (_, html) = page(
            &app,
            &format!("/executions?scriptId={alpha}"),
            &other.cookie,
        )
        .await;
        assert_eq!(html.matches("class=\"execution-row\"").count(), 0);
        let (_, html) = page(&app, "/executions?search=needle", &other.cookie).await;
        assert!(html.contains(&theirs.to_string()));
        assert!(
            newest_first.iter().all(|id| !html.contains(id.as_str())),
            "{html}"
        );
        assert!(!html.contains("Alpha"));
        app.stop().await;
    })
    .await;
}

async fn dead_letter(
    app: &TestApp,
    tenant: TenantId,
    script: ScriptId,
    event_type: &str,
    last: Option<ExecutionId>,
) -> uuid::Uuid {
    let letter = DeadLetter {
        id: uuid::Uuid::new_v4(),
        delivery: EventDelivery {
            event_id: uuid::Uuid::new_v4(),
            tenant_id: tenant,
            script_id: script,
            event_type: event_type.into(),
            payload: json!({ "order": 7 }),
            published_at: at(60),
            source_script_id: None,
            depth: 0,
            attempt: 3,
            retry_of: None,
        },
        script_version: 1,
        error: ExecutionError {
            code: "SCRIPT_ERROR".into(),
            message: "refused by the warehouse".into(),
            line: Some(3),
            column: Some(9),
            stack: None,
        },
        attempts: 3,
        last_execution_id: last,
        status: DeadLetterStatus::Pending,
        created_at: at(30),
        handled_at: None,
    };
    SeaDeadLetterRepository::new(app.components.database.clone())
        .insert(&letter)
        .await
        .unwrap();
    letter.id
}

async fn letter_status(app: &TestApp, id: uuid::Uuid) -> String {
    let (status, letter) = parts(
        app.get(&format!("/api/v1/dead-letters/{id}"), &app.admin)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{letter}");
    letter["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn dead_letters_are_retried_discarded_and_redriven_only_with_the_permission_and_token() {
    each_backend(|db| async move {
        let app = spawn_app(&db).await;
        let tenant = tenant_of(&app, &app.admin).await;
        let orders = script(&app, &app.admin, "Orders").await;
        let last = store_run(
            &app,
            tenant,
            orders,
            Run {
                kind: TriggerKind::Event,
                at: at(40),
                log: "x",
                error: Some("refused by the warehouse"),
            },
        )
        .await;
        let retried = dead_letter(&app, tenant, orders, "order.failed", Some(last)).await;
        let discarded = dead_letter(&app, tenant, orders, "order.failed", None).await;
        let redriven = dead_letter(&app, tenant, orders, "order.lost", None).await;
        let other_tenant = tenant_of(&app, &app.other_tenant).await;
        let theirs_script = script(&app, &app.other_tenant, "Their orders").await;
        let theirs = dead_letter(&app, other_tenant, theirs_script, "invoice.unpaid", None).await;

        let admin = sign_in(&app, "admin@a.test").await;
        let (status, list) = page(&app, "/dead-letters", &admin.cookie).await;
        assert_eq!(status, 200);
        for id in [retried, discarded, redriven] {
            assert!(list.contains(&format!("/dead-letters/{id}")), "{list}");
        }
        assert!(!list.contains("invoice.unpaid") && !list.contains(&theirs.to_string()));
        assert!(
            !list.contains("id=\"redrive\""),
            "redrive needs a script chosen"
        );
        let (_, filtered) = page(
            &app,
            "/dead-letters?eventType=order.lost&status=pending",
            &admin.cookie,
        )
        .await;
        assert!(
            filtered.contains(&redriven.to_string()) && !filtered.contains(&retried.to_string())
        );
        let (_, by_script) = page(
            &app,
            &format!("/dead-letters?scriptId={orders}&from=2000-01-01"),
            &admin.cookie,
        )
        .await;
        assert!(by_script.contains("id=\"redrive\"") && by_script.contains(&retried.to_string()));
        let (_, none) = page(&app, "/dead-letters?to=2000-01-01", &admin.cookie).await;
        assert!(!none.contains(&retried.to_string()));
        let (status, _) = page(&app, "/dead-letters?status=lost", &admin.cookie).await;
        assert_eq!(status, 400);
        let (status, detail) = page(&app, &format!("/dead-letters/{retried}"), &admin.cookie).await;
        assert_eq!(status, 200);
        let last_link = format!("href=\"/executions/{last}\"");
        for part in [
            "id=\"retry-form\"",
            "id=\"discard\"",
            "refused by the warehouse",
            "order.failed",
            last_link.as_str(),
            "v1",
        ] {
            assert!(detail.contains(part), "no {part}: {detail}");
        }
        let (_, dashboard) = page(&app, "/dashboard", &admin.cookie).await;
        assert!(
            dashboard.contains("href=\"/dead-letters?status=pending\""),
            "{dashboard}"
        );

        // Tenant B: not found through any id or filter.
        let other = sign_in(&app, "admin@b.test").await;
        assert_eq!(
            page(&app, &format!("/dead-letters/{retried}"), &other.cookie)
                .await
                .0,
            404
        );
        let (_, their_list) = page(
            &app,
            &format!("/dead-letters?scriptId={orders}"),
            &other.cookie,
        )
        .await;
        assert!(!their_list.contains(&retried.to_string()) && !their_list.contains("order.failed"));
        let (_, their_all) = page(&app, "/dead-letters", &other.cookie).await;
        assert!(their_all.contains(&theirs.to_string()) && !their_all.contains("order.lost"));
        for path in [
            format!("/dead-letters/{retried}/retry"),
            format!("/dead-letters/{discarded}/discard"),
            format!("/scripts/{orders}/dead-letters/redrive"),
        ] {
            assert_eq!(
                post(&app, &path, &other, None, &[]).await.status(),
                404,
                "{path}"
            );
        }

        // A viewer sees no control and is refused on each route.
        let viewer = sign_in(&app, "viewer@a.test").await;
        let (status, seen) = page(&app, &format!("/dead-letters/{retried}"), &viewer.cookie).await;
        assert_eq!(status, 200);
        assert!(
            !seen.contains("id=\"retry-form\"") && !seen.contains("id=\"discard\""),
            "{seen}"
        );
        let (_, seen_list) = page(
            &app,
            &format!("/dead-letters?scriptId={orders}"),
            &viewer.cookie,
        )
        .await;
        assert!(!seen_list.contains("id=\"redrive\""));
        for path in [
            format!("/dead-letters/{retried}/retry"),
            format!("/dead-letters/{discarded}/discard"),
            format!("/scripts/{orders}/dead-letters/redrive"),
        ] {
            assert_eq!(
                post(&app, &path, &viewer, None, &[]).await.status(),
                403,
                "{path}"
            );
            // Without the token (or from elsewhere), even the admin is refused.
            assert_eq!(
                post(&app, &path, &admin, Some(""), &[]).await.status(),
                403,
                "{path}"
            );
            assert_eq!(
                post(&app, &path, &admin, Some(&"0".repeat(64)), &[])
                    .await
                    .status(),
                403,
                "{path}"
            );
        }
        for id in [retried, discarded, redriven] {
            assert_eq!(letter_status(&app, id).await, "pending");
        }

        // Retry: bad JSON is refused beside the field; an edited payload is delivered.
        let path = format!("/dead-letters/{retried}/retry");
        let bad = post(&app, &path, &admin, None, &[("Payload", "{\"order\": ")]).await;
        assert_eq!(bad.status(), 422);
        assert!(bad.text().await.unwrap().contains("id=\"error-Payload\""));
        assert_eq!(letter_status(&app, retried).await, "pending");
        let ok = post(&app, &path, &admin, None, &[("Payload", "{\"order\": 8}")]).await;
        assert_eq!(ok.status(), 200);
        assert_eq!(
            ok.headers()["HX-Redirect"],
            format!("/dead-letters/{retried}")
        );
        assert_eq!(letter_status(&app, retried).await, "retried");
        assert_eq!(
            post(&app, &path, &admin, None, &[]).await.status(),
            409,
            "retried twice"
        );
        let (_, after) = page(&app, &format!("/dead-letters/{retried}"), &admin.cookie).await;
        assert!(
            !after.contains("id=\"retry-form\""),
            "a handled letter has no controls"
        );

        let discard = post(
            &app,
            &format!("/dead-letters/{discarded}/discard"),
            &admin,
            None,
            &[],
        )
        .await;
        assert_eq!(discard.status(), 200);
        assert_eq!(letter_status(&app, discarded).await, "discarded");

        let redrive = post(
            &app,
            &format!("/scripts/{orders}/dead-letters/redrive"),
            &admin,
            None,
            &[],
        )
        .await;
        assert_eq!(redrive.status(), 200);
        assert!(redrive.text().await.unwrap().contains(": 1"));
        assert_eq!(letter_status(&app, redriven).await, "retried");
        let (_, still) = parts(
            app.get(&format!("/api/v1/dead-letters/{theirs}"), &app.other_tenant)
                .await,
        )
        .await;
        assert_eq!(
            still["status"], "pending",
            "another tenant's letter was touched"
        );
        app.stop().await;
    })
    .await;
}
