//! A list's count is bounded: past `Page::COUNTED_AT_MOST` items it stops counting and says
//! so, and the pages go on. Every body runs on SQLite and on PostgreSQL, over a tenant of
//! more scripts than the cap (copied in SQL from one real script) beside a small one.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use chrono::Utc;
use domain::paging::{Page, PageRequest, ScriptFilter};
use domain::repository::{ScriptRepository, TenantRepository};
use domain::script::{Script, ScriptInput, ScriptRules, ScriptVersion, change_summary};
use domain::tenant::Tenant;
use domain::{ScriptId, TenantId};
use persistence::{Backend, SeaScriptRepository, SeaTenantRepository};
use sea_orm::{ConnectionTrait, Statement};
use testkit::{TestDatabaseRef, each_backend};

/// Scripts of the large tenant: past the cap.
const LARGE: u64 = Page::<()>::COUNTED_AT_MOST + 50;

async fn tenant(db: &TestDatabaseRef, slug: &str) -> Tenant {
    let tenant = Tenant::new(slug, Some(slug), Utc::now()).unwrap();
    SeaTenantRepository::new(db.database.clone())
        .create(&tenant)
        .await
        .unwrap();
    tenant
}

async fn create(repo: &SeaScriptRepository, tenant: TenantId, name: &str) -> Script {
    let input = ScriptInput {
        name: name.into(),
        description: "counted".into(),
        source: "export default async (input) => input".into(),
        script_type: "oneoff".into(),
        ..Default::default()
    };
    let spec = ScriptRules::default().parse(&input).unwrap();
    let script = Script::create(tenant, spec, None, Utc::now());
    let version = ScriptVersion {
        script_id: script.id,
        tenant_id: tenant,
        version: script.version,
        spec: script.spec.clone(),
        created_at: script.updated_at,
        created_by: None,
        change_summary: change_summary(None, &script.spec),
    };
    repo.create(&script, &version).await.unwrap();
    script
}

/// Copies the script named `Template 0` of its tenant `count - 1` times in one statement, as
/// `Template 1` … `Template {count - 1}`.
async fn copy_template(db: &TestDatabaseRef, count: u64) {
    let connection = sea_orm::Database::connect(&db.url).await.unwrap();
    let postgres = db.backend == Backend::Postgres;
    let listing = if postgres {
        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'public' \
         AND table_name = 'scripts' AND is_generated = 'NEVER'"
    } else {
        "SELECT name FROM pragma_table_info('scripts')"
    };
    let columns: Vec<String> = connection
        .query_all_raw(Statement::from_string(
            connection.get_database_backend(),
            listing,
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect();
    let id = if postgres {
        "gen_random_uuid()"
    } else {
        "randomblob(16)"
    };
    let values: Vec<String> = columns
        .iter()
        .map(|column| match column.as_str() {
            "id" => id.to_owned(),
            "name" => "'Template ' || g".to_owned(),
            other => format!("t.\"{other}\""),
        })
        .collect();
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!(
        "WITH RECURSIVE series(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM series WHERE g < {last}) \
         INSERT INTO scripts ({}) SELECT {} FROM scripts t, series WHERE t.name = 'Template 0'",
        quoted.join(", "),
        values.join(", "),
        last = count - 1,
    );
    connection
        .execute_raw(Statement::from_string(
            connection.get_database_backend(),
            sql,
        ))
        .await
        .unwrap();
    connection.close().await.unwrap();
}

/// A large tenant (`Template 0` … past the cap) and a small one holding only `Template 77`
/// (returned with its tenant).
async fn tenants(db: &TestDatabaseRef) -> (SeaScriptRepository, Tenant, Tenant, Script) {
    let repo = SeaScriptRepository::new(db.database.clone());
    let large = tenant(db, "large").await;
    let small = tenant(db, "small").await;
    create(&repo, large.id, "Template 0").await;
    copy_template(db, LARGE).await;
    let other = create(&repo, small.id, "Template 77").await;
    (repo, large, small, other)
}

fn request(page: u64, limit: u64) -> PageRequest {
    PageRequest { page, limit }
}

fn search(words: &str) -> ScriptFilter {
    ScriptFilter {
        search: Some(words.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_count_stops_at_its_cap_and_the_pages_go_on() {
    each_backend(|db| async move {
        let (repo, large, small, other) = tenants(&db).await;

        let cap = Page::<()>::COUNTED_AT_MOST;
        let first = repo
            .list(large.id, &ScriptFilter::default(), request(1, 20))
            .await
            .unwrap();
        assert_eq!(
            (first.total, first.total_exact, first.items.len()),
            (cap, false, 20)
        );
        assert!(first.has_next());
        // Past the counted pages, a page is still full, and says another follows.
        let past = repo
            .list(large.id, &ScriptFilter::default(), request(501, 20))
            .await
            .unwrap();
        assert_eq!((past.items.len(), past.total_exact), (20, false));
        assert!(past.has_next());
        let last = repo
            .list(large.id, &ScriptFilter::default(), request(503, 20))
            .await
            .unwrap();
        assert_eq!(last.items.len() as u64, LARGE - 502 * 20);
        assert!(!last.has_next());
        // A search that matches every script is capped the same way.
        let every = repo
            .list(large.id, &search("template"), request(1, 20))
            .await
            .unwrap();
        assert_eq!((every.total, every.total_exact), (cap, false));

        // The small tenant's count is exact and its own.
        let own = repo
            .list(small.id, &ScriptFilter::default(), request(1, 20))
            .await
            .unwrap();
        assert_eq!((own.total, own.total_exact), (1, true));
        assert_eq!(own.items[0].id, other.id);
    })
    .await;
}

#[tokio::test]
async fn a_search_of_few_matches_pages_them_in_list_order() {
    each_backend(|db| async move {
        let (repo, large, _, _) = tenants(&db).await;

        // Words match as prefixes of words on PostgreSQL, anywhere on SQLite.
        let postgres = db.backend == Backend::Postgres;
        let expected = (0..LARGE)
            .map(|g| g.to_string())
            .filter(|g| {
                if postgres {
                    g.starts_with("77")
                } else {
                    g.contains("77")
                }
            })
            .count() as u64;
        let pages = expected.div_ceil(10);
        let mut seen: Vec<(chrono::DateTime<Utc>, ScriptId, String)> = Vec::new();
        for number in 1..=pages {
            let page = repo
                .list(large.id, &search("template 77"), request(number, 10))
                .await
                .unwrap();
            assert_eq!((page.total, page.total_exact), (expected, true));
            assert_eq!(page.has_next(), number < pages, "page {number}");
            assert_eq!(
                page.items.len() as u64,
                (expected - (number - 1) * 10).min(10),
                "page {number}"
            );
            for script in page.items {
                assert_eq!(script.tenant_id, large.id);
                seen.push((script.updated_at, script.id, script.spec.name.to_string()));
            }
        }
        assert_eq!(seen.len() as u64, expected);
        let mut sorted = seen.clone();
        sorted.sort_by_key(|s| std::cmp::Reverse((s.0, s.1)));
        sorted.dedup_by(|a, b| a.1 == b.1);
        assert_eq!(
            seen, sorted,
            "newest change first, the id to break ties, no repeat"
        );
        assert!(seen.iter().all(|(_, _, name)| name.contains("77")));
        // A page past the matches is empty.
        let beyond = repo
            .list(large.id, &search("template 77"), request(pages + 1, 10))
            .await
            .unwrap();
        assert_eq!((beyond.items.len(), beyond.total), (0, expected));
    })
    .await;
}
