//! This node's copy of the lines of running executions (of every node), bounded per execution
//! and in total, each with a broadcast channel for the readers that follow it here.

use super::wire::{Batch, LiveLine};
use domain::ExecutionId;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Most lines kept per execution (the earliest go first).
const MAX_LINES: usize = 2_000;
/// Most bytes kept per execution.
const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Most bytes kept for all executions together (the least recently active go first).
const MAX_TOTAL_BYTES: usize = 64 * 1024 * 1024;
/// An execution that logged nothing for this long is forgotten (its node may have died).
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(600);
/// Events a slow reader may fall behind before it must catch up from the kept lines.
const CHANNEL_CAPACITY: usize = 256;

/// What a reader following an execution hears.
#[derive(Clone, Debug)]
pub enum LiveEvent {
    Line(Arc<LiveLine>),
    /// The execution's final record is stored.
    End,
}

struct Buffer {
    lines: VecDeque<(Arc<LiveLine>, usize)>,
    bytes: usize,
    last_seq: u64,
    touched: Instant,
    /// Made when someone first follows the execution here.
    readers: Option<broadcast::Sender<LiveEvent>>,
}

impl Buffer {
    fn new(now: Instant) -> Self {
        Self {
            lines: VecDeque::new(),
            bytes: 0,
            last_seq: 0,
            touched: now,
            readers: None,
        }
    }

    fn send(&self, event: LiveEvent) {
        if let Some(readers) = &self.readers {
            let _ = readers.send(event);
        }
    }
}

/// The lines kept now, and the events from then on.
pub struct Subscription {
    pub lines: Vec<Arc<LiveLine>>,
    pub events: broadcast::Receiver<LiveEvent>,
}

#[derive(Default)]
pub(crate) struct Mirror {
    buffers: HashMap<ExecutionId, Buffer>,
    total_bytes: usize,
}

impl Mirror {
    /// Takes in a batch from the bus: new lines are kept and told to readers; an end is told
    /// to readers and the execution forgotten.
    pub(crate) fn apply(&mut self, batch: Batch, now: Instant) {
        let buffer = self
            .buffers
            .entry(batch.execution)
            .or_insert_with(|| Buffer::new(now));
        buffer.touched = now;
        for line in batch.lines {
            if line.seq <= buffer.last_seq {
                continue;
            }
            buffer.last_seq = line.seq;
            let size = line.entry.message.len() + line.entry.metadata.to_string().len() + 64;
            let line = Arc::new(line);
            buffer.send(LiveEvent::Line(line.clone()));
            buffer.lines.push_back((line, size));
            buffer.bytes += size;
            self.total_bytes += size;
            while buffer.lines.len() > MAX_LINES || buffer.bytes > MAX_BYTES {
                let Some((_, dropped)) = buffer.lines.pop_front() else {
                    break;
                };
                buffer.bytes -= dropped;
                self.total_bytes -= dropped;
            }
        }
        if batch.end {
            buffer.send(LiveEvent::End);
            self.forget(batch.execution);
        }
        while self.total_bytes > MAX_TOTAL_BYTES {
            let oldest = self
                .buffers
                .iter()
                .min_by_key(|(_, buffer)| buffer.touched)
                .map(|(id, _)| *id);
            match oldest {
                Some(id) => self.forget(id),
                None => break,
            }
        }
    }

    /// Follows an execution: the lines kept so far and a receiver of what comes next, taken
    /// together so that nothing falls between them.
    pub(crate) fn subscribe(&mut self, execution: ExecutionId, now: Instant) -> Subscription {
        let buffer = self
            .buffers
            .entry(execution)
            .or_insert_with(|| Buffer::new(now));
        let events = buffer
            .readers
            .get_or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe();
        Subscription {
            lines: buffer.lines.iter().map(|(line, _)| line.clone()).collect(),
            events,
        }
    }

