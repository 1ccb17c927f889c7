//! The schedule routes over real HTTP: previews of cron expressions across daylight-saving
//! changes, their errors, and the upcoming runs of a saved scheduled script.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use chrono::{DateTime, Datelike, Utc, Weekday};
use serde_json::{Value, json};
use support::{TestApp, parts};
use testkit::each_backend;

async fn preview(app: &TestApp, token: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .request(reqwest::Method::GET, "/api/v1/cron/preview", token)
        .query(query)
        .send()
        .await
        .unwrap();
    parts(response).await
}

/// Checks what holds for any answer whatever "now" is: instants strictly increasing and in
/// the future, each wall time and offset naming its instant, `offsetChanged` marking each
/// change of offset between neighbours. Returns the items.
fn consistent_fire_times(body: &Value, count: usize) -> Vec<Value> {
    let next = body["next"].as_array().expect("next").clone();
    assert_eq!(next.len(), count, "{body}");
    let mut previous: Option<(DateTime<Utc>, String)> = None;
    for item in &next {
        let at: DateTime<Utc> = item["at"].as_str().unwrap().parse().expect("at");
        let (local, offset) = (
            item["local"].as_str().unwrap(),
            item["offset"].as_str().unwrap(),
        );
        assert!(!local.contains('+') && !local.ends_with('Z'), "{item}");
        let named = DateTime::parse_from_rfc3339(&format!("{local}{offset}")).expect("local");
        assert_eq!(named, at, "local and offset name the instant: {item}");
        assert!(at > Utc::now() - chrono::Duration::minutes(1), "{item}");
        if let Some((before, before_offset)) = &previous {
            assert!(at > *before, "strictly increasing: {body}");
            assert_eq!(item["offsetChanged"], *before_offset != offset, "{item}");
        }
        previous = Some((at, offset.to_owned()));
    }
    next
}

