//! Query-string parameters shared by endpoints: whole numbers, times, and lists' `page` and
//! `limit`, each bad value reported under its own name.

use actix_web::web;
use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::ValidationErrors;
use domain::paging::PageRequest;
use std::collections::HashMap;

pub type Query = web::Query<HashMap<String, String>>;

/// A whole-number parameter, if present; a bad one is added to `errors`.
pub fn integer(query: &Query, key: &str, errors: &mut ValidationErrors) -> Option<i64> {
    let raw = query.get(key)?;
    match raw.trim().parse::<i64>() {
        Ok(value) => Some(value),
        Err(_) => {
            errors.add(key, "must be a whole number");
            None
        }
    }
}

/// `page` and `limit` from the query string; problems are added to `errors`.
pub fn page_request(query: &Query, errors: &mut ValidationErrors) -> PageRequest {
    let page = integer(query, "page", errors);
    let limit = integer(query, "limit", errors);
    PageRequest::parse(page, limit).unwrap_or_else(|page_errors| {
        for (field, message) in page_errors.fields() {
            errors.add(field.clone(), message);
        }
        PageRequest::default()
    })
}

/// Which end of a range a time parameter is: a bare date starts its day at `From`, and at
/// `To` includes that day whole (the range ends at the next midnight, UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeEnd {
    From,
    To,
}

fn parse_time(raw: &str, end: RangeEnd) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(raw) {
        return Some(time.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    let day = match end {
        RangeEnd::From => date,
        RangeEnd::To => date.checked_add_days(Days::new(1))?,
    };
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

/// A time parameter (RFC 3339, or a date), if present; a bad one is added to `errors`.
pub fn time(
    query: &Query,
    key: &str,
    end: RangeEnd,
    errors: &mut ValidationErrors,
) -> Option<DateTime<Utc>> {
    let raw = query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())?;
    errors.check(
        key,
        parse_time(raw, end).ok_or(
            "must be an RFC 3339 time such as 2026-01-31T09:00:00Z, or a date such as 2026-01-31",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::{RangeEnd, parse_time};

    #[test]
    fn times_and_dates() {
        let at = |raw, end| parse_time(raw, end).map(|t| t.to_rfc3339());
        let cases = [
            (
                "2026-01-31T09:00:00Z",
                RangeEnd::To,
                Some("2026-01-31T09:00:00+00:00"),
            ),
            (
                "2026-01-31T09:00:00+05:00",
                RangeEnd::From,
                Some("2026-01-31T04:00:00+00:00"),
            ),
            (
                "2026-01-31",
                RangeEnd::From,
                Some("2026-01-31T00:00:00+00:00"),
            ),
            (
                "2026-01-31",
                RangeEnd::To,
                Some("2026-02-01T00:00:00+00:00"),
            ),
            ("2026-02-30", RangeEnd::From, None),
            ("yesterday", RangeEnd::From, None),
        ];
        for (raw, end, expected) in cases {
            assert_eq!(at(raw, end).as_deref(), expected, "{raw}");
        }
    }
}
