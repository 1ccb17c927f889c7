//! What the health probes read: each component of a node (the database probe, the scheduler,
//! the executor, the job queue) keeps its own state as it works, so `/health/*` answers in
//! microseconds from memory and never waits on the thing it reports on.

use crate::clock::{Clock, SystemClock};
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One component's state as a probe reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentState {
    pub healthy: bool,
    /// Why it is unhealthy (or a note while healthy), for the operator.
    pub reason: Option<String>,
    /// Figures the operator may want beside the verdict (ages in ms, capacity…).
    pub detail: Map<String, Value>,
}

impl ComponentState {
    pub fn ok(detail: Map<String, Value>) -> Self {
        Self {
            healthy: true,
            reason: None,
            detail,
        }
    }

    pub fn failing(reason: impl Into<String>, detail: Map<String, Value>) -> Self {
        Self {
            healthy: false,
            reason: Some(reason.into()),
            detail,
        }
    }
}

/// A component the probes ask about; `state` must answer from memory, at once.
pub trait HealthComponent: Send + Sync {
    fn name(&self) -> &'static str;
    fn state(&self) -> ComponentState;
}

/// The beat of a component's loop: when it last tried, when it last succeeded, its last error,
/// and whether it stopped. Cheap to record (atomics, a short lock on failure only).
#[derive(Clone)]
pub struct Heartbeat(Arc<Beats>);

struct Beats {
    clock: Arc<dyn Clock>,
    born: Instant,
    /// Milliseconds after `born`, plus one; zero means never.
    attempt: AtomicU64,
    success: AtomicU64,
    error: Mutex<Option<String>>,
    stopped: Mutex<Option<String>>,
}

/// What a heartbeat says when read.
#[derive(Clone, Debug, PartialEq)]
pub struct BeatReading {
    /// Since the last attempt (or since the beat was made, if none yet).
    pub since_attempt: Duration,
    /// Since the last success; `None` if it never succeeded.
    pub since_success: Option<Duration>,
    /// How long the beat has existed.
    pub age: Duration,
    /// The error of the last attempt, if it failed.
    pub error: Option<String>,
    /// Why the loop ended, if it did.
    pub stopped: Option<String>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl Heartbeat {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let born = clock.instant();
        Self(Arc::new(Beats {
            clock,
            born,
            attempt: AtomicU64::new(0),
            success: AtomicU64::new(0),
            error: Mutex::new(None),
            stopped: Mutex::new(None),
        }))
    }

