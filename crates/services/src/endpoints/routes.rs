//! The in-memory table of HTTP routes: per tenant, the compiled patterns of its active `http`
//! scripts, matched without touching storage. A tenant's routes are reloaded before their next
//! use when this node changed its scripts (`ScriptChanges`), and when the (id, version) stamps
//! of the `http` scripts in storage show that another node did; those stamps are read at most
//! once per refresh interval, by the first request that finds them due.

use crate::clock::Clock;
use crate::script_changes::ScriptChanges;
use domain::TenantId;
use domain::endpoints::{EndpointRepository, EndpointStamp};
use domain::repository::RepoError;
use domain::script::{EndpointAuth, HttpMethod, Script, ScriptStatus};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter(String),
}

/// One script's route, compiled: its segments, methods and auth mode.
#[derive(Debug)]
struct CompiledRoute {
    segments: Vec<Segment>,
    methods: Vec<HttpMethod>,
    auth: EndpointAuth,
    key: String,
    script: Arc<Script>,
}

impl CompiledRoute {
    /// The route of an active `http` script; `None` for any other.
    fn compile(script: Script) -> Option<Self> {
        if script.spec.status != ScriptStatus::Active {
            return None;
        }
        let endpoint = script.spec.http()?.clone();
        let segments = split(endpoint.path.as_str())
            .map(|segment| match segment.strip_prefix(':') {
                Some(name) => Segment::Parameter(name.to_owned()),
                None => Segment::Literal(segment.to_owned()),
            })
            .collect();
        Some(Self {
            segments,
            methods: endpoint.methods.clone(),
            auth: endpoint.auth,
            key: endpoint.path.route_key(),
            script: Arc::new(script),
        })
    }

    /// The path parameters when `parts` (as many as the segments) match.
    fn bind(&self, parts: &[&str]) -> Option<BTreeMap<String, String>> {
        let mut params = BTreeMap::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Literal(_) => return None,
                Segment::Parameter(name) => {
                    params.insert(name.clone(), (*part).to_owned());
                }
            }
        }
        Some(params)
    }

    /// Literal segments rank before parameters, from the left: `/orders/new` before
    /// `/orders/:id`.
    fn rank(&self) -> Vec<bool> {
        let parameter = |s: &Segment| matches!(s, Segment::Parameter(_));
        self.segments.iter().map(parameter).collect()
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|segment| !segment.is_empty())
}

/// The route a request found: the script, the path parameters and the route's key.
#[derive(Clone, Debug)]
pub struct RouteMatch {
    pub script: Arc<Script>,
    pub params: BTreeMap<String, String>,
    pub route_key: String,
}

#[derive(Debug)]
pub enum Lookup {
    Found(RouteMatch),
    /// The path exists, not for this method: the methods it has.
    MethodNotAllowed(Vec<HttpMethod>),
    NotFound,
}

/// One tenant's routes, by number of segments, most specific first.
#[derive(Debug, Default)]
pub struct TenantRoutes {
    by_length: HashMap<usize, Vec<CompiledRoute>>,
}

impl TenantRoutes {
    fn build(scripts: Vec<Script>) -> Self {
        let mut by_length: HashMap<usize, Vec<CompiledRoute>> = HashMap::new();
        for route in scripts.into_iter().filter_map(CompiledRoute::compile) {
            by_length
                .entry(route.segments.len())
                .or_default()
                .push(route);
        }
        for routes in by_length.values_mut() {
            routes.sort_by_key(CompiledRoute::rank);
        }
        Self { by_length }
    }

    #[cfg(test)]
    pub(crate) fn build_for_tests(scripts: Vec<Script>) -> Self {
        Self::build(scripts)
    }

    /// Finds the route of `method` (any case) and `path`; with `public_only`, only public
    /// endpoints exist.
    pub fn lookup(&self, method: &str, path: &str, public_only: bool) -> Lookup {
        let parts: Vec<&str> = split(path).collect();
        let method = method.parse::<HttpMethod>().ok();
        let mut allowed: Vec<HttpMethod> = Vec::new();
        let candidates = self.by_length.get(&parts.len()).into_iter().flatten();
        for route in candidates.filter(|r| !public_only || r.auth == EndpointAuth::Public) {
            let Some(params) = route.bind(&parts) else {
                continue;
            };
            if method.is_some_and(|m| route.methods.contains(&m)) {
                return Lookup::Found(RouteMatch {
                    script: route.script.clone(),
                    params,
                    route_key: route.key.clone(),
                });
            }
            allowed.extend(&route.methods);
        }
        if allowed.is_empty() {
            return Lookup::NotFound;
        }
        allowed.sort_unstable();
        allowed.dedup();
        Lookup::MethodNotAllowed(allowed)
    }
}