    /// The kept lines of an execution after `seq`.
    pub(crate) fn lines_after(&self, execution: ExecutionId, seq: u64) -> Vec<Arc<LiveLine>> {
        self.buffers
            .get(&execution)
            .map_or_else(Vec::new, |buffer| {
                let lines = buffer.lines.iter().map(|(line, _)| line);
                lines.filter(|line| line.seq > seq).cloned().collect()
            })
    }

    /// Forgets executions that went quiet for [`STALE_AFTER`], and empty ones no one follows.
    pub(crate) fn sweep(&mut self, now: Instant) {
        let stale: Vec<_> = self
            .buffers
            .iter()
            .filter(|(_, buffer)| {
                let unread = buffer
                    .readers
                    .as_ref()
                    .is_none_or(|r| r.receiver_count() == 0);
                now.saturating_duration_since(buffer.touched) >= STALE_AFTER
                    || (buffer.lines.is_empty() && unread)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.forget(id);
        }
    }

    fn forget(&mut self, execution: ExecutionId) {
        if let Some(buffer) = self.buffers.remove(&execution) {
            self.total_bytes -= buffer.bytes;
        }
    }

    #[cfg(test)]
    pub(crate) fn kept(&self) -> (usize, usize) {
        (self.buffers.len(), self.total_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::execution::{LogEntry, LogLevel};

    fn batch(execution: ExecutionId, seqs: impl IntoIterator<Item = u64>, end: bool) -> Batch {
        let lines = seqs
            .into_iter()
            .map(|seq| LiveLine {
                seq,
                entry: LogEntry {
                    level: LogLevel::Info,
                    message: format!("line {seq}"),
                    metadata: serde_json::Value::Null,
                    ts: chrono::DateTime::UNIX_EPOCH,
                },
            })
            .collect();
        Batch {
            execution,
            lines,
            end,
        }
    }

    #[test]
    fn a_reader_gets_the_kept_lines_then_new_ones_once_then_the_end() {
        let (mut mirror, now, id) = (Mirror::default(), Instant::now(), ExecutionId::new());
        mirror.apply(batch(id, 1..=2, false), now);
        let mut subscription = mirror.subscribe(id, now);
        assert_eq!(subscription.lines.len(), 2);
        mirror.apply(batch(id, 2..=3, false), now);
        let LiveEvent::Line(line) = subscription.events.try_recv().unwrap() else {
            panic!("not a line");
        };
        assert_eq!(line.seq, 3, "a repeated line was told twice");
        assert_eq!(mirror.lines_after(id, 1).len(), 2);
        mirror.apply(batch(id, [], true), now);
        assert!(matches!(subscription.events.try_recv(), Ok(LiveEvent::End)));
        assert_eq!(mirror.kept(), (0, 0));
    }

    #[test]
    fn an_execution_keeps_its_latest_lines_within_its_bound() {
        let (mut mirror, now, id) = (Mirror::default(), Instant::now(), ExecutionId::new());
        mirror.apply(batch(id, 1..=(MAX_LINES as u64 + 10), false), now);
        let kept = mirror.lines_after(id, 0);
        assert_eq!(kept.len(), MAX_LINES);
        assert_eq!(kept[0].seq, 11);
    }

    #[test]
    fn quiet_executions_and_empty_unfollowed_ones_are_swept() {
        let (mut mirror, now) = (Mirror::default(), Instant::now());
        let (quiet, followed, lively) =
            (ExecutionId::new(), ExecutionId::new(), ExecutionId::new());
        mirror.apply(batch(quiet, 1..=1, false), now);
        let _reader = mirror.subscribe(followed, now);
        drop(mirror.subscribe(ExecutionId::new(), now));
        let later = now + STALE_AFTER;
        mirror.apply(batch(lively, 1..=1, false), later);
        mirror.sweep(later - Duration::from_secs(1));
        assert_eq!(
            mirror.kept().0,
            3,
            "only the unfollowed empty buffer goes at once"
        );
        mirror.sweep(later);
        assert_eq!(mirror.kept().0, 1);
        assert_eq!(mirror.lines_after(lively, 0).len(), 1);
    }
}
