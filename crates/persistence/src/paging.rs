//! One page of an ordered, tenant-scoped query: its rows mapped to domain types, and the total
//! (counted up to `Page::COUNTED_AT_MOST`).

use crate::errors::storage;
use domain::paging::{Page, PageRequest};
use domain::repository::RepoError;
use sea_orm::sea_query::{Alias, Asterisk, Expr};
use sea_orm::{ConnectionTrait, EntityTrait, ExprTrait, QuerySelect, QueryTrait, Select};

pub(crate) async fn fetch_page<E, T>(
    query: Select<E>,
    page: PageRequest,
    connection: &impl ConnectionTrait,
    what: &str,
    map: impl Fn(E::Model) -> Result<T, RepoError>,
) -> Result<Page<T>, RepoError>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let counted = count(query.clone(), connection, what).await?;
    let rows = query
        .offset(page.offset())
        .limit(page.limit)
        .all(connection)
        .await
        .map_err(|e| storage(&format!("list {what}"), e))?;
    page_of(counted, rows, page, map)
}

/// The page of `rows`, the list holding `counted` items (as `count` gives them).
pub(crate) fn page_of<M, T>(
    counted: u64,
    rows: Vec<M>,
    page: PageRequest,
    map: impl Fn(M) -> Result<T, RepoError>,
) -> Result<Page<T>, RepoError> {
    let cap = Page::<T>::COUNTED_AT_MOST;
    let items = rows.into_iter().map(map).collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        total: Ord::min(counted, cap),
        total_exact: counted <= cap,
        page: page.page,
        limit: page.limit,
    })
}

/// The rows `query` matches, up to one more than `Page::COUNTED_AT_MOST`, as
/// `SELECT COUNT(*) FROM (SELECT 1 FROM … WHERE … LIMIT n)`: no order, no columns, and never
/// more rows read than that, however many the tenant has. (sea-orm's own count wraps the
/// whole query, every column and its ordering, and counts every row.)
pub(crate) async fn count<E: EntityTrait>(
    query: Select<E>,
    connection: &impl ConnectionTrait,
    what: &str,
) -> Result<u64, RepoError> {
    let mut matching = query.select_only().expr(Expr::val(1));
    QueryTrait::query(&mut matching).clear_order_by();
    let matching = matching.limit(Page::<()>::COUNTED_AT_MOST + 1).into_query();
    let counting = sea_orm::sea_query::Query::select()
        .expr(Expr::col(Asterisk).count())
        .from_subquery(matching, Alias::new("matching"))
        .to_owned();
    let fail = |e| storage(&format!("count {what}"), e);
    let row = connection.query_one(&counting).await.map_err(fail)?;
    let total: i64 = match row {
        Some(row) => row.try_get_by_index(0).map_err(fail)?,
        None => 0,
    };
    Ok(u64::try_from(total).unwrap_or(0))
}
