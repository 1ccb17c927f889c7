//! When schedules fire next: a preview of any cron expression in its zone, for an editor,
//! and the upcoming runs of a saved scheduled script. "Now" is the injected clock's.

use crate::scripts::{ScriptError, ScriptService};
use domain::script::{CronError, CronSchedule, FireTime};
use domain::{Actor, Permission, ScriptId, ValidationErrors};

/// How many fire times a preview answers when not told, and at most.
pub const DEFAULT_FIRE_TIMES: usize = 5;
pub const MAX_FIRE_TIMES: usize = 50;

/// A preview request as it arrives: plain values, checked here. `timezone` empty means UTC.
#[derive(Clone, Debug, Default)]
pub struct PreviewSchedule {
    pub expression: String,
    pub timezone: String,
    pub count: Option<i64>,
}

/// An expression, its zone, and its next fire times after now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpcomingRuns {
    pub expression: String,
    pub timezone: String,
    pub next: Vec<FireTime>,
}

impl UpcomingRuns {
    fn of(schedule: &CronSchedule, next: Vec<FireTime>) -> Self {
        Self {
            expression: schedule.expression().to_owned(),
            timezone: schedule.timezone().name().to_owned(),
            next,
        }
    }
}

/// The number of fire times asked for, 1 to `MAX_FIRE_TIMES`; a bad one is noted in `errors`.
fn fire_time_count(count: Option<i64>, errors: &mut ValidationErrors) -> usize {
    match count {
        None => DEFAULT_FIRE_TIMES,
        Some(n) if (1..=MAX_FIRE_TIMES as i64).contains(&n) => n as usize,
        Some(_) => {
            errors.add("count", format!("must be between 1 and {MAX_FIRE_TIMES}"));
            DEFAULT_FIRE_TIMES
        }
    }
}

impl ScriptService {
    /// The next fire times of an expression in a zone, as a script with them would run.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id))]
    pub fn preview_schedule(
        &self,
        actor: &Actor,
        request: &PreviewSchedule,
    ) -> Result<UpcomingRuns, ScriptError> {
        actor.require(Permission::ScriptsRead)?;
        let mut errors = ValidationErrors::new();
        let timezone = errors.check("timezone", CronSchedule::parse_timezone(&request.timezone));
        let schedule = match CronSchedule::parse_with(
            &request.expression,
            timezone.unwrap_or(chrono_tz::Tz::UTC),
            self.rules().cron_syntax,
        ) {
            Err(CronError::Missing) => {
                errors.add("expression", "is required");
                None
            }
            parsed => errors.check("expression", parsed),
        };
        let count = fire_time_count(request.count, &mut errors);
        errors.into_result()?;
        let schedule =
            schedule.ok_or_else(|| ValidationErrors::single("expression", "is required"))?;
        Ok(UpcomingRuns::of(
            &schedule,
            schedule.upcoming(self.clock.now(), count),
        ))
    }

    /// The next fire times of a saved scheduled script, in its zone. Another tenant's script
    /// is not found; a script of another type has no schedule (a conflict).
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant_id, script = %id))]
    pub async fn schedule(
        &self,
        actor: &Actor,
        id: ScriptId,
        count: Option<i64>,
    ) -> Result<UpcomingRuns, ScriptError> {
        let mut errors = ValidationErrors::new();
        let count = fire_time_count(count, &mut errors);
        errors.into_result()?;
        let script = self.get(actor, id).await?;
        let schedule = script
            .spec
            .cron()
            .ok_or_else(|| ScriptError::NotScheduled(script.spec.script_type().as_str()))?;
        Ok(UpcomingRuns::of(
            schedule,
            schedule.upcoming(self.clock.now(), count),
        ))
    }
}
