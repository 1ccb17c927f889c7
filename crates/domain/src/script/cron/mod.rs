//! `CronSchedule`: a standard 5-field cron expression bound to an IANA timezone (and, where
//! the operator allows it — test set-ups — a sixth, leading seconds field).
//!
//! Standard cron numbers weekdays 0–7 (0 and 7 are Sunday) and, when both day-of-month and
//! day-of-week are restricted, fires when *either* matches. The `cron` crate numbers weekdays
//! 1–7 from Sunday and requires both, so the expression is translated: weekdays are expanded
//! to names, and a doubly restricted expression becomes two schedules whose times are merged.
//!
//! The schedules run on wall-clock time: they enumerate naive local times as if the zone
//! were UTC, and `dst.rs` turns each into an instant, so daylight-saving changes follow the
//! product's rule (SPEC §6) rather than the `cron` crate's.

mod dst;

pub use dst::FireTime;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub struct CronSchedule {
    expression: String,
    timezone: Tz,
    schedules: Vec<cron::Schedule>,
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.timezone == other.timezone
    }
}

impl Eq for CronSchedule {}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("is required for scheduled scripts")]
    Missing,
    #[error("must have 5 fields (minute hour day-of-month month day-of-week), found {found}")]
    FieldCount { found: usize },
    #[error(
        "must have 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds \
         first, found {found}"
    )]
    FieldCountWithSeconds { found: usize },
    #[error("invalid {field} field \"{value}\": {reason}")]
    Field {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("never fires")]
    NeverFires,
    #[error("\"{0}\" is not an IANA timezone (for example Europe/Berlin or UTC)")]
    UnknownTimezone(String),
}

/// The five standard fields, then the optional seconds field (written first when present).
const FIELD_NAMES: [&str; 6] = [
    "minute",
    "hour",
    "day-of-month",
    "month",
    "day-of-week",
    "second",
];
const FIELD_RANGES: [(u32, u32); 6] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7), (0, 59)];
const SECOND: usize = 5;

/// Which expressions are accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CronSyntax {
    /// Five fields, as standard cron.
    #[default]
    Standard,
    /// Five fields, or six with a leading seconds field (`*/1 * * * * *` fires every second).
    WithSeconds,
}
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

impl CronSchedule {
    /// Parses a timezone name; an empty name means UTC.
    pub fn parse_timezone(raw: &str) -> Result<Tz, CronError> {
        let name = raw.trim();
        if name.is_empty() {
            return Ok(Tz::UTC);
        }
        Tz::from_str(name).map_err(|_| CronError::UnknownTimezone(name.to_owned()))
    }

    /// Parses a standard 5-field expression.
    pub fn parse(expression: &str, timezone: Tz) -> Result<Self, CronError> {
        Self::parse_with(expression, timezone, CronSyntax::Standard)
    }

    /// Parses an expression of `syntax`.
    pub fn parse_with(
        expression: &str,
        timezone: Tz,
        syntax: CronSyntax,
    ) -> Result<Self, CronError> {
        let all: Vec<&str> = expression.split_whitespace().collect();
        let (seconds, fields) = match (syntax, all.len()) {
            (_, 0) => return Err(CronError::Missing),
            (_, 5) => ("0".to_owned(), &all[..]),
            (CronSyntax::WithSeconds, 6) => {
                let values = expand_field(SECOND, all[0])?;
                let list = values.iter().map(u32::to_string).collect::<Vec<_>>();
                (list.join(","), &all[1..])
            }
            (CronSyntax::Standard, found) => return Err(CronError::FieldCount { found }),
            (CronSyntax::WithSeconds, found) => {
                return Err(CronError::FieldCountWithSeconds { found });
            }
        };
        let mut sets = Vec::with_capacity(5);
        for (index, field) in fields.iter().enumerate() {
            sets.push(expand_field(index, field)?);
        }
        let weekdays: Vec<u32> = {
            let mut days: Vec<u32> = sets[4].iter().map(|d| d % 7).collect();
            days.sort_unstable();
            days.dedup();
            days
        };
        let list = |values: &[u32]| {
            values
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let minute = list(&sets[0]);
        let hour = list(&sets[1]);
        let month = list(&sets[3]);
        let day_of_month = list(&sets[2]);
        let weekday_names = weekdays
            .iter()
            .map(|d| WEEKDAYS[*d as usize])
            .collect::<Vec<_>>();
        let day_of_week = weekday_names.join(",");
        let dom_any = fields[2] == "*" || fields[2] == "?";
        let dow_any = fields[4] == "*" || fields[4] == "?";
        let variants: Vec<(String, String)> = match (dom_any, dow_any) {
            (false, false) => vec![(day_of_month, "*".into()), ("*".into(), day_of_week)],
            (true, false) => vec![("*".into(), day_of_week)],
            (false, true) => vec![(day_of_month, "*".into())],
            (true, true) => vec![("*".into(), "*".into())],
        };
        let mut schedules = Vec::new();
        for (dom, dow) in variants {
            let text = format!("{seconds} {minute} {hour} {dom} {month} {dow}");
            let schedule = cron::Schedule::from_str(&text).map_err(|e| CronError::Field {
                field: "expression",
                value: expression.to_owned(),
                reason: e.to_string(),
            })?;
            schedules.push(schedule);
        }
        let parsed = Self {
            expression: all.join(" "),
            timezone,
            schedules,
        };
        // Whether an expression ever fires does not depend on when it is asked: five fields
        // repeat within the Gregorian calendar's 400-year cycle, so a fixed origin will do.
        if parsed.next_after(DateTime::<Utc>::UNIX_EPOCH).is_none() {
            return Err(CronError::NeverFires);
        }
        Ok(parsed)
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first time strictly after `after` at which the schedule fires.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_resolved(after).map(|resolved| resolved.at)
    }

    /// The next `count` fire times strictly after `after`, each with its wall time, offset,
    /// and whether a daylight-saving change moved it or lies before it.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<FireTime> {
        let mut times: Vec<FireTime> = Vec::with_capacity(count);
        let mut from = after;
        let mut previous_offset = dst::offset_at(self.timezone, after);
        while times.len() < count {
            let Some(resolved) = self.next_resolved(from) else {
                break;
            };
            let time = FireTime::new(self.timezone, resolved, previous_offset);
            from = time.at;
            previous_offset = time.offset;
            times.push(time);
        }
        times
    }

