//! The `[sdk_db]` and `[scheduler]` settings checked and turned into the configuration of the
//! `sdk.db` door (services), of the scripts' own connection pool (persistence) and of the
//! cron scheduler.

use super::{Settings, SettingsError, invalid};
use std::time::Duration;

impl Settings {
    pub fn db_settings(&self) -> Result<services::sdk::db::DbSettings, SettingsError> {
        let mut tables = std::collections::BTreeSet::new();
        for table in self
            .sdk_db
            .tables
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let valid = table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !table.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(invalid(
                    "sdk_db.tables",
                    format!("\"{table}\" is not a plain table name"),
                ));
            }
            tables.insert(table.to_ascii_lowercase());
        }
        let column = &self.sdk_db.tenant_column;
        if column.is_empty()
            || !column
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(invalid(
                "sdk_db.tenant_column",
                format!("\"{column}\" is not a plain column name"),
            ));
        }
        if !(1..=100_000).contains(&self.sdk_db.max_rows) || self.sdk_db.statement_timeout_ms == 0 {
            return Err(invalid(
                "sdk_db",
                "max_rows must be 1–100000 and statement_timeout_ms more than 0",
            ));
        }
        let db = &self.sdk_db;
        let sizes = domain::script_data::ResultSizes {
            max_value_bytes: db.max_value_bytes,
            max_row_bytes: db.max_row_bytes,
            max_result_bytes: db.max_result_bytes,
        };
        let ordered = 0 < sizes.max_value_bytes
            && sizes.max_value_bytes <= sizes.max_row_bytes
            && sizes.max_row_bytes <= sizes.max_result_bytes
            && i32::try_from(sizes.max_row_bytes).is_ok();
        if !ordered {
            return Err(invalid(
                "sdk_db",
                "need 0 < max_value_bytes <= max_row_bytes <= max_result_bytes, and max_row_bytes below 2 GiB",
            ));
        }
        Ok(services::sdk::db::DbSettings {
            tables,
            tenant_column: column.to_ascii_lowercase(),
            max_rows: db.max_rows,
            statement_timeout: Duration::from_millis(db.statement_timeout_ms),
            result_sizes: sizes,
        })
    }

    /// The scripts' connection pool and how long they may hold a transaction or a lock.
    pub fn script_data_config(&self) -> Result<persistence::ScriptDataConfig, SettingsError> {
        let db = &self.sdk_db;
        let door = self.db_settings()?;
        let positive = [
            ("sdk_db.pool_size", u64::from(db.pool_size)),
            (
                "sdk_db.per_tenant_connections",
                db.per_tenant_connections as u64,
            ),
            ("sdk_db.acquire_timeout_ms", db.acquire_timeout_ms),
            ("sdk_db.max_transaction_ms", db.max_transaction_ms),
            ("sdk_db.sqlite_write_lock_ms", db.sqlite_write_lock_ms),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(invalid(name, "must be more than 0"));
        }
        if db.per_tenant_connections as u64 > u64::from(db.pool_size) {
            return Err(invalid(
                "sdk_db.per_tenant_connections",
                format!(
                    "{} is more than the pool's {} connections (sdk_db.pool_size)",
                    db.per_tenant_connections, db.pool_size
                ),
            ));
        }
        Ok(persistence::ScriptDataConfig {
            tables: door.tables.into_iter().collect(),
            tenant_column: door.tenant_column,
            pool_size: db.pool_size,
            per_tenant_connections: db.per_tenant_connections,
            acquire_timeout: Duration::from_millis(db.acquire_timeout_ms),
            max_transaction: Duration::from_millis(db.max_transaction_ms),
            sqlite_write_lock: Duration::from_millis(db.sqlite_write_lock_ms),
        })
    }

    /// The cron scheduler of this node, named `node` in the ticks it claims.
    pub fn scheduler_config(
        &self,
        node: String,
    ) -> Result<services::SchedulerConfig, SettingsError> {
        let scheduler = &self.scheduler;
        for (name, value) in [
            ("scheduler.poll_interval_ms", scheduler.poll_interval_ms),
            ("scheduler.missed_after_ms", scheduler.missed_after_ms),
            (
                "scheduler.stale_claim_after_ms",
                scheduler.stale_claim_after_ms,
            ),
        ] {
            if value == 0 {
                return Err(invalid(name, "must be more than 0"));
            }
        }
        Ok(services::SchedulerConfig {
            node,
            poll_interval: Duration::from_millis(scheduler.poll_interval_ms),
            missed_after: Duration::from_millis(scheduler.missed_after_ms),
            stale_claim_after: Duration::from_millis(scheduler.stale_claim_after_ms),
            ..services::SchedulerConfig::default()
        })
    }
}
