//! The framed protocol between the supervisor (in the server) and its sandbox workers (separate
//! processes): one typed module that both sides share.
//!
//! A frame is `[u32 LE header length][u32 LE blob length][header: JSON][blob: bytes]`. The
//! header is a [`ToWorker`] or [`FromWorker`] message; the blob carries bytecode, which would
//! be wasteful as JSON. Neither side trusts a frame's lengths: a frame larger than
//! [`MAX_FRAME_BYTES`] is a protocol violation, and the supervisor kills a worker that sends one.

use crate::host::HostError;
use domain::execution::{ExecutionError, LogEntry, Outcome};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use std::io::{self, Read, Write};

/// The largest frame either side accepts: above every output, log and host-call bound.
pub(crate) const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// What a worker is told once, before any job: how to run scripts and how to lock itself down.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct WorkerSettings {
    pub(crate) max_stack_bytes: usize,
    pub(crate) max_log_entries: usize,
    pub(crate) max_log_bytes: usize,
    pub(crate) allow_eval: bool,
    /// Threads kept idle in the worker for the next execution.
    pub(crate) idle_threads: usize,
    /// The worker's data-segment cap (`RLIMIT_DATA`), in bytes.
    pub(crate) memory_bytes: u64,
    /// The worker's niceness.
    pub(crate) nice: i32,
    /// Whether to apply the locks (rlimits, no-new-privs, seccomp): off only in the in-process
    /// mode, which cannot lock down the server itself.
    pub(crate) lockdown: bool,
}

/// Which entry aliases a compiled script exports (the bytecode travels as the frame's blob).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct EntryFlags {
    pub(crate) has_main: bool,
    pub(crate) has_handler: bool,
}

/// One execution to run. Its bytecode is the frame's blob when `entry` is set; otherwise the
/// worker compiles `source` and sends the bytecode back with its report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RunOrder {
    pub(crate) run: u64,
    pub(crate) entry: Option<EntryFlags>,
    pub(crate) source: Option<String>,
    /// The type's handler name (`handleRequest`, `handleEvent`), for compiling.
    pub(crate) handler: Option<String>,
    pub(crate) time_limit_ms: u64,
    pub(crate) memory_bytes: u64,
    pub(crate) max_output_bytes: u64,
    /// `context` as JSON, built by the supervisor.
    pub(crate) context: String,
    pub(crate) argument: Value,
    /// The host's services: names with their methods.
    pub(crate) services: Vec<(String, Vec<String>)>,
    /// Whether each accepted log line is also sent at once, as a `Log` frame.
    #[serde(default)]
    pub(crate) live_logs: bool,
}

/// From the supervisor to a worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    Init(WorkerSettings),
    Run(Box<RunOrder>),
    /// The result of host call `call` of run `run`.
    Reply {
        run: u64,
        call: u64,
        result: Result<Value, HostError>,
    },
    Cancel {
        run: u64,
    },
    /// Compile a source to check it, without running it.
    Compile {
        id: u64,
        source: String,
        handler: Option<String>,
    },
    /// Try what the sandbox must refuse (open a file, open a socket, start a program) and say
    /// what happened: the supervisor's self-check of the locks.
    Probe {
        id: u64,
    },
}

/// Which locks a worker holds, as it reports them once it is ready.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layers {
    /// `None` when held; otherwise why the layer is missing.
    pub memory_cap: Option<String>,
    pub no_new_privs: Option<String>,
    pub seccomp: Option<String>,
}

impl Layers {
    /// The names of the layers that are missing, with why.
    pub fn missing(&self) -> Vec<(&'static str, &str)> {
        [
            ("memory cap", &self.memory_cap),
            ("no-new-privileges", &self.no_new_privs),
            ("seccomp filter", &self.seccomp),
        ]
        .into_iter()
        .filter_map(|(name, why)| why.as_deref().map(|why| (name, why)))
        .collect()
    }
}

/// One thing a probe tried inside the worker, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeAttempt {
    /// What was tried (`open a file`, `open a socket`, `start a program`).
    pub action: String,
    /// `Err` with the refusal when the sandbox refused it; `Ok` when it was allowed.
    pub result: Result<(), String>,
}

/// A worker's account of one execution.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RunReport {
    pub(crate) outcome: WireOutcome,
    pub(crate) logs: Vec<LogEntry>,
    pub(crate) memory_bytes: u64,
    pub(crate) started_at: chrono::DateTime<chrono::Utc>,
    pub(crate) finished_at: chrono::DateTime<chrono::Utc>,
}

/// [`Outcome`] on the wire.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum WireOutcome {
    Completed(Value),
    Failed(ExecutionError),
    TimedOut(ExecutionError),
    Cancelled,
}

impl From<Outcome> for WireOutcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Completed(value) => Self::Completed(value),
            Outcome::Failed(error) => Self::Failed(error),
            Outcome::TimedOut(error) => Self::TimedOut(error),
            Outcome::Cancelled => Self::Cancelled,
        }
    }
}

impl From<WireOutcome> for Outcome {
    fn from(outcome: WireOutcome) -> Self {
        match outcome {
            WireOutcome::Completed(value) => Self::Completed(value),
            WireOutcome::Failed(error) => Self::Failed(error),
            WireOutcome::TimedOut(error) => Self::TimedOut(error),
            WireOutcome::Cancelled => Self::Cancelled,
        }
    }
}

