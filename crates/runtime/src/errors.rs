//! Turning what a script threw into an `ExecutionError` an author can act on: a code, the
//! message, the line and column, and a stack with the script's own frames only.

use crate::modules::{cut, text_prefix};
use domain::execution::ExecutionError;
use rquickjs::{Ctx, Object, Value};

/// The module name scripts are compiled under; their stack frames carry it.
pub(crate) const SCRIPT_NAME: &str = "script.js";

/// The most characters of a code a script chose; longer or unsafe codes are replaced.
pub(crate) const MAX_CODE_CHARS: usize = 64;
/// The most bytes of an error's message, and of the name put before it.
pub(crate) const MAX_MESSAGE_BYTES: usize = 4 * 1024;
const MAX_NAME_BYTES: usize = 128;
/// The most bytes of the script frames of a stack.
pub(crate) const MAX_STACK_BYTES: usize = 16 * 1024;
/// How much of a raw stack is read to find the script's frames in.
const STACK_READ_BYTES: usize = 4 * MAX_STACK_BYTES;
/// How much of a thrown non-Error value is shown.
const MAX_SHOWN_BYTES: usize = 1000;
const TRUNCATED: &str = "… (truncated)";

/// `text` cut to at most `max` bytes, with a marker when something was cut.
fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    marked(text, max)
}

/// The start of a text known to be cut, with the marker, in at most `max` bytes.
fn marked(text: &str, max: usize) -> String {
    format!(
        "{}{TRUNCATED}",
        cut(text, max.saturating_sub(TRUNCATED.len()))
    )
}

/// A code a script set, if it is short, plain text (`[A-Za-z0-9_.-]`).
fn safe_code(code: &str) -> Option<&str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    (!code.is_empty() && code.len() <= MAX_CODE_CHARS && code.chars().all(plain)).then_some(code)
}

/// A string property of a thrown object, read at most `max` bytes deep (with a marker when
/// cut); `None` when it is missing or not a string.
fn text_field(object: &Object<'_>, key: &str, max: usize) -> Option<String> {
    let text = object.get::<_, Option<rquickjs::String>>(key).ok()??;
    let (prefix, was_cut) = text_prefix(&text, max).ok()?;
    Some(if was_cut {
        marked(&prefix, max)
    } else {
        prefix
    })
}

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
    (!frames.is_empty()).then(|| capped(&frames.join("\n"), MAX_STACK_BYTES))
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
        if let Some(message) = text_field(object, "message", MAX_MESSAGE_BYTES) {
            let code = text_field(object, "code", MAX_CODE_CHARS + 1);
            let code = code
                .as_deref()
                .and_then(safe_code)
                .unwrap_or("UNCAUGHT_VALUE");
            return error(code, message);
        }
    }
    let shown = ctx
        .json_stringify(thrown.clone())
        .ok()
        .flatten()
        .and_then(|s| text_prefix(&s, MAX_SHOWN_BYTES).ok())
        .map(|(shown, was_cut)| {
            if was_cut {
                format!("{shown}{TRUNCATED}")
            } else {
                shown
            }
        })
        .unwrap_or_else(|| format!("a value of type {}", thrown.type_name()));
    error("UNCAUGHT_VALUE", format!("{THREW_VALUE}{shown}"))
}

const THREW_VALUE: &str = "the script threw a non-Error value: ";

/// Whether `failure` is a `null` the script threw, or the engine threw for want of memory.
pub(crate) fn threw_null(failure: &ExecutionError) -> bool {
    failure.code == "UNCAUGHT_VALUE"
        && failure
            .message
            .strip_prefix(THREW_VALUE)
            .is_some_and(|shown| shown == "null")
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
    let name = text_field(object, "name", MAX_NAME_BYTES).unwrap_or_else(|| "Error".into());
    let message = text_field(object, "message", MAX_MESSAGE_BYTES).unwrap_or_default();
    if let Some(refusal) = import_refusal(&message) {
        return refusal;
    }
    let stack = text_field(object, "stack", STACK_READ_BYTES).unwrap_or_default();
    let explicit_code = text_field(object, "code", MAX_CODE_CHARS + 1);
    let code = explicit_code
        .as_deref()
        .and_then(safe_code)
        .unwrap_or_else(|| code_for(&name, &message))
        .to_owned();
    let (line, column) = position(&stack);
    let message = if name == "Error" || name.is_empty() {
        message
    } else {
        format!("{name}: {message}")
    };
    ExecutionError {
        code,
        message: capped(&message, MAX_MESSAGE_BYTES),
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

    #[test]
    fn only_short_plain_codes_are_kept() {
        let long = "A".repeat(MAX_CODE_CHARS + 1);
        let cases: [(&str, Option<&str>); 7] = [
            ("NOT_FOUND", Some("NOT_FOUND")),
            ("E.conn-refused_2", Some("E.conn-refused_2")),
            ("", None),
            ("has space", None),
            ("<script>", None),
            ("CODE\nINJECTED", None),
            (&long, None),
        ];
        for (code, kept) in cases {
            assert_eq!(safe_code(code), kept, "{code:?}");
        }
        assert!(safe_code(&long[1..]).is_some(), "64 characters are allowed");
    }

    #[test]
    fn capped_text_stays_within_its_limit_at_a_char_boundary() {
        let accents = "é".repeat(50);
        let cases = [
            ("short", 100, "short".to_owned()),
            ("exactly", 7, "exactly".to_owned()),
            (
                accents.as_str(),
                20,
                format!("{}{TRUNCATED}", "é".repeat(2)),
            ),
        ];
        for (text, max, expected) in cases {
            let got = capped(text, max);
            assert_eq!(got, expected, "{text:?} within {max}");
            assert!(got.len() <= max.max(TRUNCATED.len()), "{got:?}");
        }
    }
}
