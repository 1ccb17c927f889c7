//! The dashboard: active scripts, the latest runs and failures among them (with links to
//! the failed runs and the pending dead letters), and the next scheduled runs.

use super::errors::{OrPage, UiError};
use super::layout::{self, badge, optional_time, time};
use super::scripts::{html, last_runs};
use super::session::Page;
use crate::AppState;
use actix_web::{HttpResponse, web};
use domain::execution::ExecutionStatus;
use domain::jobs::{DeadLetterFilter, DeadLetterStatus};
use domain::paging::{PageRequest, ScriptFilter};
use domain::script::{ScriptStatus, ScriptType};
use maud::html;

pub async fn dashboard(state: web::Data<AppState>, page: Page) -> Result<HttpResponse, UiError> {
    let lang = page.lang;
    let first = PageRequest { page: 1, limit: 20 };
    let active_filter = ScriptFilter {
        status: Some(ScriptStatus::Active),
        ..ScriptFilter::default()
    };
    let active = state
        .scripts
        .list(page.actor(), &active_filter, first)
        .await
        .or_page(&page)?;
    let scheduled_filter = ScriptFilter {
        script_type: Some(ScriptType::Scheduled),
        ..active_filter
    };
    let scheduled = state
        .scripts
        .list(page.actor(), &scheduled_filter, first)
        .await
        .or_page(&page)?;
    let mut upcoming: Vec<_> = scheduled
        .items
        .iter()
        .filter(|s| s.next_run_at.is_some())
        .collect();
    upcoming.sort_by_key(|s| s.next_run_at);
    let runs = last_runs(&state, &page, active.items.iter().map(|s| s.id)).await;
    let mut recent: Vec<_> = runs.values().collect();
    recent.sort_by_key(|run| std::cmp::Reverse(run.created_at));
    let failures: Vec<_> = recent
        .iter()
        .filter(|run| {
            matches!(
                run.status,
                ExecutionStatus::Failed | ExecutionStatus::Timeout
            )
        })
        .collect();
    let pending = DeadLetterFilter {
        status: Some(DeadLetterStatus::Pending),
        ..DeadLetterFilter::default()
    };
    let dead_letters = state
        .events
        .dead_letters(page.actor(), &pending, 100)
        .await
        .or_page(&page)?;
    let name_of = |id| {
        active
            .items
            .iter()
            .find(|s| s.id == id)
            .map_or(String::new(), |s| s.spec.name.as_str().to_owned())
    };
    let title = lang.t("nav.dashboard");
    let body = html! {
        h1 { (title) }
        div.cards {
            div.card { span.figure #active-count { (layout::total(&active)) } span { (lang.t("dashboard.active_scripts")) } }
            div.card { span.figure { (failures.len()) } span { (lang.t("dashboard.failing")) } }
            div.card { span.figure { (layout::total(&scheduled)) } span { (lang.t("dashboard.scheduled")) } }
        }
        div.columns {
            section {
                h2 { (lang.t("dashboard.recent_runs")) }
                @if recent.is_empty() { p.empty { (lang.t("execution.none")) } }
                ul.plain {
                    @for run in recent.iter().take(10) {
                        li {
                            (badge(run.status.as_str(), &lang.t(&format!("execution.status.{}", run.status.as_str())))) " "
                            a href={ "/executions/" (run.id) } { (name_of(run.script_id)) } " "
                            (time(&run.created_at))
                        }
                    }
                }
                h2 { (lang.t("dashboard.failures")) }
                p.links {
                    a #failed-runs href="/executions?status=failed" { (lang.t("dashboard.all_failed_runs")) }
                    " · "
                    a #pending-dead-letters href="/dead-letters?status=pending" {
                        (lang.t("dashboard.dead_letters")) ": " (dead_letters.len())
                        @if dead_letters.len() >= 100 { "+" }
                    }
                }
                @if failures.is_empty() { p.empty { (lang.t("dashboard.no_failures")) } }
                ul.plain {
                    @for run in &failures {
                        li {
                            a href={ "/executions/" (run.id) } { (name_of(run.script_id)) } " "
                            @if let Some(error) = &run.error { span.error-cell { (error.code) ": " (error.message) } }
                        }
                    }
                }
            }
            section {
                h2 { (lang.t("dashboard.next_runs")) }
                @if upcoming.is_empty() { p.empty { (lang.t("dashboard.no_next_runs")) } }
                ul.plain {
                    @for script in upcoming.iter().take(10) {
                        li {
                            a href={ "/scripts/" (script.id) } { (script.spec.name.as_str()) } " "
                            (optional_time(script.next_run_at.as_ref()))
                        }
                    }
                }
                h2 { (lang.t("dashboard.active_scripts")) }
                ul.plain {
                    @for script in &active.items {
                        li { a href={ "/scripts/" (script.id) } { (script.spec.name.as_str()) } " " span.muted { (lang.t(&format!("script.type.{}", script.spec.script_type().as_str()))) } }
                    }
                }
            }
        }
    };
    Ok(html(layout::page(&page, "/dashboard", &title, body)))
}
