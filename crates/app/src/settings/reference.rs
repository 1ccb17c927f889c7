//! `docs/settings.md`, generated from the settings code: every section and setting with its
//! doc comment (read from these sources), its default (from `Settings::default()`) and its
//! environment variable. A test fails when the file differs from what the code says, or when a
//! setting has no doc comment; `cargo xtask docs` writes it again.

use super::Settings;
use serde_json::Value;
use std::collections::BTreeMap;

/// The sources whose structs make up the settings tree.
const SOURCES: [&str; 8] = [
    include_str!("mod.rs"),
    include_str!("sections.rs"),
    include_str!("scripts.rs"),
    include_str!("alerts.rs"),
    include_str!("http_endpoints.rs"),
    include_str!("retention.rs"),
    include_str!("sdk_db.rs"),
    include_str!("../../../domain/src/script/limits.rs"),
];

const HEADER: &str = "\
# Settings reference

Every setting of `iota-scripts`, with its default. Settings come from an optional TOML file
(`iota-scripts --config FILE …`), overridden by environment variables named
`IOTA_SCRIPTS__SECTION__KEY` (two underscores between parts; nested sections add a part), and
`DATABASE_URL` for `database.url`. Unknown keys and bad values stop the start with the name of
the setting. See [the operator guide](operations.md) for how they fit together.

This file is generated from the settings code by `cargo xtask docs`; a test fails when it is
out of date. Do not edit it by hand.
";

#[derive(Debug, Default)]
struct Struct {
    doc: String,
    fields: Vec<Field>,
}

#[derive(Debug)]
struct Field {
    name: String,
    type_name: String,
    doc: String,
}

/// The structs of `source` with their doc comments and their public fields'.
fn parse(source: &str, structs: &mut BTreeMap<String, Struct>) {
    let mut doc: Vec<String> = Vec::new();
    let mut current: Option<(String, Struct)> = None;
    for line in source.lines() {
        let trimmed = line.trim();
        if let Some(text) = trimmed.strip_prefix("///") {
            doc.push(text.trim().to_owned());
            continue;
        }
        if trimmed.starts_with("#[") {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("pub struct ")
            && let Some(name) = rest.strip_suffix(" {")
        {
            let found = Struct {
                doc: doc.join(" "),
                fields: Vec::new(),
            };
            current = Some((name.to_owned(), found));
        } else if line == "}" {
            if let Some((name, found)) = current.take() {
                structs.insert(name, found);
            }
        } else if let Some((_, found)) = current.as_mut()
            && let Some(rest) = trimmed.strip_prefix("pub ")
            && let Some((name, type_name)) = rest.split_once(": ")
        {
            found.fields.push(Field {
                name: name.to_owned(),
                type_name: type_name.trim_end_matches(',').to_owned(),
                doc: doc.join(" "),
            });
        }
        doc.clear();
    }
}

/// A default as TOML writes it.
fn toml_value(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(toml_value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

struct Render<'a> {
    structs: &'a BTreeMap<String, Struct>,
    out: String,
    undocumented: Vec<String>,
}

impl Render<'_> {
    fn section(&mut self, path: &[&str], type_name: &str, defaults: &Value, doc: &str) {
        let Some(found) = self.structs.get(type_name) else {
            return;
        };
        let dotted = path.join(".");
        self.out.push_str(&format!("\n## `[{dotted}]`\n\n"));
        let doc = if doc.is_empty() { &found.doc } else { doc };
        if doc.is_empty() {
            self.undocumented.push(format!("[{dotted}]"));
        } else {
            self.out.push_str(&format!("{doc}\n\n"));
        }
        self.out.push_str(
            "| setting | default | environment variable | meaning |\n|---|---|---|---|\n",
        );
        let mut nested = Vec::new();
        for field in &found.fields {
            if self.structs.contains_key(&field.type_name) {
                nested.push(field);
                continue;
            }
            let key = format!("{dotted}.{}", field.name);
            if field.doc.is_empty() {
                self.undocumented.push(key.clone());
            }
            let env: Vec<String> = path
                .iter()
                .chain([&field.name.as_str()])
                .map(|part| part.to_uppercase())
                .collect();
            self.out.push_str(&format!(
                "| `{}` | `{}` | `IOTA_SCRIPTS__{}` | {} |\n",
                field.name,
                cell(&toml_value(&defaults[&field.name])),
                env.join("__"),
                cell(&field.doc),
            ));
        }
        for field in nested {
            let mut inner = path.to_vec();
            inner.push(&field.name);
            let (type_name, doc) = (&field.type_name, &field.doc);
            self.section(&inner, type_name, &defaults[&field.name], doc);
        }
    }
}

/// The whole reference, and the settings that have no doc comment.
fn render() -> (String, Vec<String>) {
    let mut structs = BTreeMap::new();
    for source in SOURCES {
        parse(source, &mut structs);
    }
    let defaults = serde_json::to_value(Settings::default()).expect("settings serialize");
    let mut render = Render {
        structs: &structs,
        out: HEADER.to_owned(),
        undocumented: Vec::new(),
    };
    for field in &structs["Settings"].fields {
        render.section(
            &[&field.name],
            &field.type_name,
            &defaults[&field.name],
            &field.doc,
        );
    }
    (render.out, render.undocumented)
}

#[test]
fn the_settings_reference_is_current_and_complete() {
    let (reference, undocumented) = render();
    assert!(
        undocumented.is_empty(),
        "settings without a doc comment: {undocumented:?}"
    );
    assert!(reference.contains("`IOTA_SCRIPTS__SERVER__BIND`"));
    assert!(reference.contains("## `[scripts.default_limits]`"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/settings.md");
    if std::env::var_os("IOTA_SCRIPTS_WRITE_DOCS").is_some() {
        std::fs::write(path, &reference).expect("write docs/settings.md");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == reference,
        "docs/settings.md is out of date with the settings code: run `cargo xtask docs`"
    );
}
