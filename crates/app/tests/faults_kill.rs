//! SIGKILL under load, on SQLite and PostgreSQL: a real `iota-scripts serve` process is killed
//! while asynchronous runs, event deliveries (some failing into the dead-letter queue) and a
//! cron schedule every second are in flight; a new process on the same database finishes the
//! work. Every accepted run ends exactly once (completed, or `ABANDONED` if it was running at
//! the kill), every event is delivered at least once (SPEC §4: durable, at least once) or
//! dead-lettered, no execution stays pending or running, and no cron tick runs twice.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;
use support::process::{Api, ServerProcess, admin_token};
use support::sql::{rows, uuid_hex, uuid_is};
use testkit::each_backend;

/// A dead node's lease expires after three missed beats: 3 s here; its cron claims are taken
/// over after 3 s.
const FAST: [(&str, &str); 4] = [
    ("JOBS__HEARTBEAT_MS", "1000"),
    ("SCHEDULER__STALE_CLAIM_AFTER_MS", "3000"),
    ("SCHEDULER__ALLOW_SECONDS", "true"),
    ("SCHEDULER__POLL_INTERVAL_MS", "200"),
];
const RUNS: i64 = 30;
const EVENTS: i64 = 30;

async fn create(api: &Api, server: &ServerProcess, body: Value) -> String {
    let (status, created) = api.post(server, "/api/v1/scripts", &body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

struct Scripts {
    oneoff: String,
    subscriber: String,
    ticker: String,
}

async fn scripts(api: &Api, server: &ServerProcess) -> Scripts {
    let oneoff = create(api, server, json!({ "name": "Queued", "type": "oneoff", "status": "active",
        "source": "export default async (input) => { await new Promise((r) => setTimeout(r, 150)); return input.n; }" })).await;
    let subscriber = create(api, server, json!({ "name": "Subscriber", "type": "event", "status": "active",
        "eventTypes": ["fault.*"], "retry": { "maxAttempts": 2, "baseDelayMs": 20, "maxDelayMs": 100 },
        "source": "export default async (event) => { await new Promise((r) => setTimeout(r, 100)); if (event.payload.fail) throw new Error('refused ' + event.payload.n); return event.payload.n; }" })).await;
    let ticker = create(
        api,
        server,
        json!({ "name": "Ticker", "type": "scheduled", "status": "active",
        "cronExpression": "*/1 * * * * *", "source": "export default () => 1" }),
    )
    .await;
    Scripts {
        oneoff,
        subscriber,
        ticker,
    }
}

/// Queues the asynchronous runs and publishes the events (every fifth one fails); the run ids
/// with their input, and the event ids with whether they fail.
async fn load(
    api: &Api,
    server: &ServerProcess,
    scripts: &Scripts,
) -> (HashMap<String, i64>, HashMap<String, bool>) {
    let mut runs = HashMap::new();
    let mut events = HashMap::new();
    for n in 0..RUNS.max(EVENTS) {
        if n < RUNS {
            let path = format!("/api/v1/scripts/{}/execute", scripts.oneoff);
            let (status, queued) = api
                .post(
                    server,
                    &path,
                    &json!({ "mode": "async", "input": { "n": n } }),
                )
                .await;
            assert_eq!(status, 202, "{queued}");
            runs.insert(queued["id"].as_str().unwrap().to_owned(), n);
        }
        if n < EVENTS {
            let fail = n % 5 == 0;
            let body = json!({ "type": "fault.load", "payload": { "n": n, "fail": fail } });
            let (status, event) = api.post(server, "/api/v1/events", &body).await;
            assert_eq!(status, 202, "{event}");
            events.insert(event["eventId"].as_str().unwrap().to_owned(), fail);
        }
    }
    (runs, events)
}

fn unfinished(executions: &[Value]) -> usize {
    executions
        .iter()
        .filter(|e| e["status"] == "pending" || e["status"] == "running")
        .count()
}

/// Whether every event has what it should: a completed delivery, or a dead letter.
fn settled(deliveries: &[Value], letters: &[Value], events: &HashMap<String, bool>) -> bool {
    let completed: HashSet<&str> = deliveries
        .iter()
        .filter(|e| e["status"] == "completed")
        .filter_map(|e| e["trigger"]["eventId"].as_str())
        .collect();
    let lettered: HashSet<&str> = letters
        .iter()
        .filter_map(|l| l["eventId"].as_str())
        .collect();
    events.iter().all(|(id, fail)| {
        if *fail {
            lettered.contains(id.as_str())
        } else {
            completed.contains(id.as_str())
        }
    })
}

async fn dead_letters(api: &Api, server: &ServerProcess, script: &str) -> Vec<Value> {
    let (status, page) = api
        .get(
            server,
            &format!("/api/v1/dead-letters?scriptId={script}&limit=100"),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn sigkill_with_durable_work_in_flight_loses_nothing_after_a_restart() {
    each_backend(|db| async move {
        let api = Api {
            client: reqwest::Client::new(),
            token: admin_token(&db.url).await,
        };
        let mut first = ServerProcess::start(&db.url, &FAST);
        let scripts = scripts(&api, &first).await;
        let ticks_sql = format!(
            "SELECT status FROM schedule_ticks WHERE {}",
            uuid_is(&db.url, "script_id", &scripts.ticker)
        );
        let mut ticked = 0;
        for _ in 0..200 {
            ticked = rows(&db.url, &ticks_sql, &["status"]).await.len();
            if ticked >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ticked >= 2, "the schedule did not fire");
        let (runs, events) = load(&api, &first, &scripts).await;

        // Kill while runs are going and more are queued.
        let mut before = Vec::new();
        for _ in 0..600 {
            before = api.all_executions(&first, &scripts.oneoff).await;
            let completed = before.iter().filter(|e| e["status"] == "completed").count();
            if completed >= 3 && unfinished(&before) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        first.kill();
        let in_flight = unfinished(&before);
        assert!(in_flight > 0, "nothing was in flight at the kill: {before:?}");

        let ticks_at_kill = rows(&db.url, &ticks_sql, &["status"]).await.len();
        let mut second = ServerProcess::start(&db.url, &FAST);
        let mut state = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut done = false;
        for _ in 0..360 {
            let queued = api.all_executions(&second, &scripts.oneoff).await;
            let deliveries = api.all_executions(&second, &scripts.subscriber).await;
            let letters = dead_letters(&api, &second, &scripts.subscriber).await;
            let ticks = rows(&db.url, &ticks_sql, &["status"]).await;
            let claimed: Vec<String> =
                ticks.iter().flatten().filter(|s| *s == "claimed").cloned().collect();
            done = queued.len() == runs.len()
                && unfinished(&queued) == 0
                && unfinished(&deliveries) == 0
                && settled(&deliveries, &letters, &events)
                && claimed.is_empty()
                && ticks.len() >= ticks_at_kill + 2;
            state = (queued, deliveries, letters, claimed);
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let (queued, deliveries, letters, claimed) = state;
        let statuses = |executions: &[Value]| {
            executions.iter().fold(BTreeMap::new(), |mut m, e| {
                let key = format!("{}{}", e["status"].as_str().unwrap(), e["error"]["code"].as_str().map(|c| format!(" {c}")).unwrap_or_default());
                *m.entry(key).or_insert(0) += 1;
                m
            })
        };
        eprintln!(
            "{:?}: {in_flight} run(s) in flight at the kill; runs {:?}; deliveries {:?}; {} dead letter(s); claimed ticks left {claimed:?}",
            db.backend,
            statuses(&queued),
            statuses(&deliveries),
            letters.len()
        );
        assert!(done, "the work did not settle after the restart");

        // Runs: each accepted one ended once, with its own output, or was abandoned mid-run.
        for execution in &queued {
            let id = execution["id"].as_str().unwrap();
            match execution["status"].as_str().unwrap() {
                "completed" => assert_eq!(execution["output"], json!(runs[id]), "{execution}"),
                "failed" => assert_eq!(execution["error"]["code"], "ABANDONED", "{execution}"),
                _ => panic!("{execution}"),
            }
        }
        let abandoned = queued.iter().filter(|e| e["status"] == "failed").count();
        assert!(abandoned <= in_flight, "{abandoned} abandoned, {in_flight} were in flight");

        // Deliveries: at least once per event; a second completion only for a delivery whose
        // run ended on the killed node before its job was acknowledged.
        let mut completions: HashMap<&str, usize> = HashMap::new();
        for delivery in &deliveries {
            let event = delivery["trigger"]["eventId"].as_str().unwrap();
            assert!(events.contains_key(event), "{delivery}");
            match (delivery["status"].as_str().unwrap(), events[event]) {
                ("completed", false) => *completions.entry(event).or_default() += 1,
                ("failed", true) => {}
                ("failed", false) => assert!(
                    matches!(delivery["error"]["code"].as_str(), Some("ABANDONED" | "CONCURRENCY_LIMIT")),
                    "{delivery}"
                ),
                _ => panic!("{delivery}"),
            }
        }
        let twice: Vec<_> = completions.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.iter().all(|(_, n)| **n == 2) && twice.len() <= 8,
            "deliveries completed more than once: {twice:?}"
        );
        // Dead letters: one per failing event, after its last attempt.
        let mut per_event: HashMap<&str, usize> = HashMap::new();
        for letter in &letters {
            assert_eq!(letter["attempts"], 2, "{letter}");
            *per_event.entry(letter["eventId"].as_str().unwrap()).or_default() += 1;
        }
        let failing = events.values().filter(|f| **f).count();
        assert_eq!(per_event.len(), failing, "{letters:?}");
        assert!(per_event.values().all(|n| *n == 1), "a duplicated dead letter: {per_event:?}");

        // Cron: the process stops cleanly, then each tick has at most one run, and every run
        // belongs to a tick.
        second.terminate();
        assert!(second.wait_exit(Duration::from_secs(60)).await.expect("exited").success());
        let ticks = rows(
            &db.url,
            &format!(
                "SELECT CAST(scheduled_for AS TEXT) AS at, status, {} AS run FROM schedule_ticks WHERE {}",
                uuid_hex(&db.url, "execution_id"),
                uuid_is(&db.url, "script_id", &scripts.ticker)
            ),
            &["at", "status", "run"],
        )
        .await;
        let executions = rows(
            &db.url,
            &format!(
                "SELECT {} AS id, status FROM script_executions WHERE {}",
                uuid_hex(&db.url, "id"),
                uuid_is(&db.url, "script_id", &scripts.ticker)
            ),
            &["id", "status"],
        )
        .await;
        assert!(!ticks.is_empty());
        let tick_runs: Vec<&str> = ticks.iter().map(|t| t[2].as_str()).filter(|r| !r.is_empty()).collect();
        let distinct: HashSet<&str> = tick_runs.iter().copied().collect();
        assert_eq!(distinct.len(), tick_runs.len(), "a run shared by two ticks");
        let stored: HashSet<&str> = executions.iter().map(|e| e[0].as_str()).collect();
        assert_eq!(stored, distinct, "every cron run belongs to exactly one tick");
        assert!(
            executions.iter().all(|e| e[1] == "completed" || e[1] == "failed"),
            "{executions:?}"
        );
        assert!(ticks.iter().all(|t| t[1] != "claimed"), "{ticks:?}");
    })
    .await;
}
