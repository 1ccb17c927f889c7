//! PostgreSQL restarted under load: a real `iota-scripts serve` process on a PostgreSQL server
//! of the test's own, serving an HTTP endpoint script and the API to concurrent clients. The
//! database is stopped (`pg_ctl stop -m immediate`): requests fail cleanly — 503 with a JSON
//! error (a page for the web UI) and `Retry-After`, never a 500, never a hang — and the process stays up. Once the
//! database is back, the same process serves again and its background work (queued runs,
//! cron) resumes, without a restart. Skipped when the PostgreSQL server binaries are missing.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::cluster::Cluster;
use support::process::{Api, ServerProcess, admin_token};
use support::sql::rows;

/// No request may take longer than this: a hang fails the test.
const REQUEST_BOUND: Duration = Duration::from_secs(30);

/// What one request answered: its status, the error code of a JSON error body, and whether a
/// 503 said when to come back.
#[derive(Debug, Clone)]
struct Answer {
    what: &'static str,
    status: u16,
    code: Option<String>,
    retry_after: bool,
}

async fn ask(what: &'static str, request: reqwest::RequestBuilder) -> Answer {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: no answer within {REQUEST_BOUND:?}: {e}"));
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Answer {
        what,
        status,
        code: body["error"]["code"].as_str().map(str::to_owned),
        retry_after,
    }
}

/// One round of the load: the public endpoint, a list, a queued run, an event and a web page
/// (signed in with the session `cookie`).
async fn round(api: &Api, server_base: &str, oneoff: &str, cookie: &str) -> Vec<Answer> {
    let client = &api.client;
    let page = client
        .get(format!("{server_base}/scripts"))
        .header(reqwest::header::COOKIE, cookie);
    let hook = client.get(format!("{server_base}/hooks/tenant-a/ping"));
    let list = client
        .get(format!("{server_base}/api/v1/scripts"))
        .bearer_auth(&api.token);
    let queue = client
        .post(format!("{server_base}/api/v1/scripts/{oneoff}/execute"))
        .bearer_auth(&api.token)
        .json(&json!({ "mode": "async" }));
    let publish = client
        .post(format!("{server_base}/api/v1/events"))
        .bearer_auth(&api.token)
        .json(&json!({ "type": "outage.tested", "payload": {} }));
    let (a, b, c, d, e) = tokio::join!(
        ask("endpoint", hook),
        ask("list", list),
        ask("queue", queue),
        ask("publish", publish),
        ask("page", page),
    );
    vec![a, b, c, d, e]
}

fn tally(answers: &[Answer]) -> BTreeMap<String, usize> {
    answers.iter().fold(BTreeMap::new(), |mut m, a| {
        let key = format!(
            "{} {} {}",
            a.what,
            a.status,
            a.code.as_deref().unwrap_or("")
        );
        *m.entry(key).or_insert(0) += 1;
        m
    })
}

