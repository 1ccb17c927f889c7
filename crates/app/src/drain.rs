//! How a node stops: the drain started (a signal, or the server stopped), it takes no new
//! work, gives the runs going on a bounded grace to finish, interrupts the rest — durable ones
//! go back to the queue for any node — and only then is the server stopped and the lease left.

use services::{Drain, ExecutionService};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often the runs still going are counted while the node drains.
const RUNS_POLL: Duration = Duration::from_millis(50);

/// What a draining node waits for.
pub(crate) struct Draining {
    /// The tasks that take work (cron passes, event dispatch, job workers); each ends by
    /// itself once the drain starts and the jobs it started are handled.
    pub takers: Vec<JoinHandle<()>>,
    pub executions: Arc<ExecutionService>,
    /// How long the runs going on may take to finish.
    pub grace: Duration,
    /// How long interrupted runs may take to stop and be queued again (the sandbox's grace,
    /// and some).
    pub interrupt_grace: Duration,
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
pub async fn signalled() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "SIGTERM cannot be handled");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => tracing::info!("SIGTERM received: draining"),
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received: draining"),
    }
}

/// Starts draining when `signalled` resolves.
pub fn on_signal(drain: Drain) -> JoinHandle<()> {
    tokio::spawn(async move {
        signalled().await;
        drain.start();
    })
}

impl Draining {
    /// Waits for the takers to end and the runs to finish, interrupting them past the grace.
    pub async fn run(mut self) {
        let executions = self.executions.clone();
        tracing::info!(
            running = executions.running_here(),
            grace_ms = self.grace.as_millis() as u64,
            "draining: no new work is taken; waiting for the runs going on"
        );
        if tokio::time::timeout(self.grace, self.settled())
            .await
            .is_ok()
        {
            tracing::info!("drained: every run finished");
            return;
        }
        let interrupted = executions.interrupt_all();
        tracing::warn!(
            interrupted,
            "the drain's grace is over: runs interrupted; queued work goes back to the queue"
        );
        if tokio::time::timeout(self.interrupt_grace, self.settled())
            .await
            .is_err()
        {
            tracing::error!(
                running = executions.running_here(),
                "runs did not stop after their interruption; stopping anyway"
            );
            for taker in &self.takers {
                taker.abort();
            }
        }
    }

    /// Every taker ended and no run goes on in this process.
    async fn settled(&mut self) {
        for taker in self.takers.iter_mut() {
            // A handle that already gave its result must not be polled again.
            if !taker.is_finished() {
                let _ = taker.await;
            }
        }
        while self.executions.running_here() > 0 {
            tokio::time::sleep(RUNS_POLL).await;
        }
    }
}