    /// The earliest resolved candidate of any of the schedules that lands after `after`.
    ///
    /// Candidates start at the wall time of `after`: an earlier wall time resolves no later
    /// than `after` itself (resolution is monotonic), so none of them could qualify. Several
    /// skipped wall times of one gap resolve to the same instant; asking strictly after the
    /// previous fire time runs it once.
    fn next_resolved(&self, after: DateTime<Utc>) -> Option<dst::Resolved> {
        let start = Utc.from_utc_datetime(&dst::wall_time(self.timezone, after));
        self.schedules
            .iter()
            .filter_map(|schedule| {
                schedule
                    .after(&start)
                    .map_while(|wall| dst::resolve(self.timezone, wall.naive_utc()))
                    .find(|resolved| resolved.at > after)
            })
            .min_by_key(|resolved| resolved.at)
    }
}

fn field_error(index: usize, value: &str, reason: impl Into<String>) -> CronError {
    CronError::Field {
        field: FIELD_NAMES[index],
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn parse_value(index: usize, field: &str, raw: &str) -> Result<u32, CronError> {
    let upper = raw.to_ascii_uppercase();
    let named = match index {
        3 => MONTHS
            .iter()
            .position(|m| *m == upper)
            .map(|p| p as u32 + 1),
        4 => WEEKDAYS.iter().position(|d| *d == upper).map(|p| p as u32),
        _ => None,
    };
    let value = match named {
        Some(v) => v,
        None => raw
            .parse::<u32>()
            .map_err(|_| field_error(index, field, format!("\"{raw}\" is not a number")))?,
    };
    let (min, max) = FIELD_RANGES[index];
    if value < min || value > max {
        return Err(field_error(
            index,
            field,
            format!("{value} is outside {min}–{max}"),
        ));
    }
    Ok(value)
}

/// Expands one field (lists, ranges, steps, names, `*`) into its sorted values.
fn expand_field(index: usize, field: &str) -> Result<Vec<u32>, CronError> {
    let (min, max) = FIELD_RANGES[index];
    let mut values = Vec::new();
    for item in field.split(',') {
        if item.is_empty() {
            return Err(field_error(index, field, "empty list item"));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| field_error(index, field, format!("bad step \"{step}\"")))?;
                (range, step)
            }
            None => (item, 1),
        };
        let (start, end) = if range == "*" || range == "?" {
            (min, if index == 4 { 6 } else { max })
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (parse_value(index, field, a)?, parse_value(index, field, b)?);
            if a > b {
                return Err(field_error(
                    index,
                    field,
                    format!("range {a}-{b} is backwards"),
                ));
            }
            (a, b)
        } else {
            let a = parse_value(index, field, range)?;
            (a, if item.contains('/') { max } else { a })
        };
        values.extend((start..=end).step_by(step as usize));
    }
    values.sort_unstable();
    values.dedup();
    Ok(values)
}

#[cfg(test)]
mod tests;