async fn create(api: &Api, server: &ServerProcess, body: Value) -> String {
    let (status, created) = api.post(server, "/api/v1/scripts", &body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn requests_fail_cleanly_while_postgres_is_down_and_succeed_once_it_is_back() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.url();
    let api = Api {
        client: reqwest::Client::builder()
            .timeout(REQUEST_BOUND)
            .build()
            .unwrap(),
        token: admin_token(&url).await,
    };
    let mut server = ServerProcess::start(
        &url,
        &[
            ("JOBS__HEARTBEAT_MS", "1000"),
            ("SCHEDULER__ALLOW_SECONDS", "true"),
            ("SCHEDULER__POLL_INTERVAL_MS", "200"),
        ],
    );
    create(
        &api,
        &server,
        json!({ "name": "Ping", "type": "http", "status": "active",
        "httpPath": "/ping", "httpMethods": ["GET"], "endpointAuth": "public",
        "source": "export default () => ({ status: 200, body: { pong: true } })" }),
    )
    .await;
    let oneoff = create(
        &api,
        &server,
        json!({ "name": "Queued", "type": "oneoff", "status": "active",
        "source": "export default async () => 'ran'" }),
    )
    .await;
    let ticker = create(
        &api,
        &server,
        json!({ "name": "Ticker", "type": "scheduled", "status": "active",
        "cronExpression": "*/1 * * * * *", "source": "export default () => 1" }),
    )
    .await;

    let cookie = support::browser::sign_in_at(&server.base, "admin@a.test")
        .await
        .cookie;

    // Healthy: everything answers.
    let healthy = round(&api, &server.base, &oneoff, &cookie).await;
    assert!(
        healthy.iter().all(|a| a.status < 300),
        "before the outage: {:?}",
        tally(&healthy)
    );

    // Load from four clients all along.
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let stop = stop.clone();
        let api = Api {
            client: api.client.clone(),
            token: api.token.clone(),
        };
        let base = server.base.clone();
        let oneoff = oneoff.clone();
        let cookie = cookie.clone();
        clients.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                answers.extend(round(&api, &base, &oneoff, &cookie).await);
            }
            answers
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    cluster.stop_server();
    // Rounds until the list (it reads the database) has been refused twice; a request waits
    // for a connection up to the pool's acquire timeout.
    let mut outage = Vec::new();
    let mut refused_lists = 0;
    for _ in 0..20 {
        let answers = round(&api, &server.base, &oneoff, &cookie).await;
        refused_lists += answers
            .iter()
            .filter(|a| a.what == "list" && a.status == 503)
            .count();
        outage.extend(answers);
        if refused_lists >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(server.running(), "the server died with its database");
    cluster.start_server();

    // Back: the same process serves again.
    let mut recovered = Vec::new();
    for _ in 0..240 {
        recovered = round(&api, &server.base, &oneoff, &cookie).await;
        if recovered.iter().all(|a| a.status < 300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut background = Vec::new();
    for client in clients {
        background.extend(client.await.unwrap());
    }
    eprintln!(
        "during the outage: {:?}\nunder load all along: {:?}\nafter: {:?}",
        tally(&outage),
        tally(&background),
        tally(&recovered)
    );
    assert!(
        recovered.iter().all(|a| a.status < 300),
        "not recovered: {:?}",
        tally(&recovered)
    );
    for answer in outage.iter().chain(&background) {
        assert!(
            answer.status < 300 || answer.status == 503,
            "an outage answered other than 2xx or 503: {answer:?}"
        );
        // A web page says so in its own language: no JSON code.
        if answer.status == 503 && answer.what != "page" {
            assert_eq!(
                answer.code.as_deref(),
                Some("STORAGE_UNAVAILABLE"),
                "{answer:?}"
            );
        }
        if answer.status == 503 {
            assert!(answer.retry_after, "{answer:?}");
        }
    }
    assert!(
        refused_lists >= 2,
        "the list was not refused in the outage: {:?}",
        tally(&outage)
    );

    // Background work resumes: a run queued now completes, and cron ticks again.
    let (status, queued) = api
        .post(
            &server,
            &format!("/api/v1/scripts/{oneoff}/execute"),
            &json!({ "mode": "async" }),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let run = queued["id"].as_str().unwrap().to_owned();
    let ticks = || async {
        rows(&url, &format!("SELECT CAST(COUNT(*) AS TEXT) AS n FROM schedule_ticks WHERE script_id = '{ticker}' AND status = 'started'"), &["n"]).await[0][0].parse::<u64>().unwrap()
    };
    let ticks_back = ticks().await;
    let mut last = Value::Null;
    let mut ticking = false;
    for _ in 0..240 {
        let (_, execution) = api.get(&server, &format!("/api/v1/executions/{run}")).await;
        ticking = ticking || ticks().await >= ticks_back + 2;
        last = execution;
        if last["status"] == "completed" && ticking {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        last["status"], "completed",
        "the queued run after the outage: {last}"
    );
    assert!(ticking, "cron did not resume");
    assert!(server.running());
    // Runs queued while the database was up complete too; none is left pending.
    let mut pending = Vec::new();
    for _ in 0..240 {
        pending = rows(&url, &format!("SELECT CAST(id AS TEXT) AS id, status, CAST(created_at AS TEXT) AS created, COALESCE(CAST(started_at AS TEXT), '') AS started FROM script_executions WHERE script_id = '{oneoff}' AND status IN ('pending', 'running')"), &["id", "status", "created", "started"]).await;
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if !pending.is_empty() {
        let jobs = rows(&url, "SELECT id, status, COALESCE(lock_by, '') AS lock_by, CAST(attempts AS TEXT) AS attempts FROM apalis.jobs WHERE status <> 'Done'", &["id", "status", "lock_by", "attempts"]).await;
        eprintln!("jobs: {jobs:?}");
    }
    assert!(pending.is_empty(), "queued runs never ran: {pending:?}");
    server.terminate();
    let _ = server.wait_exit(Duration::from_secs(30)).await;
    drop(cluster);
}
