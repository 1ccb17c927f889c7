//! Cron ticks: one firing of one scheduled script at one instant, claimed by exactly one node
//! (the pair of script and instant is unique in storage), and what became of it. The
//! scheduler decides; this module holds the rules that do not need I/O.

use crate::ids::{ExecutionId, ScriptId, TenantId};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Where a tick is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickStatus {
    /// A node took it and is about to start its run (a crash here leaves it to be taken over).
    Claimed,
    /// Its execution was started.
    Started,
    /// Not run: the previous run of the script was still going.
    SkippedOverlap,
    /// Not run: it fell due while every node was down and the script's policy is `skip`.
    SkippedMissed,
}

impl TickStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TickStatus::Claimed => "claimed",
            TickStatus::Started => "started",
            TickStatus::SkippedOverlap => "overlap",
            TickStatus::SkippedMissed => "missed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            TickStatus::Claimed,
            TickStatus::Started,
            TickStatus::SkippedOverlap,
            TickStatus::SkippedMissed,
        ]
        .into_iter()
        .find(|status| status.as_str() == raw)
    }
}

/// What to do with ticks that fell due while no node was running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedRuns {
    /// Run once for all of them, as soon as a node is back.
    #[default]
    RunOnce,
    /// Drop them and wait for the next tick.
    Skip,
}

impl MissedRuns {
    pub fn as_str(self) -> &'static str {
        match self {
            MissedRuns::RunOnce => "runOnce",
            MissedRuns::Skip => "skip",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [MissedRuns::RunOnce, MissedRuns::Skip]
            .into_iter()
            .find(|policy| policy.as_str() == raw)
    }
}

/// One tick as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tick {
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
    pub scheduled_for: DateTime<Utc>,
    pub status: TickStatus,
    pub node: String,
    pub claimed_at: DateTime<Utc>,
    pub execution_id: Option<ExecutionId>,
}

/// A node's claim of the tick `scheduled_for` of a script whose `next_run_at` is that instant:
/// it moves `next_run_at` on to `next_run_at` and records the tick, or fails if another node
/// (or an edit of the script) moved it first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TickClaim {
    pub tenant_id: TenantId,
    pub script_id: ScriptId,
    pub scheduled_for: DateTime<Utc>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub node: String,
    pub claimed_at: DateTime<Utc>,
    pub status: TickStatus,
}

/// Whether a tick that fell due at `due` is a missed one at `now`: later than `tolerance`,
/// which only happens when no node was running to fire it.
pub fn is_missed(due: DateTime<Utc>, now: DateTime<Utc>, tolerance: Duration) -> bool {
    let tolerance = chrono::Duration::from_std(tolerance).unwrap_or(chrono::Duration::MAX);
    now.signed_duration_since(due) > tolerance
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn statuses_round_trip_and_lateness_decides_a_miss() {
        for status in [
            TickStatus::Claimed,
            TickStatus::Started,
            TickStatus::SkippedOverlap,
            TickStatus::SkippedMissed,
        ] {
            assert_eq!(TickStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TickStatus::parse("done"), None);
        let due = Utc
            .with_ymd_and_hms(2026, 3, 29, 1, 0, 0)
            .single()
            .expect("time");
        let minute = Duration::from_secs(60);
        assert!(!is_missed(due, due, minute));
        assert!(!is_missed(due, due + chrono::Duration::seconds(60), minute));
        assert!(is_missed(due, due + chrono::Duration::seconds(61), minute));
    }
}
