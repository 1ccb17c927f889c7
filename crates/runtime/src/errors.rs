//! Turning what a script threw into an `ExecutionError` an author can act on: a code, the
//! message, the line and column, and a stack with the script's own frames only.

use domain::execution::ExecutionError;
use rquickjs::{Ctx, Object, Value};

/// The module name scripts are compiled under; their stack frames carry it.
pub(crate) const SCRIPT_NAME: &str = "script.js";

pub(crate) fn error(code: &str, message: impl Into<String>) -> ExecutionError {
    ExecutionError {
        code: code.to_owned(),
        message: message.into(),
        line: None,
        column: None,
        stack: None,
    }
}

/// Keeps the frames of the script itself, dropping native and internal ones.
fn script_frames(stack: &str) -> Option<String> {
    let frames: Vec<&str> = stack
        .lines()
        .map(str::trim)
        .filter(|line| line.contains(SCRIPT_NAME))
        .collect();
    (!frames.is_empty()).then(|| frames.join("\n"))
}

/// `line:column` of the first script frame.
fn position(stack: &str) -> (Option<u32>, Option<u32>) {
    let Some(at) = stack.find(&format!("{SCRIPT_NAME}:")) else {
        return (None, None);
    };
    let rest = &stack[at + SCRIPT_NAME.len() + 1..];
    let mut numbers = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().ok());
    (numbers.next().flatten(), numbers.next().flatten())
}

fn code_for(name: &str, message: &str) -> &'static str {
    if message.contains("out of memory") {
        "MEMORY_LIMIT"
    } else if message.contains("stack overflow") || message.contains("Maximum call stack") {
        "STACK_OVERFLOW"
    } else if name == "SyntaxError" {
        "SYNTAX_ERROR"
    } else {
        "RUNTIME_ERROR"
    }
}

/// Describes a thrown value (an `Error`, or anything else a script threw).
pub(crate) fn from_thrown<'js>(ctx: &Ctx<'js>, thrown: Value<'js>) -> ExecutionError {
    if let Some(object) = thrown.as_object().filter(|_| thrown.is_error()) {
        return from_error_object(object);
    }
    if let Some(object) = thrown.as_object() {
        // An object with a message (a host error, or a plain `{ message }`) reads like an error.
        if let Ok(message) = object.get::<_, String>("message") {
            let code = object
                .get::<_, String>("code")
                .unwrap_or_else(|_| "UNCAUGHT_VALUE".into());
            return error(&code, message);
        }
    }
    let shown = ctx
        .json_stringify(thrown.clone())
        .ok()
        .flatten()
        .and_then(|s| s.to_string().ok())
        .unwrap_or_else(|| format!("a value of type {}", thrown.type_name()));
    let shown: String = shown.chars().take(1000).collect();
    error(
        "UNCAUGHT_VALUE",
        format!("the script threw a non-Error value: {shown}"),
    )
}

/// The engine's own words for a refused import, made plain.
fn import_refusal(message: &str) -> Option<ExecutionError> {
    let rest = message.strip_prefix("could not load module ").or_else(|| {
        message
            .strip_prefix("Error resolving module ")
            .and_then(|r| r.split(" from ").next())
    })?;
    Some(error(
        "IMPORT_FORBIDDEN",
        format!(
            "scripts cannot import modules (tried to import {rest}); use the SDK globals instead"
        ),
    ))
}

fn from_error_object(object: &Object<'_>) -> ExecutionError {
    let name: String = object.get("name").unwrap_or_else(|_| "Error".into());
    let message: String = object.get("message").unwrap_or_default();
    if let Some(refusal) = import_refusal(&message) {
        return refusal;
    }
    let stack: String = object.get("stack").unwrap_or_default();
    let explicit_code: Option<String> = object.get("code").ok();
    let code = explicit_code.unwrap_or_else(|| code_for(&name, &message).to_owned());
    let (line, column) = position(&stack);
    let message = if name == "Error" || name.is_empty() {
        message
    } else {
        format!("{name}: {message}")
    };
    ExecutionError {
        code,
        message: message.chars().take(4000).collect(),
        line,
        column,
        stack: script_frames(&stack),
    }
}

/// The error a caught rquickjs error stands for (an exception, or a failure of the engine).
pub(crate) fn from_engine_error<'js>(ctx: &Ctx<'js>, failure: rquickjs::Error) -> ExecutionError {
    match failure {
        rquickjs::Error::Exception => from_thrown(ctx, ctx.catch()),
        rquickjs::Error::Allocation => error("MEMORY_LIMIT", "the script ran out of memory"),
        other => {
            tracing::debug!(error = %other, "engine error");
            error("INTERNAL", "the script engine failed to run the script")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_keep_script_frames_only() {
        let stack = "    at fail (script.js:3:11)\n    at <anonymous> (native)\n    at main (script.js:7:5)\n";
        assert_eq!(
            script_frames(stack).as_deref(),
            Some("at fail (script.js:3:11)\nat main (script.js:7:5)")
        );
        assert_eq!(position(stack), (Some(3), Some(11)));
        assert_eq!(script_frames("    at JSON.parse (native)"), None);
        assert_eq!(position("no frames"), (None, None));
    }

    #[test]
    fn codes_follow_the_failure() {
        assert_eq!(code_for("InternalError", "out of memory"), "MEMORY_LIMIT");
        assert_eq!(
            code_for("RangeError", "Maximum call stack size exceeded"),
            "STACK_OVERFLOW"
        );
        assert_eq!(code_for("SyntaxError", "unexpected token"), "SYNTAX_ERROR");
        assert_eq!(code_for("TypeError", "not a function"), "RUNTIME_ERROR");
    }
}
