//! The documented operations on runs, events and dead letters (the handlers are in
//! `api/executions.rs`, `api/execution_stream.rs` and `api/events.rs`).

#![allow(dead_code)]

use super::event_schemas::{
    DeadLetter, DeadLetterList, Handled, PublishEvent, PublishedEvent, Redriven, RetryRequest,
};
use super::schemas::{
    ErrorBody, ExecuteRequest, Execution, HistoryPage, Page, TestRequest, TestRun,
};

/// Run a script now
///
/// `sync` (default) answers when the run ends: 200, or 500 for a failed script and 504 for a
/// timeout, with the execution as the body either way. `async` answers 202 at once; the run
/// is durable and survives a restart.
#[utoipa::path(post, path = "/api/v1/scripts/{id}/execute", tag = "executions",
    params(("id" = String, Path, description = "The script's id")),
    request_body(content = ExecuteRequest, description = "May be empty"),
    responses(
        (status = 200, description = "The run completed", body = Execution),
        (status = 202, description = "Queued (`async`); `Location` names the execution", body = Execution),
        (status = 404, body = ErrorBody),
        (status = 400, body = ErrorBody),
        (status = 429, description = "A concurrency or rate limit is reached", body = ErrorBody),
        (status = 500, description = "The script failed", body = Execution),
        (status = 503, description = "The node is draining; retry after `Retry-After`", body = ErrorBody),
        (status = 504, description = "The script ran out of time", body = Execution),
    ))]
fn execute_script() {}

/// A script's executions
#[utoipa::path(get, path = "/api/v1/scripts/{id}/executions", tag = "executions",
    params(
        ("id" = String, Path, description = "The script's id"),
        ("status" = Option<String>, Query, description = "pending, running, completed, failed, timeout or cancelled"),
        ("page" = Option<u64>, Query, description = "Page number, from 1"),
        ("limit" = Option<u64>, Query, description = "Items per page, 1–100"),
    ),
    responses(
        (status = 200, description = "Newest first", body = Page<Execution>),
        (status = 404, body = ErrorBody),
        (status = 400, body = ErrorBody),
    ))]
fn list_script_executions() {}

/// The tenant's execution history
///
/// Newest first, filtered, a keyset page at a time: pass `nextCursor` as `cursor` for the
/// next one.
#[utoipa::path(get, path = "/api/v1/executions", tag = "executions",
    params(
        ("scriptId" = Option<String>, Query, description = "One script"),
        ("status" = Option<String>, Query, description = "pending, running, completed, failed, timeout or cancelled"),
        ("trigger" = Option<String>, Query, description = "manual, api, cron, http, event, embedded or retry"),
        ("from" = Option<String>, Query, description = "Created at or after (RFC 3339 or a date)"),
        ("to" = Option<String>, Query, description = "Created before or on (RFC 3339 or a date)"),
        ("search" = Option<String>, Query, description = "Text in the log lines or the error"),
        ("cursor" = Option<String>, Query, description = "The `nextCursor` of the page before"),
        ("limit" = Option<u64>, Query, description = "Items per page, 1–100 (default 20)"),
    ),
    responses(
        (status = 200, body = HistoryPage),
        (status = 400, description = "A bad filter (each named)", body = ErrorBody),
    ))]
fn list_executions() {}

/// Read an execution
#[utoipa::path(get, path = "/api/v1/executions/{id}", tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    responses(
        (status = 200, body = Execution),
        (status = 404, body = ErrorBody),
    ))]
fn get_execution() {}

/// Follow an execution as it runs
///
/// Server-sent events: each log line as it is logged (`log`), then the finished execution
/// (`end`). A finished execution answers its `end` at once.
#[utoipa::path(get, path = "/api/v1/executions/{id}/stream", tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 404, body = ErrorBody),
    ))]
fn stream_execution() {}

