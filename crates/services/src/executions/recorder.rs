//! Group commit of new execution records (runs as they start, and HTTP endpoint runs that
//! end quickly, stored only then): each run waits until its record is written, and the
//! records that arrive meanwhile are written together in one transaction, so the store's
//! cost per run falls as the load rises instead of queueing one write behind another.

use domain::execution::Execution;
use domain::repository::{ExecutionRepository, RepoError};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// The most records one transaction writes.
const MAX_BATCH: usize = 128;

type Waiter = oneshot::Sender<Result<(), RepoError>>;

pub(crate) struct Recorder {
    executions: Arc<dyn ExecutionRepository>,
    sender: OnceLock<mpsc::UnboundedSender<(Execution, Waiter)>>,
}

impl Recorder {
    pub(crate) fn new(executions: Arc<dyn ExecutionRepository>) -> Self {
        Self {
            executions,
            sender: OnceLock::new(),
        }
    }

    /// Stores `execution` (never stored before) with whatever other records are waiting.
    pub(crate) async fn record(&self, execution: Execution) -> Result<(), RepoError> {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(write(self.executions.clone(), receiver));
            sender
        });
        let (done, written) = oneshot::channel();
        sender
            .send((execution, done))
            .map_err(|_| RepoError::Storage("the execution recorder stopped".into()))?;
        written
            .await
            .map_err(|_| RepoError::Storage("the execution recorder stopped".into()))?
    }
}

/// Writes what arrives: each time, everything waiting (up to [`MAX_BATCH`]) in one go.
async fn write(
    executions: Arc<dyn ExecutionRepository>,
    mut receiver: mpsc::UnboundedReceiver<(Execution, Waiter)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (records, waiters): (Vec<Execution>, Vec<Waiter>) =
            std::mem::take(&mut batch).into_iter().unzip();
        match executions.insert_many(&records).await {
            Ok(()) => {
                for waiter in waiters {
                    let _ = waiter.send(Ok(()));
                }
            }
            // The store is out of reach or full: every record would wait for it again, so all
            // are told at once.
            Err(error @ (RepoError::Unavailable(_) | RepoError::StorageFull(_))) => {
                for waiter in waiters {
                    let _ = waiter.send(Err(error.clone()));
                }
            }
            // One bad record must not fail the others: each is written alone then.
            Err(_) if records.len() > 1 => {
                for (record, waiter) in records.iter().zip(waiters) {
                    let _ = waiter.send(executions.insert(record).await);
                }
            }
            Err(error) => {
                for waiter in waiters {
                    let _ = waiter.send(Err(error.clone()));
                }
            }
        }
    }
}
