//! Pages of results, the filters of the script list, and the filters and keyset cursor of a
//! tenant's execution history.

use crate::execution::{Execution, ExecutionStatus, TriggerKind};
use crate::ids::{ExecutionId, ScriptId};
use crate::script::{ScriptStatus, ScriptType};
use crate::validation::ValidationErrors;
use chrono::{DateTime, SecondsFormat, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub limit: u64,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u64 = 20;
    pub const MAX_LIMIT: u64 = 100;

    /// Page numbers start at 1; a limit is 1–100 (20 when absent).
    pub fn parse(page: Option<i64>, limit: Option<i64>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let page = match page {
            None => 1,
            Some(p) if p >= 1 => p as u64,
            Some(_) => {
                errors.add("page", "must be 1 or more");
                1
            }
        };
        let limit = match limit {
            None => Self::DEFAULT_LIMIT,
            Some(l) if (1..=Self::MAX_LIMIT as i64).contains(&l) => l as u64,
            Some(_) => {
                errors.add(
                    "limit",
                    format!("must be between 1 and {}", Self::MAX_LIMIT),
                );
                Self::DEFAULT_LIMIT
            }
        };
        errors.into_result().map(|()| Self { page, limit })
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.limit)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

/// One page of a list, with the number of items the whole list holds: counted exactly up to
/// `Page::COUNTED_AT_MOST`; past it, `total` is that figure and `total_exact` is false (a
/// count never reads more than that many rows, however large the tenant).
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub total_exact: bool,
    pub page: u64,
    pub limit: u64,
}

impl<T> Page<T> {
    /// The most items a list's count reads.
    pub const COUNTED_AT_MOST: u64 = 10_000;

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            total_exact: self.total_exact,
            page: self.page,
            limit: self.limit,
        }
    }

    /// Pages the count covers (at least one).
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.limit.max(1)).max(1)
    }

    /// Whether a page follows this one: within the count, or past a capped count while
    /// this page is full.
    pub fn has_next(&self) -> bool {
        self.page < self.pages() || (!self.total_exact && self.items.len() as u64 == self.limit)
    }
}

/// Filters of the script list; `search` matches words of the name and description.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptFilter {
    pub script_type: Option<ScriptType>,
    pub status: Option<ScriptStatus>,
    pub search: Option<String>,
}

impl ScriptFilter {
    pub const MAX_SEARCH_CHARS: usize = 200;

    /// The search split into words of letters and digits (at most 8): what both databases
    /// match, every word as a prefix.
    pub fn search_words(&self) -> Vec<String> {
        let Some(search) = &self.search else {
            return Vec::new();
        };
        search
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(8)
            .map(str::to_lowercase)
            .collect()
    }
}

/// Filters of a tenant's execution history; `search` is matched, case-insensitively, inside
/// the log lines' messages and the error's code and message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionFilter {
    pub script_id: Option<ScriptId>,
    pub status: Option<ExecutionStatus>,
    pub trigger: Option<TriggerKind>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    pub search: Option<String>,
}

impl ExecutionFilter {
    pub const MAX_SEARCH_CHARS: usize = 200;
}

/// Where the next page of a history starts: right after the execution created at
/// `created_at` with `id` (newest first, ties broken by id), never an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryCursor {
    pub created_at: DateTime<Utc>,
    pub id: ExecutionId,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("is not a cursor given by a previous page")]
pub struct BadCursor;

impl HistoryCursor {
    pub fn after(execution: &Execution) -> Self {
        Self {
            created_at: execution.created_at,
            id: execution.id,
        }
    }

    /// The cursor as the API hands it out: `<RFC 3339 time>_<execution id>`.
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.created_at.to_rfc3339_opts(SecondsFormat::Nanos, true),
            self.id
        )
    }

    pub fn parse(raw: &str) -> Result<Self, BadCursor> {
        let (time, id) = raw.trim().split_once('_').ok_or(BadCursor)?;
        let created_at = DateTime::parse_from_rfc3339(time)
            .map_err(|_| BadCursor)?
            .with_timezone(&Utc);
        let id = id.parse().map_err(|_| BadCursor)?;
        Ok(Self { created_at, id })
    }
}

/// A page of a history read by keyset: its items and where the next one starts, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice<T> {
    pub items: Vec<T>,
    pub next: Option<HistoryCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_requests() {
        assert_eq!(
            PageRequest::parse(None, None),
            Ok(PageRequest { page: 1, limit: 20 })
        );
        assert_eq!(
            PageRequest::parse(Some(3), Some(10)).map(|p| p.offset()),
            Ok(20)
        );
        for (page, limit, field) in [
            (Some(0), None, "page"),
            (None, Some(0), "limit"),
            (None, Some(101), "limit"),
        ] {
            let errors = PageRequest::parse(page, limit).expect_err(field);
            assert!(errors.get(field).is_some());
        }
    }

    #[test]
    fn search_words() {
        let filter = ScriptFilter {
            search: Some("  Export, CLIENTS--now!  ".into()),
            ..Default::default()
        };
        assert_eq!(filter.search_words(), vec!["export", "clients", "now"]);
        let injection = ScriptFilter {
            search: Some("'; DROP TABLE scripts; --".into()),
            ..Default::default()
        };
        assert_eq!(injection.search_words(), vec!["drop", "table", "scripts"]);
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = HistoryCursor {
            created_at: DateTime::parse_from_rfc3339("2026-11-30T17:00:00.123456789Z")
                .unwrap()
                .with_timezone(&Utc),
            id: ExecutionId(uuid::Uuid::nil()),
        };
        assert_eq!(HistoryCursor::parse(&cursor.encode()), Ok(cursor));
        for bad in [
            "",
            "x",
            "2026-11-30_nope",
            "yesterday_00000000-0000-0000-0000-000000000000",
        ] {
            assert_eq!(HistoryCursor::parse(bad), Err(BadCursor), "{bad}");
        }
    }
}
