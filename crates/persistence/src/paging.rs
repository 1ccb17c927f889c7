//! One page of an ordered, tenant-scoped query: its rows mapped to domain types, and the total.

use crate::errors::storage;
use domain::paging::{Page, PageRequest};
use domain::repository::RepoError;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QuerySelect, Select};

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
    let total = query
        .clone()
        .count(connection)
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
