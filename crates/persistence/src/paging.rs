//! One page of an ordered, tenant-scoped query: its rows mapped to domain types, and the total.

use crate::errors::storage;
use domain::paging::{Page, PageRequest};
use domain::repository::RepoError;
use sea_orm::sea_query::{Asterisk, Expr};
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
    let total = count(query.clone(), connection)
        .await
        .map_err(|e| storage(&format!("count {what}"), e))?;
    let rows = query
        .offset(page.offset())
        .limit(page.limit)
        .all(connection)
        .await
        .map_err(|e| storage(&format!("list {what}"), e))?;
    let items = rows.into_iter().map(map).collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        total,
        page: page.page,
        limit: page.limit,
    })
}

/// The rows `query` matches, as `SELECT COUNT(*) FROM … WHERE …`: no order, no columns read.
/// (sea-orm's own count wraps the whole query, every column and its ordering, in a subquery,
/// which on SQLite reads each row of a large tenant in full, source text included.)
async fn count<E: EntityTrait>(
    query: Select<E>,
    connection: &impl ConnectionTrait,
) -> Result<u64, sea_orm::DbErr> {
    let mut counting = query.select_only().expr(Expr::col(Asterisk).count());
    QueryTrait::query(&mut counting).clear_order_by();
    let total: Option<i64> = counting.into_tuple().one(connection).await?;
    Ok(total.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}
