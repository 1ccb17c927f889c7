//! The supervisor: starts sandbox workers ahead of demand, gives each to one tenant for its
//! whole life, places that tenant's runs on it, and retires it when it has served its number
//! of runs or stood idle. A worker ever runs the code of one tenant only, so a kill, a crash or
//! a compromised worker harms that tenant alone.

mod handle;
mod outgoing;
mod relay;
mod vitals;

pub(crate) use handle::{RunEnd, RunEntry, WorkerHandle, crashed};
pub(crate) use relay::Relay;
pub use vitals::ExecutorHealth;
use vitals::Vitals;

use crate::config::{EngineConfig, SandboxConfig, WorkerMode};
use crate::protocol::{ToWorker, WorkerSettings, encode};
use domain::TenantId;
use handle::Stopper;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// How often the janitor looks at the pool.
const JANITOR_PERIOD: Duration = Duration::from_millis(500);

#[derive(Default)]
struct Pool {
    /// Started, not yet given to a tenant.
    warm: Vec<Arc<WorkerHandle>>,
    by_tenant: HashMap<TenantId, Vec<Arc<WorkerHandle>>>,
}

pub(crate) struct Supervisor {
    config: SandboxConfig,
    settings: WorkerSettings,
    relay: Arc<Relay>,
    pool: Mutex<Pool>,
    next_worker: AtomicU64,
    nudge: crossbeam_channel::Sender<()>,
    vitals: Vitals,
}

fn lock(pool: &Mutex<Pool>) -> MutexGuard<'_, Pool> {
    pool.lock().unwrap_or_else(|p| p.into_inner())
}

