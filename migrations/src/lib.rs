//! The schema of IOTA Scripts, as sea-orm migrations that serve SQLite and PostgreSQL alike.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_accounts;
mod m20261122_000002_scripts;
mod m20261122_000003_event_outbox;
mod m20261130_000004_schedule_ticks;
mod m20261130_000005_dead_letters;
mod m20261130_000006_node_leases;
mod m20261130_000007_script_options;
mod m20261130_000008_execution_history;
mod m20261130_000009_script_list_order;
mod m20261201_000010_script_history_order;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts::Migration),
            Box::new(m20261122_000002_scripts::Migration),
            Box::new(m20261122_000003_event_outbox::Migration),
            Box::new(m20261130_000004_schedule_ticks::Migration),
            Box::new(m20261130_000005_dead_letters::Migration),
            Box::new(m20261130_000006_node_leases::Migration),
            Box::new(m20261130_000007_script_options::Migration),
            Box::new(m20261130_000008_execution_history::Migration),
            Box::new(m20261130_000009_script_list_order::Migration),
            Box::new(m20261201_000010_script_history_order::Migration),
        ]
    }
}

/// A foreign key that deletes the row when what it points to is deleted.
pub(crate) fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Creates a plain (or unique) index over `columns` of `table`.
pub(crate) fn index(
    name: &str,
    table: impl IntoIden,
    columns: &[&str],
    unique: bool,
) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(Alias::new(*column));
    }
    if unique {
        statement.unique();
    }
    statement.to_owned()
}

/// One index of `table` put in place of another (both plain): `up` creates `name` over
/// `columns` before it drops `replaced`, so that reads always have one of them; `down` does
/// the reverse.
pub(crate) struct Replacement {
    pub table: &'static str,
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub replaced: &'static str,
    pub replaced_columns: &'static [&'static str],
}

impl Replacement {
    pub(crate) async fn up(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        self.swap(manager, (self.name, self.columns), self.replaced)
            .await
    }

    pub(crate) async fn down(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        self.swap(manager, (self.replaced, self.replaced_columns), self.name)
            .await
    }

    async fn swap(
        &self,
        manager: &SchemaManager<'_>,
        create: (&str, &[&str]),
        drop: &str,
    ) -> Result<(), DbErr> {
        let table = Alias::new(self.table);
        manager
            .create_index(index(create.0, table.clone(), create.1, false))
            .await?;
        manager
            .drop_index(Index::drop().name(drop).table(table).to_owned())
            .await
    }
}
