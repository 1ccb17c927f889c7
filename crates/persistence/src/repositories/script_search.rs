//! The script list's search: every word of it a prefix of a word of the name or description
//! (PostgreSQL: the generated `search` column and its GIN index; SQLite: `LIKE`), and the
//! page of matches read the cheaper of two ways.
//!
//! A search that matches many scripts is read like the plain list, walking the
//! `(tenant_id, updated_at, id)` index until a page is full. One that matches few would walk
//! the whole tenant that way — PostgreSQL guesses a prefix search matches 2% of rows and
//! chose that walk, 44 ms over a 100,000-script tenant for a single match — so when the
//! count (capped, and served by the GIN index) finds at most `Page::COUNTED_AT_MOST`, the
//! matches are gathered first (a materialized CTE: the index, then the sort of only those)
//! and the page's rows read by id.

use super::script_mapping::script_from_row;
use crate::connection::is_postgres;
use crate::entities::script;
use crate::errors::storage;
use crate::paging::{count, page_of};
use domain::paging::{Page, PageRequest, ScriptFilter};
use domain::repository::RepoError;
use domain::script::Script;
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, Func, Order, Query, WithClause,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select,
};

/// Newest change first, the id to break ties: both descending, a backward walk of the
/// `(tenant_id, updated_at, id)` index, no sort.
pub(super) fn ordered(query: Select<script::Entity>) -> Select<script::Entity> {
    query
        .order_by_desc(script::Column::UpdatedAt)
        .order_by_desc(script::Column::Id)
}

/// The condition of `filter`'s search words (none: no condition).
pub(super) fn condition(connection: &impl ConnectionTrait, filter: &ScriptFilter) -> Condition {
    let words = filter.search_words();
    let mut condition = Condition::all();
    if words.is_empty() {
        return condition;
    }
    if is_postgres(connection) {
        let query = words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & ");
        condition = condition.add(Expr::cust_with_values(
            "search @@ to_tsquery('simple', $1)",
            [query],
        ));
    } else {
        for word in words {
            let pattern = format!("%{word}%");
            condition = condition.add(
                Condition::any()
                    .add(
                        Expr::expr(Func::lower(Expr::col(script::Column::Name)))
                            .like(pattern.clone()),
                    )
                    .add(
                        Expr::expr(Func::lower(Expr::col(script::Column::Description)))
                            .like(pattern),
                    ),
            );
        }
    }
    condition
}

/// The page of a search: `matching` is the tenant's scripts filtered by the search (and any
/// other filter), unordered.
pub(super) async fn page(
    connection: &impl ConnectionTrait,
    matching: Select<script::Entity>,
    page: PageRequest,
) -> Result<Page<Script>, RepoError> {
    let counted = count(matching.clone(), connection, "scripts").await?;
    if counted <= page.offset() {
        return page_of(counted, Vec::new(), page, script_from_row);
    }
    if counted > Page::<Script>::COUNTED_AT_MOST {
        let rows = ordered(matching)
            .offset(page.offset())
            .limit(page.limit)
            .all(connection)
            .await
            .map_err(|e| storage("list scripts", e))?;
        return page_of(counted, rows, page, script_from_row);
    }
    let ids = page_ids(connection, matching.clone(), page).await?;
    let rows = ordered(matching.filter(script::Column::Id.is_in(ids)))
        .all(connection)
        .await
        .map_err(|e| storage("list scripts", e))?;
    page_of(counted, rows, page, script_from_row)
}

/// The ids of the page's scripts among few matches: the matches gathered first (a
/// materialized CTE, so that the planner cannot turn it into a walk of the tenant), then
/// sorted.
async fn page_ids(
    connection: &impl ConnectionTrait,
    matching: Select<script::Entity>,
    page: PageRequest,
) -> Result<Vec<uuid::Uuid>, RepoError> {
    let mut hits = matching
        .select_only()
        .column(script::Column::Id)
        .column(script::Column::UpdatedAt);
    QueryTrait::query(&mut hits).clear_order_by();
    let hits_table = Alias::new("hits");
    let mut cte = CommonTableExpression::new();
    cte.query(hits.into_query())
        .table_name(hits_table.clone())
        .materialized(is_postgres(connection));
    let select = Query::select()
        .column(Alias::new("id"))
        .from(hits_table)
        .order_by(Alias::new("updated_at"), Order::Desc)
        .order_by(Alias::new("id"), Order::Desc)
        .limit(page.limit)
        .offset(page.offset())
        .to_owned();
    let statement = WithClause::new().cte(cte).to_owned().query(select);
    let rows = connection
        .query_all(&statement)
        .await
        .map_err(|e| storage("list scripts", e))?;
    rows.iter()
        .map(|row| {
            row.try_get_by_index::<uuid::Uuid>(0)
                .map_err(|e| storage("list scripts", e))
        })
        .collect()
}
