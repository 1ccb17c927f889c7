//! `AlertStateRepository` on sea-orm: each script's alerting state, written with a
//! compare-and-set on its revision so that two nodes never both count the same window.

use crate::connection::Database;
use crate::entities::script_alert;
use crate::errors::{storage, unique_violation};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::alerts::{AlertState, AlertStateRepository};
use domain::repository::RepoError;
use domain::{ScriptId, TenantId};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[derive(Clone, Debug)]
pub struct SeaAlertStateRepository {
    database: Database,
}

impl SeaAlertStateRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl AlertStateRepository for SeaAlertStateRepository {
    async fn get(
        &self,
        tenant: TenantId,
        script: ScriptId,
    ) -> Result<Option<(AlertState, i64)>, RepoError> {
        let row = script_alert::Entity::find_by_id(script.0)
            .filter(script_alert::Column::TenantId.eq(tenant.0))
            .one(self.database.connection())
            .await
            .map_err(|e| storage("read alert state", e))?;
        Ok(row.map(|row| {
            let state = AlertState {
                consecutive_failures: row.consecutive_failures.max(0) as u64,
                alerting: row.alerting,
                last_sent_at: row.last_sent_at,
                held_back: row.held_back.max(0) as u64,
            };
            (state, row.revision)
        }))
    }

    async fn put(
        &self,
        tenant: TenantId,
        script: ScriptId,
        state: &AlertState,
        expected: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        let connection = self.database.connection();
        let Some(revision) = expected else {
            let row = script_alert::ActiveModel {
                script_id: Set(script.0),
                tenant_id: Set(tenant.0),
                consecutive_failures: Set(count(state.consecutive_failures)),
                alerting: Set(state.alerting),
                last_sent_at: Set(state.last_sent_at),
                held_back: Set(count(state.held_back)),
                revision: Set(1),
                updated_at: Set(now),
            };
            return match script_alert::Entity::insert(row).exec(connection).await {
                Ok(_) => Ok(true),
                Err(e) if unique_violation(&e, &["script_alerts", "PRIMARY", "UNIQUE"]) => {
                    Ok(false)
                }
                Err(e) => Err(storage("write alert state", e)),
            };
        };
        let written = script_alert::Entity::update_many()
            .col_expr(
                script_alert::Column::ConsecutiveFailures,
                Expr::value(count(state.consecutive_failures)),
            )
            .col_expr(script_alert::Column::Alerting, Expr::value(state.alerting))
            .col_expr(
                script_alert::Column::LastSentAt,
                Expr::value(state.last_sent_at),
            )
            .col_expr(
                script_alert::Column::HeldBack,
                Expr::value(count(state.held_back)),
            )
            .col_expr(script_alert::Column::Revision, Expr::value(revision + 1))
            .col_expr(script_alert::Column::UpdatedAt, Expr::value(now))
            .filter(script_alert::Column::ScriptId.eq(script.0))
            .filter(script_alert::Column::TenantId.eq(tenant.0))
            .filter(script_alert::Column::Revision.eq(revision))
            .exec(connection)
            .await
            .map_err(|e| storage("write alert state", e))?;
        Ok(written.rows_affected == 1)
    }
}
