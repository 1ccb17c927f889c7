//! Work an engine gives its workers besides runs: compiling a source to check it when a script
//! is saved, and probing the sandbox's locks (at start-up and for tests).

use super::Engine;
use crate::compile::handler_name;
use crate::errors::error;
use crate::protocol::{Layers, ProbeAttempt};
use crate::supervisor::crashed;
use domain::execution::ExecutionError;
use domain::script::ScriptType;
use domain::{ScriptId, TenantId};
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Engine {
    /// Compiles `source` in a worker of `tenant` to check it (syntax and imports), without
    /// running it. A compile that takes longer than the sandbox's compile time kills the worker.
    pub async fn check(
        &self,
        tenant: TenantId,
        source: &str,
        script_type: ScriptType,
    ) -> Result<(), ExecutionError> {
        let _permit = self
            .limiter
            .acquire(tenant, ScriptId::from(uuid::Uuid::nil()), usize::MAX)
            .map_err(|e| error("BUSY", format!("the source cannot be checked now: {e}")))?;
        let placement = self
            .place(tenant)
            .map_err(|e| error("INTERNAL", e.to_string()))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let handler = handler_name(script_type).map(str::to_owned);
        let answer = placement.worker.compile(id, source.to_owned(), handler)?;
        let limit = self.config.sandbox.compile_time;
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(crashed("the sandbox process ended during the check")),
            Err(_) => {
                placement.worker.kill(
                    "another request of this tenant took too long and its sandbox was stopped",
                );
                Err(error(
                    "COMPILE_TIMEOUT",
                    format!(
                        "the source took longer than {} ms to compile",
                        limit.as_millis()
                    ),
                ))
            }
        }
    }

    /// Asks a worker of `tenant` which locks it holds, and to try what they must refuse
    /// (opening a file or a socket, starting a program): the sandbox's self-check.
    pub async fn probe_sandbox(
        &self,
        tenant: TenantId,
    ) -> Result<(Layers, Vec<ProbeAttempt>), ExecutionError> {
        let placement = self
            .place(tenant)
            .map_err(|e| error("INTERNAL", e.to_string()))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let answer = placement.worker.probe(id)?;
        match tokio::time::timeout(Duration::from_secs(10), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(crashed("the sandbox did not answer its probe")),
            Err(_) => {
                placement
                    .worker
                    .kill("a probe of this tenant's sandbox was not answered");
                Err(crashed("the sandbox did not answer its probe"))
            }
        }
    }

    /// Starts a worker and asks it which locks it holds and whether the probe was refused:
    /// run at start-up, so that a server whose workers cannot start says so at once.
    pub async fn self_check(&self) -> Result<(Layers, Vec<ProbeAttempt>), ExecutionError> {
        let worker = self.supervisor.start_warm().map_err(|e| {
            error(
                "SANDBOX_UNAVAILABLE",
                format!("cannot start a sandbox worker: {e}"),
            )
        })?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let answer = worker.probe(id)?;
        match tokio::time::timeout(Duration::from_secs(10), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) | Err(_) => {
                worker.kill("it did not answer its start-up check");
                Err(error(
                    "SANDBOX_UNAVAILABLE",
                    "a sandbox worker did not answer its start-up check",
                ))
            }
        }
    }
}
