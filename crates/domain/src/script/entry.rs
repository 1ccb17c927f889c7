//! Finds a script's entry point in its source, as SPEC §5 orders them: a default export that
//! is a function, a function named `main`, then `handleRequest` (http) or `handleEvent` (event).
//!
//! This is a lexical scan (comments, strings and template literals are skipped), enough to
//! refuse a script with no entry point when it is saved; the runtime compiles the module and
//! has the final word when it runs.

use super::fields::ScriptType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryPoint {
    DefaultExport,
    Main,
    HandleRequest,
    HandleEvent,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("has no entry point: export a default function, or define {expected}")]
pub struct NoEntryPoint {
    pub expected: &'static str,
}

/// The code of `source` with comments, strings and template literals blanked out.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn tokens(code: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (index, c) in code.char_indices() {
        let word = c.is_alphanumeric() || c == '_' || c == '$';
        match (word, start) {
            (true, None) => start = Some(index),
            (false, Some(s)) => {
                tokens.push(&code[s..index]);
                start = None;
            }
            _ => {}
        }
        if !word && !c.is_whitespace() {
            tokens.push(&code[index..index + c.len_utf8()]);
        }
    }
    if let Some(s) = start {
        tokens.push(&code[s..]);
    }
    tokens
}

fn defines(tokens: &[&str], name: &str) -> bool {
    tokens.windows(3).any(|w| {
        (w[0] == "function" && w[1] == name)
            || (matches!(w[0], "const" | "let" | "var") && w[1] == name && w[2] == "=")
            || (w[1] == "as" && w[2] == name)
    }) || tokens
        .windows(3)
        .any(|w| w[0] == "{" && w[1] == name && matches!(w[2], "}" | ","))
        || tokens
            .windows(3)
            .any(|w| w[0] == "," && w[1] == name && matches!(w[2], "}" | ","))
}

fn exports_default_function(tokens: &[&str]) -> bool {
    tokens.windows(3).any(|w| {
        w[0] == "export"
            && w[1] == "default"
            && (matches!(w[2], "function" | "async" | "(")
                || w[2]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$'))
    }) || tokens.windows(2).any(|w| w[0] == "as" && w[1] == "default")
}

/// The entry point the runtime will call for a script of `script_type`.
pub fn find_entry_point(source: &str, script_type: ScriptType) -> Result<EntryPoint, NoEntryPoint> {
    let code = code_only(source);
    let tokens = tokens(&code);
    if exports_default_function(&tokens) {
        return Ok(EntryPoint::DefaultExport);
    }
    if defines(&tokens, "main") {
        return Ok(EntryPoint::Main);
    }
    match script_type {
        ScriptType::Http if defines(&tokens, "handleRequest") => Ok(EntryPoint::HandleRequest),
        ScriptType::Event if defines(&tokens, "handleEvent") => Ok(EntryPoint::HandleEvent),
        ScriptType::Http => Err(NoEntryPoint {
            expected: "main or handleRequest",
        }),
        ScriptType::Event => Err(NoEntryPoint {
            expected: "main or handleEvent",
        }),
        _ => Err(NoEntryPoint { expected: "main" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScriptType::*;

    #[test]
    fn entry_points() {
        let cases: &[(&str, ScriptType, Option<EntryPoint>)] = &[
            (
                "export default async function (input) { return 1 }",
                OneOff,
                Some(EntryPoint::DefaultExport),
            ),
            (
                "export default function run() {}",
                OneOff,
                Some(EntryPoint::DefaultExport),
            ),
            (
                "export default async (x) => x",
                OneOff,
                Some(EntryPoint::DefaultExport),
            ),
            (
                "const run = () => 1; export default run;",
                OneOff,
                Some(EntryPoint::DefaultExport),
            ),
            (
                "function run() {}\nexport { run as default }",
                OneOff,
                Some(EntryPoint::DefaultExport),
            ),
            (
                "async function main(input) { return input }",
                Scheduled,
                Some(EntryPoint::Main),
            ),
            (
                "export async function main() {}",
                Scheduled,
                Some(EntryPoint::Main),
            ),
            (
                "const main = async () => 1",
                Embedded,
                Some(EntryPoint::Main),
            ),
            (
                "export { run as main }; function run(){}",
                Embedded,
                Some(EntryPoint::Main),
            ),
            (
                "export default { a: 1 }; function main() {}",
                OneOff,
                Some(EntryPoint::Main),
            ),
            (
                "async function handleRequest(req) { return { status: 200 } }",
                Http,
                Some(EntryPoint::HandleRequest),
            ),
            (
                "function handleEvent(e) {}",
                Event,
                Some(EntryPoint::HandleEvent),
            ),
            ("function handleEvent(e) {}", Http, None),
            ("function handleRequest(r) {}", OneOff, None),
            ("// function main() {}\nconst x = 1", OneOff, None),
            ("/* export default function() {} */ 1", OneOff, None),
            ("const s = 'function main() {}'", OneOff, None),
            ("const s = `export default function () {}`", OneOff, None),
            ("function mainly() {}", OneOff, None),
            ("export default 42", OneOff, None),
            ("export default { main() {} }", OneOff, None),
        ];
        for (source, script_type, expected) in cases {
            assert_eq!(
                find_entry_point(source, *script_type).ok(),
                *expected,
                "{source}"
            );
        }
    }

    #[test]
    fn error_names_what_is_expected() {
        let error = find_entry_point("1", Http).expect_err("no entry");
        assert!(error.to_string().contains("handleRequest"));
    }
}