/// A tenant's `http` scripts as (id, version), sorted: equal stamps, same routes.
type Stamp = Vec<(domain::ScriptId, i32)>;

#[derive(Default)]
struct Tables {
    routes: HashMap<TenantId, Arc<TenantRoutes>>,
    stamps: HashMap<TenantId, Stamp>,
}

pub struct RouteTable {
    repository: Arc<dyn EndpointRepository>,
    changes: Arc<ScriptChanges>,
    clock: Arc<dyn Clock>,
    refresh_every: Duration,
    tables: RwLock<Tables>,
    seen_generation: AtomicU64,
    checked_at: Mutex<Option<Instant>>,
    refreshing: tokio::sync::Mutex<()>,
}

fn stamp_of(scripts: &[Script]) -> Stamp {
    let mut stamp: Stamp = scripts.iter().map(|s| (s.id, s.version)).collect();
    stamp.sort_unstable();
    stamp
}

impl RouteTable {
    pub fn new(
        repository: Arc<dyn EndpointRepository>,
        changes: Arc<ScriptChanges>,
        clock: Arc<dyn Clock>,
        refresh_every: Duration,
    ) -> Self {
        Self {
            seen_generation: AtomicU64::new(changes.generation()),
            repository,
            changes,
            clock,
            refresh_every,
            tables: RwLock::default(),
            checked_at: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The tenant's routes, reloaded first if this node changed them or the stamps are due.
    pub async fn routes(&self, tenant: TenantId) -> Result<Arc<TenantRoutes>, RepoError> {
        if self.changes.generation() != self.seen_generation.load(Ordering::Acquire) {
            let _refreshing = self.refreshing.lock().await;
            let generation = self.changes.generation();
            let changed = self.changes.take();
            for tenant in &changed {
                if let Err(error) = self.reload(*tenant).await {
                    // Marked again, so that the next request tries again.
                    changed.iter().for_each(|t| self.changes.changed(*t));
                    return Err(error);
                }
            }
            self.seen_generation.store(generation, Ordering::Release);
        }
        if self.stamps_due() {
            // One request checks; the others go on with the table they have.
            if let Ok(_refreshing) = self.refreshing.try_lock() {
                if let Err(error) = self.check_stamps().await {
                    tracing::warn!(%error, "the HTTP route stamps could not be read");
                }
                *lock(&self.checked_at) = Some(self.clock.instant());
            }
        }
        let tables = self.tables.read().unwrap_or_else(|p| p.into_inner());
        Ok(tables.routes.get(&tenant).cloned().unwrap_or_default())
    }

    fn stamps_due(&self) -> bool {
        lock(&self.checked_at).is_none_or(|at| self.clock.instant() >= at + self.refresh_every)
    }

    /// Reads every stamp and reloads the tenants whose stamp changed.
    async fn check_stamps(&self) -> Result<(), RepoError> {
        let mut current: HashMap<TenantId, Stamp> = HashMap::new();
        for EndpointStamp {
            tenant_id,
            script_id,
            version,
        } in self.repository.http_stamps().await?
        {
            current
                .entry(tenant_id)
                .or_default()
                .push((script_id, version));
        }
        current.values_mut().for_each(|stamp| stamp.sort_unstable());
        let changed: Vec<TenantId> = {
            let tables = self.tables.read().unwrap_or_else(|p| p.into_inner());
            let gone = tables.stamps.keys().filter(|t| !current.contains_key(t));
            let moved = current
                .iter()
                .filter(|(tenant, stamp)| tables.stamps.get(tenant) != Some(stamp))
                .map(|(tenant, _)| tenant);
            gone.chain(moved).copied().collect()
        };
        for tenant in changed {
            self.reload(tenant).await?;
        }
        Ok(())
    }

    /// Loads one tenant's routes from storage.
    async fn reload(&self, tenant: TenantId) -> Result<(), RepoError> {
        let scripts = self.repository.http_scripts(tenant).await?;
        let stamp = stamp_of(&scripts);
        let routes = Arc::new(TenantRoutes::build(scripts));
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        if stamp.is_empty() {
            tables.routes.remove(&tenant);
            tables.stamps.remove(&tenant);
        } else {
            tables.routes.insert(tenant, routes);
            tables.stamps.insert(tenant, stamp);
        }
        tracing::debug!(%tenant, "HTTP routes reloaded");
        Ok(())
    }

    /// Loads every tenant's routes; run at start-up.
    pub async fn load(&self) -> Result<(), RepoError> {
        let _refreshing = self.refreshing.lock().await;
        self.check_stamps().await?;
        *lock(&self.checked_at) = Some(self.clock.instant());
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
