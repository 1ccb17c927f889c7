//! The query of a tenant's execution history, shared by `GET /api/v1/executions` and the
//! executions page: `scriptId`, `status`, `trigger`, `from`, `to`, `search`, `cursor` and
//! `limit`, each bad value reported under its own name.

use super::query::{Query, RangeEnd, integer, time};
use domain::ValidationErrors;
use domain::execution::{ExecutionStatus, TriggerKind};
use domain::paging::{ExecutionFilter, HistoryCursor, PageRequest};

/// What to read of the history: which executions, from where, how many.
pub struct HistoryQuery {
    pub filter: ExecutionFilter,
    pub after: Option<HistoryCursor>,
    pub limit: u64,
}

fn present<'a>(query: &'a Query, key: &str) -> Option<&'a str> {
    query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

pub fn history_query(query: &Query, errors: &mut ValidationErrors) -> HistoryQuery {
    let script_id = present(query, "scriptId").and_then(|raw| {
        errors.check(
            "scriptId",
            raw.parse::<domain::ScriptId>()
                .map_err(|_| "is not a script id"),
        )
    });
    let status = present(query, "status").and_then(|raw| {
        errors.check(
            "status",
            raw.parse::<ExecutionStatus>().map_err(
                |_| "is not one of pending, running, completed, failed, timeout, cancelled",
            ),
        )
    });
    let trigger = present(query, "trigger").and_then(|raw| {
        errors.check(
            "trigger",
            TriggerKind::parse(raw)
                .ok_or("is not one of manual, api, cron, http, event, embedded, retry"),
        )
    });
    let from = time(query, "from", RangeEnd::From, errors);
    let to = time(query, "to", RangeEnd::To, errors);
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        errors.add("to", "must be later than from");
    }
    let search = present(query, "search").map(str::to_owned);
    if search
        .as_ref()
        .is_some_and(|s| s.chars().count() > ExecutionFilter::MAX_SEARCH_CHARS)
    {
        errors.add(
            "search",
            format!(
                "must be at most {} characters",
                ExecutionFilter::MAX_SEARCH_CHARS
            ),
        );
    }
    let after =
        present(query, "cursor").and_then(|raw| errors.check("cursor", HistoryCursor::parse(raw)));
    let limit = match integer(query, "limit", errors) {
        None => PageRequest::DEFAULT_LIMIT,
        Some(limit) if (1..=PageRequest::MAX_LIMIT as i64).contains(&limit) => limit.unsigned_abs(),
        Some(_) => {
            errors.add(
                "limit",
                format!("must be between 1 and {}", PageRequest::MAX_LIMIT),
            );
            PageRequest::DEFAULT_LIMIT
        }
    };
    HistoryQuery {
        filter: ExecutionFilter {
            script_id,
            status,
            trigger,
            from,
            to,
            search,
        },
        after,
        limit,
    }
}
