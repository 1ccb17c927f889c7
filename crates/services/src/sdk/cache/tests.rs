//! Tests of `sdk.cache` storage: every expectation runs against both stores, memory and
//! Redis (the Redis at 127.0.0.1:6379 is required); each test uses fresh tenant ids and
//! removes its Redis keys afterwards.

use super::{
    CacheError, CacheLimits, CacheScope, CacheStore, MemoryCache, RedisCache, check_key, full_key,
    ttl_from_seconds,
};
use domain::{ScriptId, TenantId};
use runtime::HostErrorCode;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn limits() -> CacheLimits {
    CacheLimits {
        max_key_bytes: 32,
        max_value_bytes: 64,
        max_tenant_bytes: 1024 * 1024,
        max_ttl_seconds: 3600,
    }
}

fn quota_limits() -> CacheLimits {
    CacheLimits {
        max_tenant_bytes: 200,
        ..limits()
    }
}

async fn redis_store(limits: CacheLimits) -> RedisCache {
    match RedisCache::connect(REDIS_URL, limits).await {
        Ok(store) => store,
        Err(err) => panic!("these tests need Redis at {REDIS_URL}, which is unreachable: {err}"),
    }
}

/// Both stores, named for the test output.
async fn stores(limits: CacheLimits) -> Vec<(&'static str, Box<dyn CacheStore>)> {
    let redis = redis_store(limits.clone()).await;
    vec![
        ("memory", Box::new(MemoryCache::new(limits))),
        ("redis", Box::new(redis)),
    ]
}

/// A test that runs `$body(store, tenants)` against each store with fresh tenant ids.
macro_rules! store_test {
    ($name:ident: $limits:expr => $body:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            with_tenants(|tenants| async move {
                for (name, store) in stores($limits).await {
                    println!("store: {name}");
                    $body(store.as_ref(), tenants).await;
                }
            })
            .await;
        }
    };
}