/// Cancel an execution
///
/// Asks the run to stop; its sandbox worker is killed if it does not within the grace.
#[utoipa::path(post, path = "/api/v1/executions/{id}/cancel", tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    responses(
        (status = 202, description = "Cancelling", body = Execution),
        (status = 404, body = ErrorBody),
        (status = 409, description = "It has finished already", body = ErrorBody),
    ))]
fn cancel_execution() {}

/// Publish a domain event
///
/// Every active event script of the tenant that receives its type gets a durable delivery,
/// retried by its policy and dead-lettered when all attempts fail.
#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    request_body = PublishEvent,
    responses(
        (status = 202, description = "Accepted", body = PublishedEvent),
        (status = 400, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
fn publish_event() {}

/// List dead letters
#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "events",
    params(
        ("scriptId" = Option<String>, Query, description = "One script"),
        ("eventType" = Option<String>, Query, description = "One event type"),
        ("status" = Option<String>, Query, description = "pending, retried or discarded"),
        ("from" = Option<String>, Query, description = "Created at or after"),
        ("to" = Option<String>, Query, description = "Created before or on"),
        ("limit" = Option<u64>, Query, description = "1–500 (default 50)"),
        ("cursor" = Option<String>, Query, description = "The `nextCursor` of the page before"),
    ),
    responses(
        (status = 200, description = "Newest first", body = DeadLetterList),
        (status = 400, body = ErrorBody),
    ))]
fn list_dead_letters() {}

/// Read a dead letter
#[utoipa::path(get, path = "/api/v1/dead-letters/{id}", tag = "events",
    params(("id" = String, Path, description = "The dead letter's id")),
    responses(
        (status = 200, body = DeadLetter),
        (status = 404, body = ErrorBody),
    ))]
fn get_dead_letter() {}

/// Retry a dead letter
///
/// Delivers its event again (with the payload given, if any) as a new durable delivery.
#[utoipa::path(post, path = "/api/v1/dead-letters/{id}/retry", tag = "events",
    params(("id" = String, Path, description = "The dead letter's id")),
    request_body(content = RetryRequest, description = "May be empty"),
    responses(
        (status = 202, body = Handled),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Handled already", body = ErrorBody),
    ))]
fn retry_dead_letter() {}

/// Discard a dead letter
#[utoipa::path(post, path = "/api/v1/dead-letters/{id}/discard", tag = "events",
    params(("id" = String, Path, description = "The dead letter's id")),
    responses(
        (status = 200, body = Handled),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Handled already", body = ErrorBody),
    ))]
fn discard_dead_letter() {}

/// Redrive a script's dead letters
///
/// Retries every pending dead letter of the script.
#[utoipa::path(post, path = "/api/v1/scripts/{id}/dead-letters/redrive", tag = "events",
    params(("id" = String, Path, description = "The script's id")),
    responses(
        (status = 202, body = Redriven),
        (status = 404, body = ErrorBody),
    ))]
fn redrive_dead_letters() {}

/// Test-run a script
///
/// Runs the fields given (the editor's, not saved) with `input` in the real sandbox, as a run
/// with trigger `test` in the script's history; no version is written. The fields are refused
/// as a save refuses them.
#[utoipa::path(post, path = "/api/v1/scripts/{id}/test", tag = "executions",
    params(("id" = String, Path, description = "The script's id")),
    request_body = TestRequest,
    responses(
        (status = 200, description = "The run, whatever its outcome", body = TestRun),
        (status = 400, description = "Bad fields, or source that does not compile (with `error.source` line and column)", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
fn test_script() {}

/// Test-run a script not saved yet
///
/// As the test of a saved script, but the run leaves no record: there is no script to file it
/// under.
#[utoipa::path(post, path = "/api/v1/scripts/test", tag = "executions",
    request_body = TestRequest,
    responses(
        (status = 200, description = "The run, whatever its outcome", body = TestRun),
        (status = 400, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
fn test_new_script() {}
