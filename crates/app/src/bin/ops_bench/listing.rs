//! Listing and search at scale on PostgreSQL: one tenant with `scripts` scripts and
//! `executions` executions (generated in SQL from a script and a run made through the API,
//! each column copied from them but the id, name, script and times), then the p50 and p95 of
//! the API's list pages, a search of one match and one of every script, a script's history
//! page and the tenant's history, each asked `SAMPLES` times over HTTP.

use crate::node::{self, BenchNode};
use anyhow::{Result, bail};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use std::time::{Duration, Instant};

const SAMPLES: usize = 200;
/// Executions are spread over this many scripts (the first ones made).
const BUSY_SCRIPTS: u64 = 1000;
/// Rows per generating statement.
const CHUNK: u64 = 1_000_000;

pub struct Listing {
    pub scripts: u64,
    pub executions: u64,
    pub generated_in: Duration,
    /// (what was asked, p50, p95).
    pub queries: Vec<(String, Duration, Duration)>,
}

async fn columns(db: &impl ConnectionTrait, table: &str) -> Result<Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}' AND is_generated = 'NEVER' \
                 ORDER BY ordinal_position"
            ),
        ))
        .await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<String>("", "column_name")?))
        .collect()
}

/// `INSERT INTO table (…) SELECT …` copying the row `template` once per `g` of the series,
/// with `overrides` (column → SQL over `g` and `t`, the template row).
async fn copy_rows(
    db: &impl ConnectionTrait,
    table: &str,
    template: &str,
    series: (u64, u64),
    overrides: &[(&str, String)],
) -> Result<()> {
    let columns = columns(db, table).await?;
    let values: Vec<String> = columns
        .iter()
        .map(|column| {
            overrides
                .iter()
                .find(|(name, _)| name == column)
                .map_or_else(|| format!("t.\"{column}\""), |(_, sql)| sql.clone())
        })
        .collect();
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!(
        "INSERT INTO \"{table}\" ({}) SELECT {} FROM \"{table}\" t, generate_series({}, {}) g \
         WHERE t.id = '{template}'",
        quoted.join(", "),
        values.join(", "),
        series.0,
        series.1
    );
    db.execute_unprepared(&sql).await?;
    Ok(())
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95))
}

pub async fn measure(url: &str, scripts: u64, executions: u64) -> Result<Listing> {
    let node = BenchNode::start(&node::settings(url)).await?;
    let token = node.tenant("listing").await?;
    let template = node
        .script(
            &token,
            &json!({ "name": "Template", "type": "oneoff", "description": "the template",
                     "source": "export default async (input) => { console.log('ran', input); return { ok: true } }" }),
        )
        .await?;
    let (status, run) = node.get(&token, "/health/ready").await?;
    if status != 200 {
        bail!("the node is not ready: {run}");
    }
    let ran: serde_json::Value = node
        .client
        .post(format!("{}/api/v1/scripts/{template}/execute", node.base))
        .bearer_auth(&token)
        .json(&json!({ "input": { "n": 1 } }))
        .send()
        .await?
        .json()
        .await?;
    let Some(execution) = ran["id"].as_str().map(str::to_owned) else {
        bail!("the template did not run: {ran}");
    };
    let db = sea_orm::Database::connect(url).await?;
    let started = Instant::now();
    copy_rows(
        &db,
        "scripts",
        &template,
        (1, scripts - 1),
        &[
            ("id", "gen_random_uuid()".into()),
            ("name", "'Script ' || g || ' ' || md5(g::text)".into()),
            ("description", "'generated ' || (g % 97)".into()),
            (
                "created_at",
                "t.created_at - g * interval '1 second'".into(),
            ),
            (
                "updated_at",
                "t.updated_at - g * interval '1 second'".into(),
            ),
        ],
    )
    .await?;
    db.execute_unprepared(&format!(
        "CREATE TABLE bench_busy AS SELECT row_number() OVER (ORDER BY created_at DESC) - 1 \
         AS n, id FROM scripts ORDER BY created_at DESC LIMIT {BUSY_SCRIPTS}"
    ))
    .await?;
    db.execute_unprepared("ALTER TABLE bench_busy ADD PRIMARY KEY (n)")
        .await?;
    let mut from = 1;
    while from < executions {
        let to = (from + CHUNK - 1).min(executions - 1);
        copy_rows(
            &db,
            "script_executions",
            &execution,
            (from, to),
            &[
                ("id", "gen_random_uuid()".into()),
                (
                    "script_id",
                    format!("(SELECT id FROM bench_busy WHERE n = g % {BUSY_SCRIPTS})"),
                ),
                (
                    "status",
                    "CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END".into(),
                ),
                (
                    "created_at",
                    "t.created_at - g * interval '50 milliseconds'".into(),
                ),
                (
                    "started_at",
                    "t.started_at - g * interval '50 milliseconds'".into(),
                ),
                (
                    "completed_at",
                    "t.completed_at - g * interval '50 milliseconds'".into(),
                ),
            ],
        )
        .await?;
        eprintln!("  {to} executions of {executions}");
        from = to + 1;
    }
    db.execute_unprepared("DROP TABLE bench_busy").await?;
    // What autovacuum does after a bulk load (its insert threshold): statistics for the
    // planner, and the visibility map that lets a count read an index alone.
    db.execute_unprepared("VACUUM ANALYZE").await?;
    let generated_in = started.elapsed();

    let hot = template.clone();
    let needle = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT md5('{}') AS word", scripts / 2),
        ))
        .await?
        .map(|row| row.try_get::<String>("", "word"))
        .transpose()?
        .unwrap_or_default();
    let asked = [
        (
            "list, first page".to_owned(),
            "/api/v1/scripts?page=1&limit=20".to_owned(),
        ),
        (
            "list, page 50".to_owned(),
            "/api/v1/scripts?page=50&limit=20".to_owned(),
        ),
        (
            "search by a word of the name".to_owned(),
            format!("/api/v1/scripts?search={needle}"),
        ),
        (
            "search matching every script".to_owned(),
            "/api/v1/scripts?search=script".to_owned(),
        ),
        (
            "a script's history, first page".to_owned(),
            format!("/api/v1/scripts/{hot}/executions?limit=20"),
        ),
        (
            "tenant history, first page".to_owned(),
            "/api/v1/executions?limit=50".to_owned(),
        ),
        (
            "tenant history, failed only".to_owned(),
            "/api/v1/executions?limit=50&status=failed".to_owned(),
        ),
    ];
    let mut queries = Vec::new();
    for (what, path) in asked {
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let started = Instant::now();
            let (status, body) = node.get(&token, &path).await?;
            samples.push(started.elapsed());
            if status != 200 {
                bail!("{path} answered {status}: {body}");
            }
        }
        let (p50, p95) = percentiles(samples);
        queries.push((what, p50, p95));
    }
    node.stop().await;
    Ok(Listing {
        scripts,
        executions,
        generated_in,
        queries,
    })
}
