//! The documented operations on scripts, their versions and schedules (the handlers are in
//! `api/scripts.rs` and `api/cron.rs`; the `openapi` test keeps both sides in step).

#![allow(dead_code)]

use super::schemas::{ErrorBody, Page, Script, ScriptRequest, UpcomingRuns, Version};

/// List the tenant's scripts
///
/// Newest first, a numbered page at a time, filtered by type, status and a search in names
/// and descriptions.
#[utoipa::path(get, path = "/api/v1/scripts", tag = "scripts",
    params(
        ("page" = Option<u64>, Query, description = "Page number, from 1"),
        ("limit" = Option<u64>, Query, description = "Items per page, 1–100 (default 20)"),
        ("type" = Option<String>, Query, description = "scheduled, http, event, oneoff or embedded"),
        ("status" = Option<String>, Query, description = "draft, active, paused, disabled or archived"),
        ("search" = Option<String>, Query, description = "Words in the name or description"),
    ),
    responses(
        (status = 200, description = "A page of scripts", body = Page<Script>),
        (status = 400, description = "A bad filter or page", body = ErrorBody),
    ))]
fn list_scripts() {}

/// Create a script
///
/// Writes version 1. Every bad field is reported at once; nothing is written then.
#[utoipa::path(post, path = "/api/v1/scripts", tag = "scripts",
    request_body = ScriptRequest,
    responses(
        (status = 201, description = "Created; `Location` names it", body = Script),
        (status = 409, description = "Another script has the same HTTP route", body = ErrorBody),
        (status = 400, description = "Bad fields (each named) or source that does not compile", body = ErrorBody),
    ))]
fn create_script() {}

/// Read a script
#[utoipa::path(get, path = "/api/v1/scripts/{id}", tag = "scripts",
    params(("id" = String, Path, description = "The script's id")),
    responses(
        (status = 200, body = Script),
        (status = 404, description = "No such script in the tenant", body = ErrorBody),
    ))]
fn get_script() {}

/// Replace a script
///
/// Writes a new version with the whole configuration given.
#[utoipa::path(put, path = "/api/v1/scripts/{id}", tag = "scripts",
    params(("id" = String, Path, description = "The script's id")),
    request_body = ScriptRequest,
    responses(
        (status = 200, description = "The script at its new version", body = Script),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Another script has the same HTTP route", body = ErrorBody),
        (status = 400, body = ErrorBody),
    ))]
fn update_script() {}

/// Delete a script
///
/// Its versions and executions go with it.
#[utoipa::path(delete, path = "/api/v1/scripts/{id}", tag = "scripts",
    params(("id" = String, Path, description = "The script's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = ErrorBody),
    ))]
fn delete_script() {}

/// List a script's versions
#[utoipa::path(get, path = "/api/v1/scripts/{id}/versions", tag = "scripts",
    params(
        ("id" = String, Path, description = "The script's id"),
        ("page" = Option<u64>, Query, description = "Page number, from 1"),
        ("limit" = Option<u64>, Query, description = "Items per page, 1–100"),
    ),
    responses(
        (status = 200, description = "Newest first", body = Page<Version>),
        (status = 404, body = ErrorBody),
    ))]
fn list_versions() {}

/// Restore a version
///
/// Writes a new version equal to the one named.
#[utoipa::path(post, path = "/api/v1/scripts/{id}/versions/{version}/restore", tag = "scripts",
    params(
        ("id" = String, Path, description = "The script's id"),
        ("version" = i32, Path, description = "The version to restore"),
    ),
    responses(
        (status = 200, description = "The script at its new version", body = Script),
        (status = 404, description = "No such script or version", body = ErrorBody),
        (status = 409, description = "Its HTTP route is taken by another script now", body = ErrorBody),
    ))]
fn restore_version() {}

/// Preview a cron expression
///
/// The next fire times in a zone, with daylight-saving shifts marked; nothing is saved.
#[utoipa::path(get, path = "/api/v1/cron/preview", tag = "schedules",
    params(
        ("expression" = String, Query, description = "5 or 6 fields"),
        ("timezone" = Option<String>, Query, description = "IANA zone (default UTC)"),
        ("count" = Option<u64>, Query, description = "How many times, 1–50 (default 5)"),
    ),
    responses(
        (status = 200, body = UpcomingRuns),
        (status = 400, description = "The expression or zone is wrong (each named)", body = ErrorBody),
    ))]
fn preview_cron() {}

/// A scheduled script's next runs
#[utoipa::path(get, path = "/api/v1/scripts/{id}/schedule", tag = "schedules",
    params(
        ("id" = String, Path, description = "The script's id"),
        ("count" = Option<u64>, Query, description = "How many times, 1–50 (default 5)"),
    ),
    responses(
        (status = 200, body = UpcomingRuns),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The script is not scheduled", body = ErrorBody),
    ))]
fn script_schedule() {}
