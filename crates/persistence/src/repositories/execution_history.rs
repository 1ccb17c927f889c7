//! A tenant's execution history read by keyset on sea-orm: the filters (script, status,
//! trigger, creation time), the search in log lines and errors, and the `(created_at, id)`
//! cursor, served in the order of `idx_executions_tenant_created_id`, never by offset.

use crate::connection::is_postgres;
use crate::entities::script_execution as row;
use crate::errors::storage;
use domain::paging::{ExecutionFilter, HistoryCursor};
use domain::repository::RepoError;
use domain::{ScriptId, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// The trigger's kind inside the stored trigger JSON.
const TRIGGER_PG: &str = r#"("script_executions"."trigger" ->> 'type') = $1"#;
const TRIGGER_SQLITE: &str = r#"json_extract("script_executions"."trigger", '$.type') = ?"#;

/// A log line's message, or the error's code or message, contains the pattern.
const SEARCH_PG: &str = r#"(EXISTS (SELECT 1 FROM jsonb_array_elements("script_executions"."logs") AS line(value) WHERE (line.value ->> 'message') ILIKE $1 ESCAPE '!') OR ("script_executions"."error" ->> 'message') ILIKE $1 ESCAPE '!' OR ("script_executions"."error" ->> 'code') ILIKE $1 ESCAPE '!')"#;
const SEARCH_SQLITE: &str = r#"(EXISTS (SELECT 1 FROM json_each("script_executions"."logs") AS line WHERE json_extract(line.value, '$.message') LIKE ? ESCAPE '!') OR json_extract("script_executions"."error", '$.message') LIKE ? ESCAPE '!' OR json_extract("script_executions"."error", '$.code') LIKE ? ESCAPE '!')"#;

/// `%text%` with the pattern's own characters (`%`, `_` and the escape `!`) taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The latest execution of each of `scripts` of `tenant` that has one: one statement of one
/// index seek per script (over `(tenant_id, script_id, created_at)`), whatever their history.
pub(crate) async fn latest_of(
    connection: &impl ConnectionTrait,
    tenant: TenantId,
    scripts: &[ScriptId],
) -> Result<Vec<row::Model>, RepoError> {
    if scripts.is_empty() {
        return Ok(Vec::new());
    }
    let postgres = is_postgres(connection);
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(scripts.len() * 2);
    let mut parts = Vec::with_capacity(scripts.len());
    for (i, script) in scripts.iter().enumerate() {
        let (t, s) = if postgres {
            (format!("${}", 2 * i + 1), format!("${}", 2 * i + 2))
        } else {
            ("?".to_owned(), "?".to_owned())
        };
        parts.push(format!(
            "SELECT * FROM (SELECT * FROM \"script_executions\" WHERE \"tenant_id\" = {t} \
             AND \"script_id\" = {s} ORDER BY \"created_at\" DESC, \"id\" DESC LIMIT 1) AS latest_{i}"
        ));
        values.push(tenant.0.into());
        values.push(script.0.into());
    }
    let statement = sea_orm::Statement::from_sql_and_values(
        connection.get_database_backend(),
        parts.join(" UNION ALL "),
        values,
    );
    row::Entity::find()
        .from_raw_sql(statement)
        .all(connection)
        .await
        .map_err(|e| storage("read the latest runs", e))
}

pub(crate) async fn history(
    connection: &impl ConnectionTrait,
    tenant: TenantId,
    filter: &ExecutionFilter,
    after: Option<HistoryCursor>,
    limit: u64,
) -> Result<Vec<row::Model>, RepoError> {
    let postgres = is_postgres(connection);
    let mut query = row::Entity::find().filter(row::Column::TenantId.eq(tenant.0));
    if let Some(script) = filter.script_id {
        query = query.filter(row::Column::ScriptId.eq(script.0));
    }
    if let Some(status) = filter.status {
        query = query.filter(row::Column::Status.eq(status.as_str()));
    }
    if let Some(trigger) = filter.trigger {
        let sql = if postgres { TRIGGER_PG } else { TRIGGER_SQLITE };
        query = query.filter(Expr::cust_with_values(sql, [trigger.as_str()]));
    }
    if let Some(from) = filter.from {
        query = query.filter(row::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(row::Column::CreatedAt.lt(to));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
        let pattern = contains_pattern(search.trim());
        query = query.filter(if postgres {
            Expr::cust_with_values(SEARCH_PG, [pattern])
        } else {
            Expr::cust_with_values(SEARCH_SQLITE, [pattern.clone(), pattern.clone(), pattern])
        });
    }
    if let Some(cursor) = after {
        query = query.filter(
            Condition::any()
                .add(row::Column::CreatedAt.lt(cursor.created_at))
                .add(
                    Condition::all()
                        .add(row::Column::CreatedAt.eq(cursor.created_at))
                        .add(row::Column::Id.lt(cursor.id.0)),
                ),
        );
    }
    query
        .order_by_desc(row::Column::CreatedAt)
        .order_by_desc(row::Column::Id)
        .limit(limit)
        .all(connection)
        .await
        .map_err(|e| storage("list the execution history", e))
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn search_patterns_take_wildcards_literally() {
        let cases = [
            ("boom", "%boom%"),
            ("50%", "%50!%%"),
            ("a_b", "%a!_b%"),
            ("wow!", "%wow!!%"),
        ];
        for (text, pattern) in cases {
            assert_eq!(contains_pattern(text), pattern, "{text}");
        }
    }
}
