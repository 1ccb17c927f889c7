//! Wall-clock times to instants across daylight-saving changes: a skipped local time (a
//! spring-forward gap) becomes the first valid instant after the gap, a repeated one (a
//! fall-back overlap) its first occurrence.

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// One fire time of a schedule, as an editor shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FireTime {
    /// The instant the schedule fires.
    pub at: DateTime<Utc>,
    /// The wall-clock time of `at` in the schedule's zone (after any shift).
    pub local: NaiveDateTime,
    /// The zone's offset from UTC at `at`.
    pub offset: FixedOffset,
    /// The nominal wall time did not exist (a spring-forward gap), so the schedule fires at
    /// the first valid instant after the gap instead; it may coincide with a nominal time.
    pub shifted: bool,
    /// The offset differs from the previous fire time's (for the first one: from the
    /// offset at the time asked about): a daylight-saving change lies between them.
    pub offset_changed: bool,
}

impl FireTime {
    /// Describes `at` in `tz`; `previous_offset` is the offset it is compared with.
    pub(super) fn new(tz: Tz, resolved: Resolved, previous_offset: FixedOffset) -> Self {
        let offset = offset_at(tz, resolved.at);
        Self {
            at: resolved.at,
            local: resolved.at.with_timezone(&tz).naive_local(),
            offset,
            shifted: resolved.shifted,
            offset_changed: offset != previous_offset,
        }
    }
}

/// A wall-clock time resolved to an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Resolved {
    pub at: DateTime<Utc>,
    /// The wall time fell in a gap and was moved to the gap's end.
    pub shifted: bool,
}

/// The zone's offset from UTC at an instant.
pub(super) fn offset_at(tz: Tz, at: DateTime<Utc>) -> FixedOffset {
    tz.offset_from_utc_datetime(&at.naive_utc()).fix()
}

/// The wall-clock time of an instant in a zone.
pub(super) fn wall_time(tz: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&tz).naive_local()
}

/// The longest gap searched for its end: no zone has skipped more than a day (Samoa, 2011).
const MAX_GAP_MINUTES: i64 = 48 * 60;

/// The instant a wall-clock time stands for: itself when it exists once, its first
/// occurrence when a fall-back repeats it, the first valid instant after the gap when a
/// spring-forward skips it. `None` only past the calendar's end.
///
/// Monotonic: a later wall time never resolves to an earlier instant, which is what lets
/// `CronSchedule::next_after` stop at the first candidate that lands after its instant.
pub(super) fn resolve(tz: Tz, wall: NaiveDateTime) -> Option<Resolved> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(Resolved {
            at: at.with_timezone(&Utc),
            shifted: false,
        }),
        LocalResult::None => gap_end(tz, wall).map(|at| Resolved { at, shifted: true }),
    }
}

/// The first valid instant after the gap holding `wall`: found a minute at a time (every
/// transition of our era falls on a whole minute), then refined to the second for the
/// historic ones that do not.
fn gap_end(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut probe = wall;
    for _ in 0..MAX_GAP_MINUTES {
        probe = probe.checked_add_signed(Duration::minutes(1))?;
        let first_valid = match tz.from_local_datetime(&probe) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
            LocalResult::None => continue,
        };
        let mut end = first_valid;
        while let Some(earlier) = end.checked_sub_signed(Duration::seconds(1)) {
            if wall_time(tz, earlier) <= wall {
                break;
            }
            end = earlier;
        }
        return Some(end);
    }
    None
}
