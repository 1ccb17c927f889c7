//! Repository tests: every body runs on SQLite and on PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use chrono::Utc;
use domain::paging::{PageRequest, ScriptFilter};
use domain::repository::{
    RepoError, ScriptRepository, TenantRepository, TokenRepository, UserRepository,
};
use domain::script::{
    Script, ScriptInput, ScriptRules, ScriptStatus, ScriptType, ScriptVersion, change_summary,
};
use domain::tenant::Tenant;
use domain::token::{ApiToken, TokenSecret};
use domain::user::{Email, User};
use domain::{Role, ScriptId, TenantId, TokenId, UserId};
use persistence::{
    SeaScriptRepository, SeaTenantRepository, SeaTokenRepository, SeaUserRepository,
};
use testkit::{TestDatabaseRef, each_backend};

async fn tenant(db: &TestDatabaseRef, slug: &str) -> Tenant {
    let tenant = Tenant::new(slug, Some(slug), Utc::now()).unwrap();
    SeaTenantRepository::new(db.database.clone())
        .create(&tenant)
        .await
        .unwrap();
    tenant
}

fn input(name: &str, script_type: &str) -> ScriptInput {
    let mut input = ScriptInput {
        name: name.into(),
        description: format!("{name} description"),
        source: "export default async function (input) { return input }".into(),
        script_type: script_type.into(),
        ..Default::default()
    };
    match script_type {
        "scheduled" => input.cron_expression = Some("*/5 * * * *".into()),
        "http" => {
            input.http_path = Some(format!("/{}/:id", name.to_lowercase().replace(' ', "-")));
            input.http_methods = vec!["GET".into(), "POST".into()];
        }
        "event" => input.event_types = vec!["order.created".into()],
        _ => {}
    }
    input
}

fn new_script(tenant: TenantId, input: &ScriptInput) -> (Script, ScriptVersion) {
    let spec = ScriptRules::default().parse(input).expect("valid input");
    let script = Script::create(tenant, spec, None, Utc::now());
    let version = first_version(&script);
    (script, version)
}

fn first_version(script: &Script) -> ScriptVersion {
    ScriptVersion {
        script_id: script.id,
        tenant_id: script.tenant_id,
        version: script.version,
        spec: script.spec.clone(),
        created_at: script.updated_at,
        created_by: script.updated_by,
        change_summary: change_summary(None, &script.spec),
    }
}

async fn create(
    repo: &SeaScriptRepository,
    tenant: TenantId,
    name: &str,
    script_type: &str,
) -> Script {
    let (script, version) = new_script(tenant, &input(name, script_type));
    repo.create(&script, &version).await.expect("create");
    script
}