#[tokio::test]
async fn previews_show_daylight_saving_changes_and_refuse_bad_input() {
    each_backend(|db| async move {
        let app = support::spawn_app(&db).await;

        // Five nightly times at 02:30 in Berlin, from now.
        let (status, body) = preview(
            &app,
            &app.viewer,
            &[("expression", "30 2 * * *"), ("timezone", "Europe/Berlin")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["expression"].as_str(), body["timezone"].as_str()),
            (Some("30 2 * * *"), Some("Europe/Berlin"))
        );
        consistent_fire_times(&body, 5);

        // 02:30 on the last seven days of March and October: 21 times from any day hold a
        // whole March week, whose last Sunday has no 02:30 (it runs at 03:00, shifted), and
        // a whole October week, whose last Sunday sets the clocks back (the offset changes).
        let (status, body) = preview(
            &app,
            &app.developer,
            &[
                ("expression", "30 2 25-31 3,10 *"),
                ("timezone", "Europe/Berlin"),
                ("count", "21"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let next = consistent_fire_times(&body, 21);
        for item in &next {
            let local: chrono::NaiveDateTime = item["local"].as_str().unwrap().parse().unwrap();
            let expected = if item["shifted"] == true {
                assert_eq!(
                    (local.month(), local.weekday()),
                    (3, Weekday::Sun),
                    "{item}"
                );
                "03:00:00"
            } else {
                "02:30:00"
            };
            assert_eq!(local.time().to_string(), expected, "{item}");
        }
        assert!(next.iter().any(|i| i["shifted"] == true), "{body}");
        assert!(next.iter().any(|i| i["offsetChanged"] == true), "{body}");
        assert!(next.iter().any(|i| i["offset"] == "+01:00"), "{body}");
        assert!(next.iter().any(|i| i["offset"] == "+02:00"), "{body}");

        // No zone means UTC.
        let (status, body) = preview(&app, &app.viewer, &[("expression", "*/15 * * * *")]).await;
        assert_eq!((status, body["timezone"].as_str()), (200, Some("UTC")));
        assert!(
            consistent_fire_times(&body, 5)
                .iter()
                .all(|i| i["offset"] == "+00:00")
        );

        // Bad input: each problem under its own field, with the standard error body.
        let (status, body) = preview(
            &app,
            &app.viewer,
            &[("expression", "61 2 * * *"), ("timezone", "Europe/Berlin")],
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("VALIDATION_FAILED"))
        );
        let message = body["error"]["fields"]["expression"].as_str().unwrap();
        assert!(message.contains("minute"), "{body}");
        let (status, body) = preview(
            &app,
            &app.viewer,
            &[("expression", "30 2 * * *"), ("timezone", "Mars/Olympus")],
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["error"]["fields"].as_object().unwrap().len(),
            1,
            "{body}"
        );
        assert!(
            body["error"]["fields"]["timezone"]
                .as_str()
                .unwrap()
                .contains("Mars/Olympus")
        );
        let (status, body) = preview(&app, &app.viewer, &[("timezone", "UTC")]).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["fields"]["expression"], "is required");
        for count in ["0", "51", "five"] {
            let query = [("expression", "* * * * *"), ("count", count)];
            let (status, body) = preview(&app, &app.viewer, &query).await;
            assert_eq!(status, 400, "{count}: {body}");
            assert!(body["error"]["fields"]["count"].is_string(), "{body}");
        }

        // No token, a wrong token.
        let anonymous = app
            .client
            .get(format!("{}/api/v1/cron/preview", app.base))
            .query(&[("expression", "* * * * *")])
            .send()
            .await
            .unwrap();
        let wrong = preview(&app, "not-a-token", &[("expression", "* * * * *")]).await;
        for (status, body) in [parts(anonymous).await, wrong] {
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (401, Some("UNAUTHORIZED"))
            );
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_saved_scheduled_script_shows_its_next_runs_to_its_tenant_only() {
    each_backend(|db| async move {
        let app = support::spawn_app(&db).await;
        let script = |name: &str, trigger: Value| {
            let mut body = json!({
                "name": name,
                "source": "export default async function () { return 1 }",
            });
            body.as_object_mut().unwrap().extend(trigger.as_object().unwrap().clone());
            body
        };
        let scheduled = script(
            "Morning report",
            json!({"type": "scheduled", "cronExpression": "0 9 * * 1-5", "timezone": "America/New_York"}),
        );
        let (status, created) = parts(app.post("/api/v1/scripts", &app.admin, &scheduled).await).await;
        assert_eq!(status, 201, "{created}");
        let path = format!("/api/v1/scripts/{}/schedule", created["id"].as_str().unwrap());

        let (status, body) = parts(app.get(&path, &app.viewer).await).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["expression"].as_str(), body["timezone"].as_str()),
            (Some("0 9 * * 1-5"), Some("America/New_York"))
        );
        for item in consistent_fire_times(&body, 5) {
            let local: chrono::NaiveDateTime = item["local"].as_str().unwrap().parse().unwrap();
            assert_eq!(local.time().to_string(), "09:00:00", "{item}");
            assert!(local.weekday().number_from_monday() <= 5, "{item}");
            assert!(["-05:00", "-04:00"].contains(&item["offset"].as_str().unwrap()));
        }
        let (status, body) = parts(app.get(&format!("{path}?count=2"), &app.viewer).await).await;
        assert_eq!(status, 200, "{body}");
        consistent_fire_times(&body, 2);

        // Another tenant's script, or none, is not found.
        let (status, body) = parts(app.get(&path, &app.other_tenant).await).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
        let unknown = "/api/v1/scripts/00000000-0000-0000-0000-000000000000/schedule";
        assert_eq!(parts(app.get(unknown, &app.admin).await).await.0, 404);
        assert_eq!(parts(app.get("/api/v1/scripts/nope/schedule", &app.admin).await).await.0, 404);

        // A script of another type has no schedule.
        let oneoff = script("Export", json!({"type": "oneoff"}));
        let (_, created) = parts(app.post("/api/v1/scripts", &app.admin, &oneoff).await).await;
        let path = format!("/api/v1/scripts/{}/schedule", created["id"].as_str().unwrap());
        let (status, body) = parts(app.get(&path, &app.admin).await).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("not scheduled"), "{body}");
        app.stop().await;
    })
    .await;
}

fn every_second() -> Value {
    json!({ "name": "Every second", "type": "scheduled",
        "cronExpression": "*/1 * * * * *", "source": "export default () => 1" })
}

#[tokio::test]
async fn a_seconds_field_is_refused_by_default() {
    each_backend(|db| async move {
        let app = support::spawn_app(&db).await;
        let (status, refused) = parts(
            app.post("/api/v1/scripts", &app.admin, &every_second())
                .await,
        )
        .await;
        assert_eq!(status, 400, "{refused}");
        let message = refused["error"]["fields"]["cronExpression"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("must have 5 fields"), "{refused}");
        assert_eq!(app.script_count().await, 0);
        let (status, _) = preview(&app, &app.viewer, &[("expression", "*/1 * * * * *")]).await;
        assert_eq!(status, 400);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_seconds_field_is_accepted_where_the_operator_allows_it() {
    each_backend(|db| async move {
        let app = support::spawn_app_with(&db, |s| s.scheduler.allow_seconds = true).await;
        let (status, created) = parts(
            app.post("/api/v1/scripts", &app.admin, &every_second())
                .await,
        )
        .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["cronExpression"], "*/1 * * * * *");
        let (status, next) = preview(&app, &app.viewer, &[("expression", "*/1 * * * * *")]).await;
        assert_eq!(status, 200, "{next}");
        let times: Vec<DateTime<Utc>> = consistent_fire_times(&next, 5)
            .iter()
            .map(|t| t["at"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(
            times
                .windows(2)
                .all(|w| w[1] - w[0] == chrono::Duration::seconds(1)),
            "{next}"
        );
        app.stop().await;
    })
    .await;
}