/// From a worker to the supervisor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum FromWorker {
    Ready {
        layers: Layers,
    },
    /// Host call `call` of run `run`: `module.method(args)`.
    Call {
        run: u64,
        call: u64,
        module: String,
        method: String,
        args: Value,
    },
    /// A line run `run` just logged (only for orders with `live_logs`); it also comes again
    /// in the run's report.
    Log {
        run: u64,
        entry: LogEntry,
    },
    /// Run `run` ended. `compiled` is set (and the bytecode is the blob) when the worker
    /// compiled the source itself.
    Done {
        run: u64,
        report: Box<RunReport>,
        compiled: Option<EntryFlags>,
    },
    Compiled {
        id: u64,
        result: Result<(), ExecutionError>,
    },
    Probed {
        id: u64,
        attempts: Vec<ProbeAttempt>,
    },
}

/// Encodes a message and its blob as one frame.
pub(crate) fn encode<T: Serialize>(message: &T, blob: &[u8]) -> io::Result<Vec<u8>> {
    let header = serde_json::to_vec(message).map_err(io::Error::other)?;
    let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "frame too large");
    let header_len = u32::try_from(header.len()).map_err(|_| too_big())?;
    let blob_len = u32::try_from(blob.len()).map_err(|_| too_big())?;
    if header.len() + blob.len() > MAX_FRAME_BYTES {
        return Err(too_big());
    }
    let mut frame = Vec::with_capacity(8 + header.len() + blob.len());
    frame.extend_from_slice(&header_len.to_le_bytes());
    frame.extend_from_slice(&blob_len.to_le_bytes());
    frame.extend_from_slice(&header);
    frame.extend_from_slice(blob);
    Ok(frame)
}

/// Writes one frame and flushes it.
pub(crate) fn write_frame<T: Serialize>(
    writer: &mut impl Write,
    message: &T,
    blob: &[u8],
) -> io::Result<()> {
    writer.write_all(&encode(message, blob)?)?;
    writer.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream. A frame over [`MAX_FRAME_BYTES`] or a
/// header that is not a valid message is an `InvalidData` error.
pub(crate) fn read_frame<T: DeserializeOwned>(
    reader: &mut impl Read,
) -> io::Result<Option<(T, Vec<u8>)>> {
    let mut lengths = [0u8; 8];
    match reader.read_exact(&mut lengths) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let [a, b, c, d, e, f, g, h] = lengths;
    let header_len = u32::from_le_bytes([a, b, c, d]) as usize;
    let blob_len = u32::from_le_bytes([e, f, g, h]) as usize;
    if header_len.saturating_add(blob_len) > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a frame of {} bytes is over the limit",
                header_len + blob_len
            ),
        ));
    }
    let mut header = vec![0u8; header_len];
    reader.read_exact(&mut header)?;
    let mut blob = vec![0u8; blob_len];
    reader.read_exact(&mut blob)?;
    let message = serde_json::from_slice(&header)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Some((message, blob)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_their_blob() {
        let message = FromWorker::Call {
            run: 7,
            call: 3,
            module: "db".into(),
            method: "query".into(),
            args: serde_json::json!(["SELECT 1", [1, "two"]]),
        };
        let mut wire = Vec::new();
        write_frame(&mut wire, &message, b"bytecode").expect("encode");
        write_frame(&mut wire, &ToWorker::Cancel { run: 7 }, b"").expect("encode");
        let mut reader = wire.as_slice();
        let (back, blob): (FromWorker, _) = read_frame(&mut reader).expect("read").expect("one");
        assert!(matches!(
            back,
            FromWorker::Call {
                run: 7,
                call: 3,
                ..
            }
        ));
        assert_eq!(blob, b"bytecode");
        let (next, _): (ToWorker, _) = read_frame(&mut reader).expect("read").expect("two");
        assert!(matches!(next, ToWorker::Cancel { run: 7 }));
        assert!(read_frame::<ToWorker>(&mut reader).expect("end").is_none());
    }

    #[test]
    fn a_host_error_travels_with_its_code_spelled_as_scripts_see_it() {
        use crate::host::HostErrorCode;
        for code in [
            HostErrorCode::RateLimit,
            HostErrorCode::service("FORBIDDEN_ACTION"),
        ] {
            let text = code.as_str().to_owned();
            let result = Err(HostError::new(code.clone(), "no"));
            let reply = ToWorker::Reply {
                run: 1,
                call: 2,
                result,
            };
            let json = serde_json::to_value(&reply).expect("encode");
            assert_eq!(json["Reply"]["result"]["Err"]["code"], text.as_str());
            let back: ToWorker = serde_json::from_value(json).expect("decode");
            let ToWorker::Reply {
                result: Err(error), ..
            } = back
            else {
                panic!("not a failed reply: {back:?}");
            };
            assert_eq!(error.code, code);
        }
    }

    #[test]
    fn oversized_and_garbled_frames_are_refused() {
        let mut huge = Vec::new();
        huge.extend_from_slice(&(u32::MAX).to_le_bytes());
        huge.extend_from_slice(&0u32.to_le_bytes());
        let error = read_frame::<ToWorker>(&mut huge.as_slice()).expect_err("too large");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);

        let mut garbled = Vec::new();
        garbled.extend_from_slice(&3u32.to_le_bytes());
        garbled.extend_from_slice(&0u32.to_le_bytes());
        garbled.extend_from_slice(b"{{{");
        let error = read_frame::<ToWorker>(&mut garbled.as_slice()).expect_err("not a message");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);

        let truncated = &encode(&ToWorker::Probe { id: 1 }, b"").expect("encode")[..10];
        assert!(read_frame::<ToWorker>(&mut &truncated[..]).is_err());
    }
}
