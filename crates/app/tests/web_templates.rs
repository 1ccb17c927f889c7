//! The starting points of "New script": each template, saved as it comes, passes a test run
//! in the real sandbox (with an `orders` table for the ones that read it), and the form and
//! script page of an `http` script show its full endpoint and public webhook URLs — on
//! SQLite and PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use persistence::Backend;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use services::sdk::ServiceRegistry;
use support::browser::{page, sign_in};
use support::{TestApp, parts, spawn_app_full};
use testkit::{TestDatabaseRef, each_backend};
use web::ui::templates::{TEMPLATES, Template};

/// An `orders` table with three rows of tenant A: two created yesterday (one without a
/// status), one today.
async fn orders(db: &TestDatabaseRef, tenant: &str) {
    let connection = sea_orm::Database::connect(&db.url).await.unwrap();
    let tenant_type = if db.backend == Backend::Postgres {
        "uuid"
    } else {
        "text"
    };
    let now = chrono::Utc::now();
    let yesterday = (now - chrono::Duration::days(1))
        .format("%Y-%m-%d 12:00:00")
        .to_string();
    let today = now.format("%Y-%m-%d %H:%M:%S").to_string();
    for sql in [
        format!(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id {tenant_type} NOT NULL, customer_id INTEGER, total INTEGER NOT NULL, status TEXT, created_at TEXT NOT NULL)"
        ),
        format!(
            "INSERT INTO orders (id, tenant_id, customer_id, total, status, created_at) VALUES \
            (1, '{tenant}', 7, 1500, 'open', '{yesterday}'), (2, '{tenant}', 8, 0, NULL, '{yesterday}'), \
            (3, '{tenant}', 7, 900, NULL, '{today}')"
        ),
    ] {
        connection.execute_unprepared(&sql).await.unwrap();
    }
    connection.close().await.unwrap();
}

/// The template as the API creates it.
fn body_of(template: &Template) -> Value {
    let mut body = json!({
        "name": format!("From {}", template.key),
        "type": template.script_type,
        "status": "active",
        "source": template.source,
    });
    if let Some(cron) = template.cron_expression {
        body["cronExpression"] = json!(cron);
        body["timezone"] = json!("UTC");
    }
    if let Some(path) = template.http_path {
        body["httpPath"] = json!(path);
        body["httpMethods"] = json!(template.http_methods);
        body["endpointAuth"] = json!(template.endpoint_auth);
    }
    if !template.event_types.is_empty() {
        body["eventTypes"] = json!(template.event_types);
    }
    body
}

async fn test_run(app: &TestApp, template: &Template) -> Value {
    let (status, created) = parts(
        app.post("/api/v1/scripts", &app.admin, &body_of(template))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{}: {created}", template.key);
    let id = created["id"].as_str().unwrap();
    let input: Value = serde_json::from_str(template.sample_input).unwrap();
    let (status, report) = parts(
        app.post(
            &format!("/api/v1/scripts/{id}/test"),
            &app.admin,
            &json!({ "input": input }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{}: {report}", template.key);
    assert_eq!(
        report["execution"]["status"], "completed",
        "{}: {report}",
        template.key
    );
    report
}

#[tokio::test]
async fn every_template_passes_its_test_run() {
    each_backend(|db| async move {
        let app = spawn_app_full(
            &db,
            |s| s.sdk_db.tables = "orders".into(),
            ServiceRegistry::new(),
        )
        .await;
        let tenant = app
            .components
            .accounts
            .authenticate_token(&app.admin)
            .await
            .unwrap()
            .tenant_id;
        orders(&db, &tenant.to_string()).await;
        let mut outputs = std::collections::BTreeMap::new();
        for template in TEMPLATES {
            let report = test_run(&app, template).await;
            outputs.insert(template.key, report["execution"]["output"].clone());
        }
        assert_eq!(outputs["nightly_export"]["count"], 2, "{outputs:?}");
        assert_eq!(outputs["nightly_export"]["total"], 1500);
        assert_eq!(outputs["nightly_export"]["sent"], false);
        assert_eq!(
            outputs["webhook_handler"],
            json!({ "status": 200, "body": { "received": true } })
        );
        assert_eq!(
            outputs["event_notification"]["text"],
            "New order 42: 1999 (order.created)"
        );
        assert_eq!(
            outputs["data_migration"],
            json!({ "dryRun": false, "migrated": 2 })
        );
        assert_eq!(
            outputs["pricing_rule"],
            json!({ "subtotal": 7600, "discount": 1140, "tax": 1292, "total": 7752 })
        );

        // The form offers each template and fills the form from the one chosen.
        let admin = sign_in(&app, "admin@a.test").await;
        let (status, html) = page(&app, "/scripts/new", &admin.cookie).await;
        assert_eq!(status, 200);
        for template in TEMPLATES {
            assert!(
                html.contains(&format!("/scripts/new?template={}", template.key)),
                "{}",
                template.key
            );
        }
        let (_, html) = page(&app, "/scripts/new?template=webhook_handler", &admin.cookie).await;
        assert!(
            html.contains("template-about") && html.contains("/webhooks/payments"),
            "{html}"
        );
        assert!(
            html.contains("timingSafeEqual"),
            "the source is in the form"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn http_scripts_show_their_full_urls() {
    each_backend(|db| async move {
        let app = spawn_app_full(&db, |_| {}, ServiceRegistry::new()).await;
        let admin = sign_in(&app, "admin@a.test").await;
        let (status, html) = page(
            &app,
            "/scripts/endpoint-preview?HTTPPath=/orders/:id&EndpointAuth=public",
            &admin.cookie,
        )
        .await;
        assert_eq!(status, 200);
        let host = app.base.trim_start_matches("http://");
        assert!(
            html.contains(&format!("http://{host}/api/scripts/orders/:id")),
            "{html}"
        );
        assert!(
            html.contains(&format!("http://{host}/hooks/tenant-a/orders/:id")),
            "{html}"
        );
        let (_, html) = page(
            &app,
            "/scripts/endpoint-preview?HTTPPath=/orders&EndpointAuth=authenticated",
            &admin.cookie,
        )
        .await;
        assert!(
            html.contains("/api/scripts/orders") && !html.contains("/hooks/"),
            "{html}"
        );
        let (_, html) = page(
            &app,
            "/scripts/endpoint-preview?HTTPPath=&EndpointAuth=public",
            &admin.cookie,
        )
        .await;
        assert!(!html.contains("/api/scripts"), "nothing for an empty path");

        let webhook = TEMPLATES
            .iter()
            .find(|t| t.key == "webhook_handler")
            .unwrap();
        let (status, created) = parts(
            app.post("/api/v1/scripts", &app.admin, &body_of(webhook))
                .await,
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let (_, html) = page(
            &app,
            &format!("/scripts/{}", created["id"].as_str().unwrap()),
            &admin.cookie,
        )
        .await;
        assert!(
            html.contains(&format!("http://{host}/hooks/tenant-a/webhooks/payments")),
            "{html}"
        );

        // Signed out: the sign-in page, not the URLs.
        let response = support::browser::browser()
            .get(format!("{}/scripts/endpoint-preview?HTTPPath=/x", app.base))
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 200);
        app.stop().await;
    })
    .await;
}