#[tokio::test]
async fn scripts_round_trip_and_stay_in_their_tenant() {
    each_backend(|db| async move {
        let repo = SeaScriptRepository::new(db.database.clone());
        let (a, b) = (tenant(&db, "tenant-a").await, tenant(&db, "tenant-b").await);
        for script_type in ScriptType::ALL {
            let script = create(
                &repo,
                a.id,
                &format!("Script {script_type}"),
                script_type.as_str(),
            )
            .await;
            let loaded = repo.get(a.id, script.id).await.unwrap().expect("found");
            assert_eq!(loaded.spec, script.spec, "{script_type}");
            assert_eq!(loaded.next_run_at, script.next_run_at);
            assert_eq!(
                repo.get(b.id, script.id).await.unwrap(),
                None,
                "other tenant sees nothing"
            );
        }
        let other = create(&repo, b.id, "Script oneoff", "oneoff").await;
        assert_eq!(
            repo.list(a.id, &ScriptFilter::default(), PageRequest::default())
                .await
                .unwrap()
                .total,
            5
        );
        assert_eq!(
            repo.list(b.id, &ScriptFilter::default(), PageRequest::default())
                .await
                .unwrap()
                .total,
            1
        );
        assert!(
            !repo.delete(a.id, other.id).await.unwrap(),
            "cannot delete another tenant's script"
        );
        assert!(repo.get(b.id, other.id).await.unwrap().is_some());
        assert!(repo.get_version(a.id, other.id, 1).await.unwrap().is_none());
        assert_eq!(
            repo.list_versions(a.id, other.id, PageRequest::default())
                .await
                .unwrap()
                .total,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn names_and_routes_are_unique_per_tenant() {
    each_backend(|db| async move {
        let repo = SeaScriptRepository::new(db.database.clone());
        let (a, b) = (tenant(&db, "tenant-a").await, tenant(&db, "tenant-b").await);
        create(&repo, a.id, "Orders", "http").await;
        let (dup, version) = new_script(a.id, &input("Orders", "oneoff"));
        assert_eq!(
            repo.create(&dup, &version).await,
            Err(RepoError::DuplicateName("Orders".into()))
        );

        // Same route under another parameter name and another script name: still a conflict.
        let mut clash = input("Orders two", "http");
        clash.http_path = Some("/orders/:orderId".into());
        clash.http_methods = vec!["POST".into()];
        let (clash, version) = new_script(a.id, &clash);
        assert_eq!(
            repo.create(&clash, &version).await,
            Err(RepoError::DuplicateRoute {
                method: "POST".into(),
                path: "/orders/:id".into()
            })
        );
        assert_eq!(
            repo.get(a.id, clash.id).await.unwrap(),
            None,
            "nothing half-written"
        );

        // Another method on the same path is free, and tenant B may reuse everything.
        let mut other_method = input("Orders put", "http");
        other_method.http_path = Some("/orders/:id".into());
        other_method.http_methods = vec!["PUT".into()];
        let (script, version) = new_script(a.id, &other_method);
        repo.create(&script, &version).await.expect("PUT is free");
        create(&repo, b.id, "Orders", "http").await;
    })
    .await;
}

#[tokio::test]
async fn updates_write_versions_and_refuse_stale_writes() {
    each_backend(|db| async move {
        let repo = SeaScriptRepository::new(db.database.clone());
        let a = tenant(&db, "tenant-a").await;
        let original = create(&repo, a.id, "Report", "http").await;

        let mut changed = original.clone();
        let mut spec = original.spec.clone();
        spec.status = ScriptStatus::Active;
        assert!(changed.revise(spec, Some(UserId::new()), Utc::now()));
        let mut version = first_version(&changed);
        version.change_summary = change_summary(Some(&original.spec), &changed.spec);
        repo.update(&changed, 1, &version).await.expect("update");

        // A writer that still holds version 1 loses, and writes nothing.
        let mut late = original.clone();
        let mut late_spec = original.spec.clone();
        late_spec.description = domain::script::Description::parse("late").unwrap();
        late.revise(late_spec, None, Utc::now());
        assert_eq!(
            repo.update(&late, 1, &first_version(&late)).await,
            Err(RepoError::Stale)
        );

        let loaded = repo.get(a.id, original.id).await.unwrap().unwrap();
        assert_eq!(
            (loaded.version, loaded.spec.status),
            (2, ScriptStatus::Active)
        );
        let versions = repo
            .list_versions(a.id, original.id, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(
            versions.items.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![2, 1]
        );
        assert_eq!(versions.items[0].change_summary, "Status draft → active");
        assert_eq!(
            repo.get_version(a.id, original.id, 1)
                .await
                .unwrap()
                .unwrap()
                .spec,
            original.spec
        );

        // Deleting removes versions and routes: the route is free again.
        assert!(repo.delete(a.id, original.id).await.unwrap());
        assert_eq!(repo.get_version(a.id, original.id, 1).await.unwrap(), None);
        create(&repo, a.id, "Report", "http").await;
    })
    .await;
}

#[tokio::test]
async fn listing_filters_searches_and_pages() {
    each_backend(|db| async move {
        let repo = SeaScriptRepository::new(db.database.clone());
        let a = tenant(&db, "tenant-a").await;
        create(&repo, a.id, "Export clients", "scheduled").await;
        create(&repo, a.id, "Export orders", "oneoff").await;
        create(&repo, a.id, "Welcome email", "event").await;
        let mut described = input("Cleanup", "oneoff");
        described.description = "Removes stale exports every night".into();
        let (script, version) = new_script(a.id, &described);
        repo.create(&script, &version).await.unwrap();

        let names = |filter: ScriptFilter| {
            let repo = repo.clone();
            async move {
                let page = repo
                    .list(a.id, &filter, PageRequest::default())
                    .await
                    .unwrap();
                let mut names: Vec<String> =
                    page.items.iter().map(|s| s.spec.name.to_string()).collect();
                names.sort();
                names
            }
        };
        let search = |s: &str| ScriptFilter {
            search: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(
            names(search("export")).await,
            vec!["Cleanup", "Export clients", "Export orders"]
        );
        assert_eq!(names(search("EXP ord")).await, vec!["Export orders"]);
        assert_eq!(names(search("welcome")).await, vec!["Welcome email"]);
        assert_eq!(
            names(search("'; drop table scripts; --")).await,
            Vec::<String>::new()
        );
        assert_eq!(names(search("100%")).await, Vec::<String>::new());
        let by_type = ScriptFilter {
            script_type: Some(ScriptType::OneOff),
            ..Default::default()
        };
        assert_eq!(names(by_type).await, vec!["Cleanup", "Export orders"]);
        let by_status = ScriptFilter {
            status: Some(ScriptStatus::Active),
            ..Default::default()
        };
        assert_eq!(names(by_status).await, Vec::<String>::new());

        let first = repo
            .list(
                a.id,
                &ScriptFilter::default(),
                PageRequest::parse(Some(1), Some(3)).unwrap(),
            )
            .await
            .unwrap();
        let second = repo
            .list(
                a.id,
                &ScriptFilter::default(),
                PageRequest::parse(Some(2), Some(3)).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            (first.total, first.items.len(), second.items.len()),
            (4, 3, 1)
        );
        assert!(
            second
                .items
                .iter()
                .all(|s| first.items.iter().all(|f| f.id != s.id))
        );
        assert_eq!(repo.get(a.id, ScriptId::new()).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn tenants_users_and_tokens() {
    each_backend(|db| async move {
        let tenants = SeaTenantRepository::new(db.database.clone());
        let users = SeaUserRepository::new(db.database.clone());
        let tokens = SeaTokenRepository::new(db.database.clone());
        assert_eq!(tenants.count().await.unwrap(), 0);
        let a = tenant(&db, "acme").await;
        let duplicate = Tenant::new("Acme again", Some("acme"), Utc::now()).unwrap();
        assert!(matches!(
            tenants.create(&duplicate).await,
            Err(RepoError::Duplicate { .. })
        ));
        assert_eq!(
            tenants.get_by_slug("acme").await.unwrap().map(|t| t.id),
            Some(a.id)
        );
        assert_eq!(
            tenants.get(a.id).await.unwrap().map(|t| t.name),
            Some("acme".into())
        );

        let user = User {
            id: UserId::new(),
            tenant_id: a.id,
            email: Email::parse("Dev@Example.com").unwrap(),
            password_hash: "$argon2id$stub".into(),
            roles: vec![Role::Developer, Role::Viewer],
            created_at: Utc::now(),
        };
        users.create(&user).await.unwrap();
        let same_email = User {
            id: UserId::new(),
            roles: vec![Role::Admin],
            ..user.clone()
        };
        assert!(matches!(
            users.create(&same_email).await,
            Err(RepoError::Duplicate { .. })
        ));
        let found = users
            .find_by_email(&Email::parse("dev@example.com").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.id, found.roles.clone()),
            (user.id, vec![Role::Developer, Role::Viewer])
        );
        assert_eq!(users.get(TenantId::new(), user.id).await.unwrap(), None);

        let secret = TokenSecret::from_random_bytes([42; 32]);
        let token = ApiToken {
            id: TokenId::new(),
            tenant_id: a.id,
            user_id: user.id,
            name: "cli".into(),
            token_hash: secret.hash(),
            created_at: Utc::now(),
            expires_at: None,
            last_used_at: None,
        };
        tokens.create(&token).await.unwrap();
        let found = tokens.find_by_hash(&secret.hash()).await.unwrap().unwrap();
        assert_eq!(found.user_id, user.id);
        assert!(
            tokens
                .find_by_hash(secret.expose())
                .await
                .unwrap()
                .is_none(),
            "the secret itself is not stored"
        );
        tokens.touch(token.id, Utc::now()).await.unwrap();
        assert!(
            tokens
                .find_by_hash(&secret.hash())
                .await
                .unwrap()
                .unwrap()
                .last_used_at
                .is_some()
        );
    })
    .await;
}