    fn stamp(&self) -> u64 {
        let elapsed = self
            .0
            .clock
            .instant()
            .saturating_duration_since(self.0.born);
        u64::try_from(elapsed.as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    /// The loop went round and did its work.
    pub fn succeeded(&self) {
        let now = self.stamp();
        self.0.attempt.store(now, Ordering::Release);
        self.0.success.store(now, Ordering::Release);
        *self.0.error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The loop went round, and its work failed with `error`.
    pub fn failed(&self, error: impl Into<String>) {
        self.0.attempt.store(self.stamp(), Ordering::Release);
        *self.0.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.into());
    }

    /// The loop ended (and will not beat again) for `reason`.
    pub fn stopped(&self, reason: impl Into<String>) {
        *self.0.stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.into());
    }

    pub fn read(&self) -> BeatReading {
        let now = self.stamp();
        let since = |stamp: u64| Duration::from_millis(now.saturating_sub(stamp));
        let attempt = self.0.attempt.load(Ordering::Acquire);
        let success = self.0.success.load(Ordering::Acquire);
        BeatReading {
            since_attempt: since(attempt.max(1)),
            since_success: (success > 0).then(|| since(success)),
            age: since(1),
            error: self
                .0
                .error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            stopped: self
                .0
                .stopped
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// Milliseconds as a JSON number, for the probes' details.
pub fn millis(duration: Duration) -> Value {
    json!(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// The state of a loop that must succeed at least every `within`: healthy while its last
/// success (or, before the first, its start) is more recent than that.
pub fn loop_state(beat: &BeatReading, within: Duration, what: &str) -> ComponentState {
    let mut detail = Map::new();
    if let Some(since) = beat.since_success {
        detail.insert("lastSuccessMsAgo".into(), millis(since));
    }
    detail.insert("lastAttemptMsAgo".into(), millis(beat.since_attempt));
    if let Some(error) = &beat.error {
        detail.insert("lastError".into(), json!(error));
    }
    if let Some(reason) = &beat.stopped {
        return ComponentState::failing(format!("{what} stopped: {reason}"), detail);
    }
    let quiet_for = beat.since_success.unwrap_or(beat.age);
    if quiet_for <= within {
        return ComponentState::ok(detail);
    }
    let secs = quiet_for.as_secs();
    let reason = match (&beat.error, beat.since_success) {
        (Some(error), _) => format!("{what} failing for {secs} s: {error}"),
        (None, Some(_)) => format!("{what} stalled: no success for {secs} s"),
        (None, None) => format!("{what} has not succeeded once in {secs} s"),
    };
    ComponentState::failing(reason, detail)
}

/// A component that is a loop with a heartbeat (the scheduler, the job queue's workers…).
pub struct LoopComponent {
    pub name: &'static str,
    pub what: &'static str,
    pub beat: Heartbeat,
    /// How long the loop may go without a success before the node is unready.
    pub within: Duration,
}

impl HealthComponent for LoopComponent {
    fn name(&self) -> &'static str {
        self.name
    }

    fn state(&self) -> ComponentState {
        loop_state(&self.beat.read(), self.within, self.what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    /// A clock moved by hand.
    struct HandClock {
        base: Instant,
        offset: Mutex<Duration>,
    }

    impl HandClock {
        fn advance(&self, by: Duration) {
            *self.offset.lock().unwrap() += by;
        }
    }

    impl Clock for HandClock {
        fn now(&self) -> DateTime<Utc> {
            DateTime::UNIX_EPOCH
        }
        fn instant(&self) -> Instant {
            self.base + *self.offset.lock().unwrap()
        }
    }

    fn setup() -> (Arc<HandClock>, LoopComponent) {
        let clock = Arc::new(HandClock {
            base: SystemClock.instant(),
            offset: Mutex::new(Duration::ZERO),
        });
        let component = LoopComponent {
            name: "scheduler",
            what: "the cron scheduler",
            beat: Heartbeat::new(clock.clone()),
            within: Duration::from_secs(60),
        };
        (clock, component)
    }

    #[test]
    fn a_new_loop_has_its_grace_then_fails_without_a_success() {
        let (clock, component) = setup();
        assert!(component.state().healthy);
        clock.advance(Duration::from_secs(61));
        let state = component.state();
        assert!(!state.healthy);
        assert!(state.reason.unwrap().contains("has not succeeded once"));
    }

    #[test]
    fn a_stalled_loop_fails_and_recovers_on_its_next_success() {
        let (clock, component) = setup();
        component.beat.succeeded();
        clock.advance(Duration::from_secs(30));
        assert!(component.state().healthy);
        clock.advance(Duration::from_secs(31));
        let state = component.state();
        assert!(!state.healthy);
        assert!(
            state.reason.as_deref().unwrap().contains("stalled"),
            "{state:?}"
        );
        component.beat.succeeded();
        assert!(component.state().healthy);
    }

    #[test]
    fn errors_are_reported_and_fail_the_component_once_they_last() {
        let (clock, component) = setup();
        component.beat.succeeded();
        component.beat.failed("connection refused");
        let state = component.state();
        assert!(state.healthy, "one failed pass is not an outage");
        assert_eq!(state.detail["lastError"], json!("connection refused"));
        clock.advance(Duration::from_secs(90));
        component.beat.failed("connection refused");
        let state = component.state();
        assert!(!state.healthy);
        assert!(state.reason.unwrap().contains("connection refused"));
    }

    #[test]
    fn a_stopped_loop_fails_at_once() {
        let (_clock, component) = setup();
        component.beat.succeeded();
        component.beat.stopped("the task panicked");
        let state = component.state();
        assert!(!state.healthy);
        assert!(state.reason.unwrap().contains("panicked"));
    }
}
