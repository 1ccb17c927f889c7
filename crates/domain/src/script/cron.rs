//! `CronSchedule`: a standard 5-field cron expression bound to an IANA timezone.
//!
//! Standard cron numbers weekdays 0–7 (0 and 7 are Sunday) and, when both day-of-month and
//! day-of-week are restricted, fires when *either* matches. The `cron` crate numbers weekdays
//! 1–7 from Sunday and requires both, so the expression is translated: weekdays are expanded
//! to names, and a doubly restricted expression becomes two schedules whose times are merged.

use chrono::{DateTime, Utc};
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

const FIELD_NAMES: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];
const FIELD_RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
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

    pub fn parse(expression: &str, timezone: Tz) -> Result<Self, CronError> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if fields.is_empty() {
            return Err(CronError::Missing);
        }
        if fields.len() != 5 {
            return Err(CronError::FieldCount {
                found: fields.len(),
            });
        }
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
            let text = format!("0 {minute} {hour} {dom} {month} {dow}");
            let schedule = cron::Schedule::from_str(&text).map_err(|e| CronError::Field {
                field: "expression",
                value: expression.to_owned(),
                reason: e.to_string(),
            })?;
            schedules.push(schedule);
        }
        let parsed = Self {
            expression: fields.join(" "),
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
        let local = after.with_timezone(&self.timezone);
        self.schedules
            .iter()
            .filter_map(|s| s.after(&local).next())
            .map(|t| t.with_timezone(&Utc))
            .min()
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
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn valid_expressions_fire_at_the_right_time() {
        // 2026-11-22 is a Sunday.
        let from = utc(2026, 11, 22, 10, 7);
        let cases = [
            ("* * * * *", "UTC", utc(2026, 11, 22, 10, 8)),
            ("*/15 * * * *", "UTC", utc(2026, 11, 22, 10, 15)),
            ("0 9 * * 1-5", "UTC", utc(2026, 11, 23, 9, 0)),
            ("0 9 * * MON-FRI", "UTC", utc(2026, 11, 23, 9, 0)),
            ("0 12 * * 0", "UTC", utc(2026, 11, 22, 12, 0)),
            ("0 12 * * 7", "UTC", utc(2026, 11, 22, 12, 0)),
            ("0 12 * * sun", "UTC", utc(2026, 11, 22, 12, 0)),
            ("30 2 1 JAN *", "UTC", utc(2027, 1, 1, 2, 30)),
            ("5,10 10 * * *", "UTC", utc(2026, 11, 22, 10, 10)),
            ("0 9 * * *", "Europe/Berlin", utc(2026, 11, 23, 8, 0)),
            ("0 9 * * *", "Asia/Tashkent", utc(2026, 11, 23, 4, 0)),
            // Day-of-month OR day-of-week when both are restricted (the 1st, or any Monday).
            ("0 0 1 * 1", "UTC", utc(2026, 11, 23, 0, 0)),
            ("0 0 1 * 5", "UTC", utc(2026, 11, 27, 0, 0)),
            ("0 0 1,2 * 3", "UTC", utc(2026, 11, 25, 0, 0)),
            ("0 0 29 2 *", "UTC", utc(2028, 2, 29, 0, 0)),
        ];
        for (expression, zone, expected) in cases {
            let tz = CronSchedule::parse_timezone(zone).expect("zone");
            let schedule = CronSchedule::parse(expression, tz).expect(expression);
            assert_eq!(
                schedule.next_after(from),
                Some(expected),
                "{expression} {zone}"
            );
        }
    }

    #[test]
    fn invalid_expressions_are_refused_precisely() {
        let cases: &[(&str, &str)] = &[
            ("", "required"),
            ("* * * *", "5 fields"),
            ("0 * * * * *", "5 fields"),
            ("60 * * * *", "minute field"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day-of-month field"),
            ("* * 32 * *", "day-of-month field"),
            ("* * * 13 *", "month field"),
            ("* * * * 8", "day-of-week field"),
            ("* * * FOO *", "not a number"),
            ("*/0 * * * *", "bad step"),
            ("5-1 * * * *", "backwards"),
            ("1,,2 * * * *", "empty list item"),
            ("0 0 30 2 *", "never fires"),
            ("@daily", "5 fields"),
        ];
        for (expression, expected) in cases {
            let error = CronSchedule::parse(expression, Tz::UTC).expect_err(expression);
            assert!(
                error.to_string().contains(expected),
                "{expression}: {error}"
            );
        }
    }

    #[test]
    fn timezones() {
        assert_eq!(CronSchedule::parse_timezone(""), Ok(Tz::UTC));
        assert_eq!(
            CronSchedule::parse_timezone("Europe/Moscow"),
            Ok(Tz::Europe__Moscow)
        );
        assert_eq!(
            CronSchedule::parse_timezone("Mars/Olympus"),
            Err(CronError::UnknownTimezone("Mars/Olympus".into()))
        );
    }
}
