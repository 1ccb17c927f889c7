//! `docs/sdk-reference.md`, generated from `sdk.d.ts` — the one source of the editor's
//! completions and of this reference: each group of declarations, each global, interface and
//! class with its doc comment and examples, and each member with its signature and doc. A test
//! fails when the file differs from what the declarations say; `cargo xtask docs` writes it.

const HEADER: &str = "\
# SDK reference

Every global a script can use inside the sandbox, generated from the SDK's declarations
(`crates/runtime/src/sdk.d.ts`, also the source of the editor's completions and hover docs) by
`cargo xtask docs`; a test fails when it is out of date. Do not edit it by hand. The
[scripting guide](scripting-guide.md) shows how the pieces fit together.
";

/// The text of a `/** … */` comment, without its stars.
fn comment_text(lines: &[&str]) -> String {
    let mut text = Vec::new();
    for line in lines {
        let line = line.trim();
        let line = line.trim_start_matches("/**").trim_end_matches("*/");
        let line = line.strip_prefix('*').unwrap_or(line);
        let line = line.strip_prefix(' ').unwrap_or(line);
        text.push(line.trim_end().to_owned());
    }
    while text.first().is_some_and(String::is_empty) {
        text.remove(0);
    }
    while text.last().is_some_and(String::is_empty) {
        text.pop();
    }
    text.join("\n")
}

/// `{@link Name}` as a link to the name's heading; `@example` as a bold label.
fn markdown(doc: &str) -> String {
    let mut out = String::new();
    let mut rest = doc;
    while let Some(start) = rest.find("{@link ") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 7..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        out.push_str(&format!("[`{name}`](#{})", name.to_lowercase()));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out.replace("@example", "**Example**")
        .replace("@packageDocumentation", "")
        .trim()
        .to_owned()
}

/// The name a declaration line declares.
fn declared_name(line: &str) -> Option<(&'static str, String)> {
    let kinds = [
        ("interface ", "interface"),
        ("declare const ", "global"),
        ("declare function ", "function"),
        ("declare class ", "class"),
    ];
    kinds.iter().find_map(|(prefix, kind)| {
        line.strip_prefix(prefix).map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (*kind, rest[..end].to_owned())
        })
    })
}

/// The reference in Markdown.
pub(crate) fn render(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = HEADER.to_owned();
    let mut doc: Vec<&str> = Vec::new();
    let mut in_comment = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        i += 1;
        if in_comment || trimmed.starts_with("/**") {
            doc.push(line);
            in_comment = !trimmed.ends_with("*/");
            continue;
        }
        // A group: `// ---` lines around `// Title`.
        if trimmed.starts_with("// ---") {
            if let Some(title) = lines.get(i).and_then(|l| l.trim().strip_prefix("// "))
                && !title.starts_with("---")
            {
                out.push_str(&format!("\n## {title}\n"));
                i += 2;
            }
            doc.clear();
            continue;
        }
        let text = comment_text(&doc);
        doc.clear();
        let Some((kind, name)) = declared_name(trimmed) else {
            if !line.starts_with(' ') && !text.is_empty() && text.contains("@packageDocumentation")
            {
                out.push_str(&format!("\n{}\n", markdown(&text)));
            }
            continue;
        };
        out.push_str(&format!(
            "\n### {name}\n\n*{kind}*\n\n```ts\n{}\n```\n",
            trimmed.trim_end_matches(" {")
        ));
        if !text.is_empty() {
            out.push_str(&format!("\n{}\n", markdown(&text)));
        }
        if trimmed.ends_with('{') {
            i = members(&lines, i, &mut out);
        }
    }
    out
}

/// The members of the interface or class opened before `start`, as a list; returns the line
/// after its closing brace.
fn members(lines: &[&str], start: usize, out: &mut String) -> usize {
    let mut doc: Vec<&str> = Vec::new();
    let mut in_comment = false;
    let mut listed = false;
    let mut i = start;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        i += 1;
        if line.starts_with('}') {
            break;
        }
        if in_comment || trimmed.starts_with("/**") {
            doc.push(line);
            in_comment = !trimmed.ends_with("*/");
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        if !listed {
            out.push_str("\n| member | |\n|---|---|\n");
            listed = true;
        }
        // A member may span lines (a union of string literals): up to its `;`.
        let mut signature = trimmed.to_owned();
        while !signature.ends_with(';') && i < lines.len() && !lines[i].starts_with('}') {
            signature.push(' ');
            signature.push_str(lines[i].trim());
            i += 1;
        }
        let text = markdown(&comment_text(&doc))
            .replace("\n- ", "<br>• ")
            .replace('\n', " ");
        doc.clear();
        let signature = signature.trim_end_matches(';').replace('|', "\\|");
        out.push_str(&format!(
            "| `{signature}` | {} |\n",
            text.replace('|', "\\|")
        ));
    }
    i
}

#[test]
fn the_sdk_reference_is_current() {
    let reference = render(crate::SDK_DECLARATIONS);
    for name in [
        "### sdk",
        "### SdkHttp",
        "`get(url: string, options?: HttpOptions): Promise<HttpResponse>`",
        "### setTimeout",
    ] {
        assert!(
            reference.contains(name),
            "{name} missing from the reference"
        );
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/sdk-reference.md");
    if std::env::var_os("IOTA_SCRIPTS_WRITE_DOCS").is_some() {
        std::fs::write(path, &reference).expect("write docs/sdk-reference.md");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == reference,
        "docs/sdk-reference.md is out of date with sdk.d.ts: run `cargo xtask docs`"
    );
}
