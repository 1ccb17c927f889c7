//! A cached pool of execution threads: an execution runs on a thread of its own, so that the
//! operating system time-slices CPU-bound scripts against each other and against the server.
//! Idle threads wait for the next execution for a while, then exit.

use crossbeam_channel::{Receiver, Sender, unbounded};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

type Task = Box<dyn FnOnce() + Send + 'static>;

/// The niceness of a demoted execution thread: the lowest share of the CPU.
pub(crate) const DEMOTED_NICE: i32 = 19;

thread_local! {
    /// Whether this thread was demoted; a demoted thread ends with its run (no thread may
    /// make itself less nice again without privilege, so it is not given another run).
    static DEMOTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Demotes the calling execution thread: a run that keeps the CPU busy yields it to every
/// short run (of any tenant) and to the server when they want it, and still has all of it when
/// no one else does. The thread takes the `SCHED_IDLE` policy — a thread of any other policy
/// that wakes up takes the CPU from it at once, where niceness alone only shrinks its share
/// and lets it finish its slice first (milliseconds added to every step of a short run) — and
/// niceness [`DEMOTED_NICE`], which holds should the policy be refused.
pub(crate) fn demote_current_thread() {
    if DEMOTED.with(|demoted| demoted.replace(true)) {
        return;
    }
    // `setpriority(PRIO_PROCESS, 0, …)` and `sched_setscheduler(0, …)` act on the calling
    // thread on Linux.
    #[cfg(target_os = "linux")]
    {
        if let Err(error) = rustix::process::setpriority_process(None, DEMOTED_NICE) {
            tracing::debug!(%error, "a long run's thread could not be demoted");
        }
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param that outlives the call.
        #[allow(unsafe_code)]
        let set = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if set != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "a long run's thread could not take the idle policy"
            );
        }
    }
}

/// Whether the calling thread was demoted (it leaves the pool after its run).
pub(crate) fn current_thread_demoted() -> bool {
    DEMOTED.with(std::cell::Cell::get)
}

const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Native stack of an execution thread: room for the JavaScript stack limit and the engine.
pub(crate) const THREAD_STACK_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub(crate) struct ThreadPool {
    sender: Sender<Task>,
    receiver: Receiver<Task>,
    idle: Arc<AtomicUsize>,
    max_idle: usize,
}

impl ThreadPool {
    pub(crate) fn new(max_idle: usize) -> Self {
        let (sender, receiver) = unbounded();
        Self {
            sender,
            receiver,
            idle: Arc::new(AtomicUsize::new(0)),
            max_idle,
        }
    }

    /// Runs `task` on an idle thread, or on a new one when none is idle.
    pub(crate) fn spawn(&self, task: Task) -> std::io::Result<()> {
        // Claim an idle thread; if there is none, start one for this task.
        let claimed = self
            .idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if claimed {
            return self
                .sender
                .send(task)
                .map_err(|_| std::io::Error::other("execution pool closed"));
        }
        let receiver = self.receiver.clone();
        let idle = self.idle.clone();
        let max_idle = self.max_idle;
        std::thread::Builder::new()
            .name("iota-script".into())
            .stack_size(THREAD_STACK_BYTES)
            .spawn(move || worker(task, receiver, idle, max_idle))
            .map(|_| ())
    }
}

fn worker(first: Task, receiver: Receiver<Task>, idle: Arc<AtomicUsize>, max_idle: usize) {
    first();
    loop {
        if current_thread_demoted() {
            return;
        }
        let registered = idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max_idle).then_some(n + 1)
        });
        if registered.is_err() {
            return;
        }
        match receiver.recv_timeout(IDLE_TIMEOUT) {
            Ok(task) => task(),
            Err(_) => {
                // Leave, unless a task was handed to us between the timeout and now.
                if idle
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok()
                {
                    return;
                }
                match receiver.recv() {
                    Ok(task) => task(),
                    Err(_) => return,
                }
            }
        }
    }
}