impl Supervisor {
    pub(crate) fn new(config: &EngineConfig, relay: Relay) -> Arc<Self> {
        let sandbox = config.sandbox.clone();
        let settings = WorkerSettings {
            max_stack_bytes: config.max_stack_bytes,
            max_log_entries: config.max_log_entries,
            max_log_bytes: config.max_log_bytes,
            allow_eval: config.allow_eval,
            idle_threads: config.idle_threads,
            memory_bytes: sandbox.worker_memory_bytes,
            nice: sandbox.worker_nice,
            lockdown: matches!(sandbox.mode, WorkerMode::Process { .. }),
        };
        let (nudge, nudged) = crossbeam_channel::bounded(1);
        let supervisor = Arc::new(Self {
            config: sandbox,
            settings,
            relay: Arc::new(relay),
            pool: Mutex::default(),
            next_worker: AtomicU64::new(1),
            nudge,
            vitals: Vitals::default(),
        });
        let weak = Arc::downgrade(&supervisor);
        let started = std::thread::Builder::new()
            .name("iota-sandbox-janitor".into())
            .spawn(move || janitor(weak, nudged));
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start the sandbox janitor; workers are started on demand only");
        }
        supervisor
    }

    /// A worker of `tenant` with room for one more run, counted as taken; started if needed.
    pub(crate) fn place(&self, tenant: TenantId) -> std::io::Result<Arc<WorkerHandle>> {
        {
            let mut pool = lock(&self.pool);
            let max = self.config.runs_per_worker.max(1);
            let workers = pool.by_tenant.entry(tenant).or_default();
            workers.retain(|w| !w.is_dead());
            let best = workers
                .iter()
                .filter(|w| !w.retiring.load(Ordering::Acquire))
                .filter(|w| w.active.load(Ordering::Acquire) < max)
                .min_by_key(|w| w.active.load(Ordering::Acquire));
            if let Some(worker) = best.cloned() {
                worker.active.fetch_add(1, Ordering::AcqRel);
                return Ok(worker);
            }
            while let Some(worker) = pool.warm.pop() {
                if worker.is_dead() {
                    continue;
                }
                worker.active.fetch_add(1, Ordering::AcqRel);
                pool.by_tenant
                    .entry(tenant)
                    .or_default()
                    .push(worker.clone());
                let _ = self.nudge.try_send(());
                return Ok(worker);
            }
        }
        let worker = self.spawn()?;
        worker.active.fetch_add(1, Ordering::AcqRel);
        lock(&self.pool)
            .by_tenant
            .entry(tenant)
            .or_default()
            .push(worker.clone());
        let _ = self.nudge.try_send(());
        Ok(worker)
    }

    /// Starts a worker ahead of demand and returns it (it joins the warm workers).
    pub(crate) fn start_warm(&self) -> std::io::Result<Arc<WorkerHandle>> {
        let worker = self.spawn()?;
        lock(&self.pool).warm.push(worker.clone());
        Ok(worker)
    }

    /// Gives back what `place` took; a worker that has served its number of runs retires.
    pub(crate) fn release(&self, worker: &Arc<WorkerHandle>, ran: bool) {
        let _pool = lock(&self.pool);
        let left = worker
            .active
            .fetch_sub(1, Ordering::AcqRel)
            .saturating_sub(1);
        let served = if ran {
            worker.served.fetch_add(1, Ordering::AcqRel) + 1
        } else {
            worker.served.load(Ordering::Acquire)
        };
        if served >= self.config.recycle_after_runs {
            worker.retiring.store(true, Ordering::Release);
        }
        if left == 0 {
            *worker.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = crate::clock::now();
            if worker.retiring.load(Ordering::Acquire) {
                worker.close();
            }
        }
    }

    /// The supervisor's part of [`ExecutorHealth`]: workers alive, since the janitor's last
    /// round, and the last failure to start a worker.
    pub(crate) fn vitals(&self) -> (usize, Duration, Option<String>) {
        let workers = self.all().iter().filter(|w| !w.is_dead()).count();
        (
            workers,
            self.vitals.since_tended(),
            self.vitals.spawn_error(),
        )
    }

    /// Starts a new worker, noting whether that worked for the health probes.
    fn spawn(&self) -> std::io::Result<Arc<WorkerHandle>> {
        let spawned = self.start_worker();
        self.vitals.spawned(&spawned);
        spawned
    }

    fn start_worker(&self) -> std::io::Result<Arc<WorkerHandle>> {
        let id = self.next_worker.fetch_add(1, Ordering::Relaxed);
        let init = encode(&ToWorker::Init(self.settings.clone()), &[])?;
        match &self.config.mode {
            WorkerMode::Process { program, args } => {
                let mut child = Command::new(program)
                    .args(args)
                    .env_clear()
                    .env("TZ", "UTC")
                    .env("MALLOC_ARENA_MAX", "2")
                    .current_dir("/")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()?;
                let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
                    let _ = child.kill();
                    return Err(std::io::Error::other("the worker has no pipes"));
                };
                let streams = (
                    Box::new(input) as Box<dyn outgoing::Pipe>,
                    Box::new(output) as Box<dyn std::io::Read + Send>,
                );
                let stopper = Stopper::Process(Mutex::new(child));
                WorkerHandle::start(id, streams, stopper, self.relay.clone(), init, true)
            }
            WorkerMode::InProcessUnisolated => {
                let (their_input, our_input) = std::io::pipe()?;
                let (our_output, their_output) = std::io::pipe()?;
                std::thread::Builder::new()
                    .name(format!("iota-sandbox-{id}"))
                    .spawn(move || {
                        if let Err(e) = crate::worker::serve(their_input, their_output) {
                            tracing::warn!(error = %e, "in-process sandbox worker stopped");
                        }
                    })?;
                let streams = (
                    Box::new(our_input) as Box<dyn outgoing::Pipe>,
                    Box::new(our_output) as Box<dyn std::io::Read + Send>,
                );
                WorkerHandle::start(
                    id,
                    streams,
                    Stopper::Thread,
                    self.relay.clone(),
                    init,
                    false,
                )
            }
        }
    }

    /// Every worker the supervisor holds.
    fn all(&self) -> Vec<Arc<WorkerHandle>> {
        let pool = lock(&self.pool);
        pool.warm
            .iter()
            .chain(pool.by_tenant.values().flatten())
            .cloned()
            .collect()
    }

    /// Keeps the warm workers ready and retires idle or worn-out ones.
    fn tend(&self) {
        let mut retire = Vec::new();
        let missing = {
            let mut pool = lock(&self.pool);
            pool.warm.retain(|w| !w.is_dead());
            for workers in pool.by_tenant.values_mut() {
                workers.retain(|worker| {
                    if worker.is_dead() {
                        return false;
                    }
                    let idle = worker.active.load(Ordering::Acquire) == 0;
                    let since = *worker.idle_since.lock().unwrap_or_else(|p| p.into_inner());
                    let worn = worker.retiring.load(Ordering::Acquire);
                    let idle_for = crate::clock::now().saturating_duration_since(since);
                    if idle && (worn || idle_for >= self.config.idle_timeout) {
                        retire.push(worker.clone());
                        return false;
                    }
                    true
                });
            }
            pool.by_tenant.retain(|_, workers| !workers.is_empty());
            self.config.warm_workers.saturating_sub(pool.warm.len())
        };
        for worker in retire {
            worker.close();
        }
        for _ in 0..missing {
            match self.spawn() {
                Ok(worker) => lock(&self.pool).warm.push(worker),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a sandbox worker");
                    break;
                }
            }
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        for worker in self.all() {
            worker.close();
        }
    }
}

fn janitor(supervisor: Weak<Supervisor>, nudged: crossbeam_channel::Receiver<()>) {
    loop {
        match supervisor.upgrade() {
            Some(supervisor) => {
                supervisor.tend();
                supervisor.vitals.tended();
            }
            None => return,
        }
        if let Err(crossbeam_channel::RecvTimeoutError::Disconnected) =
            nudged.recv_timeout(JANITOR_PERIOD)
        {
            return;
        }
    }
}