/// Runs `body` with `N` fresh tenant ids, then deletes every Redis key of those tenants
/// (also when the body panicked, whose panic is then passed on).
async fn with_tenants<const N: usize, Fut>(body: impl FnOnce([TenantId; N]) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let tenants: [TenantId; N] = std::array::from_fn(|_| TenantId::new());
    let outcome = tokio::spawn(body(tenants)).await;
    remove_redis_keys(&tenants).await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

async fn remove_redis_keys(tenants: &[TenantId]) {
    let client = ::redis::Client::open(REDIS_URL).expect("Redis URL");
    let mut conn = ::redis::aio::ConnectionManager::new(client)
        .await
        .expect("Redis");
    for tenant in tenants {
        let pattern = format!("{}:*", super::redis::tenant_prefix(*tenant));
        let mut cursor = 0_u64;
        loop {
            let mut scan = ::redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, keys): (u64, Vec<String>) = scan.query_async(&mut conn).await.expect("SCAN");
            if !keys.is_empty() {
                let del = ::redis::cmd("DEL").arg(&keys).to_owned();
                let _: usize = del.query_async(&mut conn).await.expect("DEL");
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
}

fn scope(tenant: TenantId) -> CacheScope {
    CacheScope::new(tenant, ScriptId::new())
}

/// A JSON string value of exactly `bytes` bytes (quotes included).
fn json_text(bytes: usize) -> String {
    format!("\"{}\"", "x".repeat(bytes - 2))
}

#[track_caller]
fn fails<T: std::fmt::Debug>(result: Result<T, CacheError>, code: &HostErrorCode) {
    match result {
        Ok(value) => panic!("expected {code}, got Ok({value:?})"),
        Err(err) => assert_eq!(&err.code, code, "{err}"),
    }
}

/// Polls until `key` is gone; fails after 3 s.
async fn wait_until_gone(s: &dyn CacheStore, sc: CacheScope, key: &str) {
    let start = Instant::now();
    while s.exists(sc, key).await.unwrap() {
        assert!(start.elapsed() < Duration::from_secs(3), "{key} stayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn full_key_and_rules() {
    let (tenant, script) = (TenantId::new(), ScriptId::new());
    let key = full_key(CacheScope::new(tenant, script), "a:b");
    assert_eq!(key, format!("tenant:{tenant}:script:{script}:a:b"));

    let limits = limits();
    let (long, wide) = ("k".repeat(33), "é".repeat(17));
    for bad in ["", &long, &wide, "a\nb", "a\u{7f}", "a\u{85}b"] {
        fails(check_key(bad, &limits), &CacheError::INVALID_KEY);
    }
    for good in ["k", &"k".repeat(32), &"é".repeat(16), "orders:42 {x}"] {
        assert!(check_key(good, &limits).is_ok(), "{good:?}");
    }
    for bad in [f64::NAN, f64::INFINITY, -1.0, 0.0, 3600.5] {
        fails(ttl_from_seconds(bad, &limits), &CacheError::INVALID_TTL);
    }
    let quarter = ttl_from_seconds(0.25, &limits);
    assert_eq!(quarter, Ok(Duration::from_millis(250)));
    let hour = ttl_from_seconds(3600.0, &limits);
    assert_eq!(hour, Ok(Duration::from_secs(3600)));
}

store_test! { tenants_and_scripts_never_share_keys: limits() => no_collisions }
async fn no_collisions(s: &dyn CacheStore, [first, second]: [TenantId; 2]) {
    let script = ScriptId::new();
    let scopes = [
        CacheScope::new(first, script),
        CacheScope::new(first, ScriptId::new()),
        CacheScope::new(second, script),
    ];
    for (i, sc) in scopes.iter().enumerate() {
        assert!(s.set(*sc, "shared", &i.to_string(), None).await.unwrap());
    }
    for (i, sc) in scopes.iter().enumerate() {
        assert_eq!(s.get(*sc, "shared").await.unwrap(), Some(i.to_string()));
    }
    assert!(s.delete(scopes[0], "shared").await.unwrap());
    assert!(!s.exists(scopes[0], "shared").await.unwrap());
    assert!(s.exists(scopes[1], "shared").await.unwrap());
    assert!(s.exists(scopes[2], "shared").await.unwrap());
    assert_eq!(s.increment(scopes[1], "shared", 1).await.unwrap(), 2);
    let third = s.get(scopes[2], "shared").await.unwrap();
    assert_eq!(third.as_deref(), Some("2"));
}

store_test! { set_get_exists_delete_round_trip: limits() => round_trip }
async fn round_trip(s: &dyn CacheStore, [tenant]: [TenantId; 1]) {
    let sc = scope(tenant);
    let value = r#"{"a":[1,2.5,"é"],"b":null}"#;
    assert_eq!(s.get(sc, "doc").await.unwrap(), None);
    assert!(!s.exists(sc, "doc").await.unwrap());
    assert!(s.set(sc, "doc", value, None).await.unwrap());
    assert_eq!(s.get(sc, "doc").await.unwrap().as_deref(), Some(value));
    assert!(s.exists(sc, "doc").await.unwrap());
    assert!(s.set(sc, "doc", "true", None).await.unwrap());
    assert_eq!(s.get(sc, "doc").await.unwrap().as_deref(), Some("true"));
    assert!(s.delete(sc, "doc").await.unwrap());
    assert!(!s.delete(sc, "doc").await.unwrap(), "second delete");
    assert_eq!(s.get(sc, "doc").await.unwrap(), None);
}

/// What Redis itself holds for `key` of `sc`: its TTL in milliseconds (`PTTL`: -1 none, -2 no
/// key) and its score in the tenant's expiry index (`inf` when it never expires).
async fn server_ttl(
    conn: &mut ::redis::aio::ConnectionManager,
    sc: CacheScope,
    key: &str,
) -> (i64, Option<String>) {
    let data_key = format!(
        "{}:{}",
        super::redis::tenant_prefix(sc.tenant_id),
        full_key(sc, key)
    );
    let index = format!("{}:keys", super::redis::tenant_prefix(sc.tenant_id));
    let pttl = ::redis::cmd("PTTL").arg(&data_key).to_owned();
    let score = ::redis::cmd("ZSCORE").arg(index).arg(&data_key).to_owned();
    let pttl: i64 = pttl.query_async(conn).await.expect("PTTL");
    let score: Option<String> = score.query_async(conn).await.expect("ZSCORE");
    (pttl, score)
}

#[track_caller]
fn expires_within(found: (i64, Option<String>), ttl: Duration, what: &str) {
    let ttl = i64::try_from(ttl.as_millis()).unwrap();
    let (pttl, score) = found;
    assert!(
        pttl > ttl - 30_000 && pttl <= ttl,
        "{what}: PTTL {pttl}, wanted about {ttl}"
    );
    let score: f64 = score.expect("indexed").parse().unwrap();
    assert!(score.is_finite(), "{what}: the index says it never expires");
}

/// Redis applies TTLs on the server: each is read back there (`PTTL`) right after it is
/// given, so nothing waits for a key to expire. TTLs are long so that a slow machine cannot
/// see one run out mid-test; the memory store's expiry runs on an injected clock below.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_keeps_each_ttl_on_the_server() {
    with_tenants(|[tenant]| async move {
        let store = redis_store(limits()).await;
        let client = ::redis::Client::open(REDIS_URL).expect("Redis URL");
        let mut conn = ::redis::aio::ConnectionManager::new(client)
            .await
            .expect("Redis");
        let sc = scope(tenant);
        let (minute, hour) = (Duration::from_secs(60), Duration::from_secs(3600));
        for key in ["short", "extended", "counter"] {
            assert!(store.set(sc, key, "1", Some(minute)).await.unwrap());
        }
        assert!(store.set(sc, "forever", "1", None).await.unwrap());
        let short = server_ttl(&mut conn, sc, "short").await;
        expires_within(short, minute, "set with a TTL");
        let forever = server_ttl(&mut conn, sc, "forever").await;
        assert_eq!(forever, (-1, Some("inf".into())), "set without a TTL");

        assert!(store.expire(sc, "extended", hour).await.unwrap());
        let extended = server_ttl(&mut conn, sc, "extended").await;
        expires_within(extended, hour, "expire");
        assert!(store.expire(sc, "forever", minute).await.unwrap());
        let forever = server_ttl(&mut conn, sc, "forever").await;
        expires_within(forever, minute, "expire on a key without TTL");
        assert!(!store.expire(sc, "missing", minute).await.unwrap());
        let missing = server_ttl(&mut conn, sc, "missing").await;
        assert_eq!(missing, (-2, None), "expire created a key");

        assert_eq!(store.increment(sc, "counter", 1).await.unwrap(), 2);
        let counter = server_ttl(&mut conn, sc, "counter").await;
        expires_within(counter, minute, "increment kept the TTL");
        assert!(store.set(sc, "short", "2", None).await.unwrap());
        let short = server_ttl(&mut conn, sc, "short").await;
        assert_eq!(
            short,
            (-1, Some("inf".into())),
            "set without a TTL drops the old one"
        );
    })
    .await;
}

store_test! { increment_counts_from_zero_and_refuses_non_integers: limits() => increment }
async fn increment(s: &dyn CacheStore, [tenant]: [TenantId; 1]) {
    let sc = scope(tenant);
    assert_eq!(s.increment(sc, "n", 5).await.unwrap(), 5);
    assert_eq!(s.increment(sc, "n", -7).await.unwrap(), -2);
    assert_eq!(s.get(sc, "n").await.unwrap().as_deref(), Some("-2"));
    s.set(sc, "n", "41", None).await.unwrap();
    assert_eq!(s.increment(sc, "n", 1).await.unwrap(), 42);
    let not_integers = [
        r#""7""#, "1.5", "1e3", "true", "null", "-0", "007", " 7", "[1]",
    ];
    for bad in not_integers {
        s.set(sc, "bad", bad, None).await.unwrap();
        fails(s.increment(sc, "bad", 1).await, &CacheError::NOT_A_NUMBER);
        assert_eq!(s.get(sc, "bad").await.unwrap().as_deref(), Some(bad));
    }
    s.set(sc, "big", &i64::MAX.to_string(), None).await.unwrap();
    fails(s.increment(sc, "big", 1).await, &CacheError::NOT_A_NUMBER);
    assert_eq!(s.increment(sc, "big", -1).await.unwrap(), i64::MAX - 1);
}

store_test! { value_key_and_ttl_rules_are_enforced: limits() => rules }
async fn rules(s: &dyn CacheStore, [tenant]: [TenantId; 1]) {
    let sc = scope(tenant);
    assert!(s.set(sc, "v", &json_text(64), None).await.unwrap());
    let too_large = s.set(sc, "v2", &json_text(65), None).await;
    fails(too_large, &CacheError::VALUE_TOO_LARGE);
    assert!(!s.exists(sc, "v2").await.unwrap());

    let (invalid, second) = (CacheError::INVALID_KEY, Duration::from_secs(1));
    for bad in ["", &"k".repeat(33), "a\nb"] {
        fails(s.get(sc, bad).await, &invalid);
        fails(s.set(sc, bad, "1", None).await, &invalid);
        fails(s.delete(sc, bad).await, &invalid);
        fails(s.exists(sc, bad).await, &invalid);
        fails(s.increment(sc, bad, 1).await, &invalid);
        fails(s.expire(sc, bad, second).await, &invalid);
    }
    assert!(s.set(sc, &"é".repeat(16), "1", None).await.unwrap());

    let invalid = CacheError::INVALID_TTL;
    for bad in [Duration::ZERO, Duration::from_secs(3601)] {
        fails(s.set(sc, "t", "1", Some(bad)).await, &invalid);
        fails(s.expire(sc, "v", bad).await, &invalid);
    }
    assert!(!s.exists(sc, "t").await.unwrap());
    let (hour, tiny) = (Duration::from_secs(3600), Duration::from_nanos(1));
    assert!(s.set(sc, "t", "1", Some(hour)).await.unwrap());
    assert!(s.set(sc, "t", "1", Some(tiny)).await.unwrap());
}

/// The memory store, and two Redis stores with their own connections as two nodes have.
async fn nodes(limits: CacheLimits) -> [(&'static str, Vec<Arc<dyn CacheStore>>); 2] {
    let memory: Arc<dyn CacheStore> = Arc::new(MemoryCache::new(limits.clone()));
    let node_a: Arc<dyn CacheStore> = Arc::new(redis_store(limits.clone()).await);
    let node_b: Arc<dyn CacheStore> = Arc::new(redis_store(limits).await);
    [("memory", vec![memory]), ("redis", vec![node_a, node_b])]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn increment_is_atomic_under_concurrency() {
    with_tenants(|[tenant]| async move {
        for (name, nodes) in nodes(limits()).await {
            println!("store: {name}");
            let sc = scope(tenant);
            let tasks: Vec<_> = (0..20)
                .map(|i| {
                    let s = Arc::clone(&nodes[i % nodes.len()]);
                    tokio::spawn(async move {
                        for _ in 0..50 {
                            s.increment(sc, "hits", 1).await.unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let hits = nodes[0].get(sc, "hits").await.unwrap();
            assert_eq!(hits.as_deref(), Some("1000"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_holds_under_concurrent_writes() {
    with_tenants(|[tenant]| async move {
        for (name, nodes) in nodes(quota_limits()).await {
            println!("store: {name}");
            let sc = scope(tenant);
            // 30 writers of 20-byte entries (3-byte key, 17-byte value); 10 fit in 200 bytes.
            let tasks: Vec<_> = (0..30)
                .map(|i| {
                    let s = Arc::clone(&nodes[i % nodes.len()]);
                    let key = format!("k{i:02}");
                    tokio::spawn(async move { s.set(sc, &key, &json_text(17), None).await })
                })
                .collect();
            let mut stored = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(_) => stored += 1,
                    Err(err) => assert_eq!(err.code, CacheError::QUOTA_EXCEEDED),
                }
            }
            assert_eq!(stored, 10);
            for i in 0..30 {
                nodes[0].delete(sc, &format!("k{i:02}")).await.unwrap();
            }
        }
    })
    .await;
}

/// Fills `t1`'s quota (200 bytes; an entry of a 2-byte key and a 48-byte value counts 50),
/// checks that `t2` is unaffected and that overwriting, deleting and expiry free space.
/// Returns the keys left.
async fn fill_and_free(
    s: &dyn CacheStore,
    t1: TenantId,
    t2: TenantId,
) -> Vec<(CacheScope, &'static str)> {
    let (a, b, other) = (scope(t1), scope(t1), scope(t2));
    let full = CacheError::QUOTA_EXCEEDED;
    for (sc, key) in [(a, "k1"), (a, "k2"), (b, "k3"), (b, "k4")] {
        s.set(sc, key, &json_text(48), None).await.unwrap();
    }
    fails(s.set(a, "k5", "1", None).await, &full);
    fails(s.increment(b, "n", 1).await, &full);
    assert!(
        !s.exists(b, "n").await.unwrap(),
        "refused increment left a key"
    );
    assert!(s.set(a, "k1", &json_text(48), None).await.unwrap()); // same size: allowed
    assert!(s.set(other, "k1", &json_text(48), None).await.unwrap()); // other tenant

    s.set(a, "k1", "1", None).await.unwrap(); // 200 - 50 + 3 = 153
    s.set(a, "k5", &json_text(45), None).await.unwrap(); // 200
    fails(s.set(a, "k6", "1", None).await, &full);
    assert!(s.delete(b, "k3").await.unwrap()); // 150
    s.set(a, "k6", "1", None).await.unwrap(); // 153
    s.delete(a, "k6").await.unwrap(); // 150
    let second = Some(Duration::from_secs(1));
    s.set(b, "t", &json_text(49), second).await.unwrap(); // 200
    fails(s.set(a, "k6", "1", None).await, &full);
    wait_until_gone(s, b, "t").await;
    s.set(a, "k6", "1", None).await.unwrap(); // 153: the expiry freed the space at once
    assert_eq!(s.increment(b, "n", 1).await.unwrap(), 1); // 155
    let left = [
        (a, "k1"),
        (a, "k2"),
        (b, "k4"),
        (a, "k5"),
        (a, "k6"),
        (b, "n"),
    ];
    left.into_iter().chain([(other, "k1")]).collect()
}

async fn delete_all(s: &dyn CacheStore, keys: Vec<(CacheScope, &str)>) {
    for (sc, key) in keys {
        assert!(s.delete(sc, key).await.unwrap(), "{key} was missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_is_per_tenant_and_freed_by_delete_overwrite_and_expiry() {
    with_tenants(|[t1, t2]| async move {
        println!("store: memory");
        let memory = MemoryCache::new(quota_limits());
        let keys = fill_and_free(&memory, t1, t2).await;
        assert_eq!((memory.used_bytes(t1), memory.used_bytes(t2)), (155, 50));
        delete_all(&memory, keys).await;
        assert_eq!((memory.used_bytes(t1), memory.used_bytes(t2)), (0, 0));

        println!("store: redis");
        let redis = redis_store(quota_limits()).await;
        let keys = fill_and_free(&redis, t1, t2).await;
        let used = (redis.used_bytes(t1).await, redis.used_bytes(t2).await);
        assert_eq!(used, (155, 50));
        delete_all(&redis, keys).await;
        let used = (redis.used_bytes(t1).await, redis.used_bytes(t2).await);
        assert_eq!(used, (0, 0));
    })
    .await;
}

/// A clock that moves only when told to.
struct ManualClock(std::sync::Mutex<Instant>);

impl crate::clock::Clock for ManualClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
    }

    fn instant(&self) -> Instant {
        *self.0.lock().unwrap()
    }
}

#[tokio::test]
async fn memory_ttls_follow_the_injected_clock() {
    let clock = Arc::new(ManualClock(std::sync::Mutex::new(Instant::now())));
    let store = MemoryCache::with_clock(limits(), clock.clone());
    let sc = scope(TenantId::new());
    let advance = |by: Duration| *clock.0.lock().unwrap() += by;
    let (second, minute) = (Duration::from_secs(1), Duration::from_secs(60));
    for key in ["short", "extended", "counter"] {
        store.set(sc, key, "1", Some(second)).await.unwrap();
    }
    store.set(sc, "forever", "1", None).await.unwrap();
    assert!(store.expire(sc, "extended", minute).await.unwrap());
    assert_eq!(store.increment(sc, "counter", 1).await.unwrap(), 2);
    advance(Duration::from_millis(999));
    assert!(store.exists(sc, "short").await.unwrap(), "not yet");
    advance(Duration::from_millis(2));
    assert_eq!(store.get(sc, "short").await.unwrap(), None);
    assert!(
        !store.exists(sc, "counter").await.unwrap(),
        "increment kept the TTL"
    );
    assert!(store.exists(sc, "extended").await.unwrap(), "extended");
    assert!(store.exists(sc, "forever").await.unwrap(), "no TTL");
    assert!(!store.expire(sc, "short", minute).await.unwrap(), "expired");
    assert!(!store.delete(sc, "short").await.unwrap(), "expired");
    assert!(!store.expire(sc, "missing", second).await.unwrap());
    advance(minute);
    assert!(!store.exists(sc, "extended").await.unwrap());
    assert!(store.exists(sc, "forever").await.unwrap());
    assert!(store.expire(sc, "forever", second).await.unwrap());
    advance(second);
    assert!(
        !store.exists(sc, "forever").await.unwrap(),
        "expire on a key without TTL"
    );
}
