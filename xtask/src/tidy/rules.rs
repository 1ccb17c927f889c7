//! The text rules of tidy: a `//!` first line everywhere, production files under 400 lines,
//! clocks read only in clock modules, a domain that reads no clock and draws no randomness,
//! and an architecture map that names every crate and top-level module.

use super::{SourceFile, Violation};
use std::collections::BTreeSet;

/// Longest production file, in lines.
pub const MAX_LINES: usize = 400;

const CLOCK_READS: &[&str] = &[
    "Utc::now()",
    "Instant::now()",
    "SystemTime::now()",
    "Local::now()",
];

const RANDOMNESS: &[&str] = &[
    "rand::",
    "Uuid::new_v4",
    "Uuid::now_v7",
    "thread_rng",
    "getrandom",
];

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Test code by its place: integration tests, `tests.rs` modules, benches.
fn is_test_file(path: &str) -> bool {
    path.contains("/tests/") || file_name(path) == "tests.rs" || path.contains("/benches/")
}

/// Lines of a file that are production code: everything before its `#[cfg(test)]` module.
fn production_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(index, line)| (index + 1, line))
}

fn violation(rule: &'static str, at: String, message: impl Into<String>) -> Violation {
    Violation {
        rule,
        at,
        message: message.into(),
    }
}

/// Every file starts with a `//!` line saying why it exists.
pub fn first_line(files: &[SourceFile]) -> Vec<Violation> {
    files
        .iter()
        .filter(|file| !file.text.lines().next().unwrap_or("").starts_with("//!"))
        .map(|file| {
            violation(
                "first-line",
                file.path.clone(),
                "the file does not start with a `//!` line saying why it exists",
            )
        })
        .collect()
}

/// No production file is over [`MAX_LINES`] lines.
pub fn file_size(files: &[SourceFile]) -> Vec<Violation> {
    files
        .iter()
        .filter(|file| file.path.contains("/src/") && !is_test_file(&file.path))
        .filter_map(|file| {
            let lines = file.text.lines().count();
            (lines > MAX_LINES).then(|| {
                violation(
                    "file-size",
                    file.path.clone(),
                    format!("{lines} lines, more than {MAX_LINES}: split it along its seams"),
                )
            })
        })
        .collect()
}

/// Clocks are read only in a crate's `clock.rs`, so that time can be injected (tests and
/// benchmarks may read them freely; xtask is not the product).
pub fn clock_reads(files: &[SourceFile]) -> Vec<Violation> {
    let mut found = Vec::new();
    for file in files {
        let exempt = !file.path.starts_with("crates/") && !file.path.starts_with("migrations/")
            || is_test_file(&file.path)
            || file_name(&file.path) == "clock.rs"
            || (file.path.contains("/src/bin/") && file.path.contains("bench"));
        if exempt {
            continue;
        }
        for (number, line) in production_lines(&file.text) {
            if let Some(read) = CLOCK_READS.iter().find(|read| line.contains(*read)) {
                found.push(violation(
                    "clock",
                    format!("{}:{number}", file.path),
                    format!(
                        "`{read}` outside a clock module: take the time from the injected clock"
                    ),
                ));
            }
        }
    }
    found
}

/// The domain reads no clock and draws no randomness (typed ids are minted in `ids.rs` only).
pub fn domain_purity(files: &[SourceFile]) -> Vec<Violation> {
    let mut found = Vec::new();
    for file in files {
        if !file.path.starts_with("crates/domain/src/")
            || is_test_file(&file.path)
            || file.path == "crates/domain/src/ids.rs"
        {
            continue;
        }
        for (number, line) in production_lines(&file.text) {
            let hit = CLOCK_READS
                .iter()
                .chain(RANDOMNESS)
                .find(|word| line.contains(*word));
            if let Some(word) = hit {
                found.push(violation(
                    "domain-purity",
                    format!("{}:{number}", file.path),
                    format!("`{word}` in the domain: it takes time and randomness as arguments"),
                ));
            }
        }
    }
    found
}

/// Imports that would close a cycle between modules of one crate: (files, import, why).
const FORBIDDEN_IMPORTS: &[(&str, &str, &str)] = &[(
    "crates/runtime/src/modules/",
    "crate::isolate",
    "the SDK modules see the execution only through `ModuleHost`",
)];

/// No module imports what would make a cycle (the isolate installs the modules, not the other
/// way round).
pub fn module_cycles(files: &[SourceFile]) -> Vec<Violation> {
    let mut found = Vec::new();
    for file in files {
        for (prefix, import, why) in FORBIDDEN_IMPORTS {
            if !file.path.starts_with(prefix) {
                continue;
            }
            for (number, line) in production_lines(&file.text) {
                if line.contains(import) {
                    found.push(violation(
                        "module-cycle",
                        format!("{}:{number}", file.path),
                        format!("`{import}` imported here: {why}"),
                    ));
                }
            }
        }
    }
    found
}

/// Crate folders (`crates/<name>`) and their top-level modules (`src/<name>.rs` or
/// `src/<name>/`), from the file list.
fn crates_and_modules(files: &[SourceFile]) -> BTreeSet<(String, Option<String>)> {
    let mut found = BTreeSet::new();
    for file in files {
        let parts: Vec<&str> = file.path.split('/').collect();
        if let ["crates", name, "src", rest @ ..] = parts.as_slice() {
            found.insert(((*name).to_owned(), None));
            let module = match rest {
                [single] => single.strip_suffix(".rs").unwrap_or(single),
                [folder, ..] => folder,
                [] => continue,
            };
            if !matches!(module, "lib" | "main" | "bin") {
                found.insert(((*name).to_owned(), Some(module.to_owned())));
            }
        }
    }
    found
}

/// `docs/ARCHITECTURE.md` names every crate and every top-level module that exists.
pub fn architecture_names(files: &[SourceFile], architecture: &str) -> Vec<Violation> {
    let named = |module: &str| {
        [
            format!("`{module}`"),
            format!("`{module}.rs"),
            format!("`{module}/"),
            format!("({module}.rs"),
            format!(" {module}.rs"),
        ]
        .iter()
        .any(|form| architecture.contains(form.as_str()))
    };
    crates_and_modules(files)
        .into_iter()
        .filter_map(|(krate, module)| match module {
            None => (!architecture.contains(&format!("crates/{krate}"))).then(|| {
                violation(
                    "architecture",
                    format!("crates/{krate}"),
                    "docs/ARCHITECTURE.md does not name this crate",
                )
            }),
            Some(module) => (!named(&module)).then(|| {
                violation(
                    "architecture",
                    format!("crates/{krate}/src/{module}"),
                    format!("docs/ARCHITECTURE.md does not name the module `{module}`"),
                )
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.to_owned(),
            text: text.to_owned(),
        }
    }

    fn rules_hit(violations: Vec<Violation>) -> Vec<String> {
        violations.into_iter().map(|v| v.at).collect()
    }

    #[test]
    fn every_file_needs_a_doc_line() {
        let files = [
            file("crates/a/src/lib.rs", "//! Why.\nfn a() {}\n"),
            file("crates/a/src/b.rs", "// not a doc line\nfn b() {}\n"),
        ];
        assert_eq!(rules_hit(first_line(&files)), ["crates/a/src/b.rs"]);
    }

    #[test]
    fn production_files_stay_under_the_limit_and_tests_may_not() {
        let long = format!("//! Long.\n{}", "fn f() {}\n".repeat(MAX_LINES));
        let files = [
            file("crates/a/src/big.rs", &long),
            file("crates/a/src/x/tests.rs", &long),
            file("crates/a/tests/api.rs", &long),
            file("crates/a/src/small.rs", "//! Small.\n"),
        ];
        assert_eq!(rules_hit(file_size(&files)), ["crates/a/src/big.rs"]);
    }

    #[test]
    fn clocks_are_read_in_clock_modules_and_tests_only() {
        let files = [
            file(
                "crates/a/src/cache.rs",
                "//! C.\nfn f() { let t = Instant::now(); }\n",
            ),
            file("crates/a/src/clock.rs", "//! C.\nfn now() { Utc::now() }\n"),
            file(
                "crates/a/src/ok.rs",
                "//! C.\n// Utc::now() in a comment\n#[cfg(test)]\nmod tests { fn t() { Utc::now(); } }\n",
            ),
            file(
                "crates/a/tests/t.rs",
                "//! T.\nfn t() { SystemTime::now(); }\n",
            ),
            file("xtask/src/step.rs", "//! X.\nfn t() { Instant::now(); }\n"),
        ];
        assert_eq!(rules_hit(clock_reads(&files)), ["crates/a/src/cache.rs:2"]);
    }

    #[test]
    fn the_domain_draws_no_time_or_randomness() {
        let files = [
            file(
                "crates/domain/src/token.rs",
                "//! T.\nfn f() { rand::rng(); }\n",
            ),
            file(
                "crates/domain/src/ids.rs",
                "//! I.\nfn f() { Uuid::now_v7() }\n",
            ),
            file(
                "crates/domain/src/event.rs",
                "//! E.\nfn f() { Uuid::now_v7() }\n",
            ),
            file(
                "crates/services/src/a.rs",
                "//! S.\nfn f() { rand::rng(); }\n",
            ),
        ];
        assert_eq!(
            rules_hit(domain_purity(&files)),
            [
                "crates/domain/src/token.rs:2",
                "crates/domain/src/event.rs:2"
            ]
        );
    }

    #[test]
    fn modules_never_reach_back_into_the_isolate() {
        let files = [
            file(
                "crates/runtime/src/modules/sdk.rs",
                "//! S.\nuse crate::isolate::Shared;\n",
            ),
            file(
                "crates/runtime/src/modules/utils.rs",
                "//! U.\nuse super::ModuleHost;\n",
            ),
            file(
                "crates/runtime/src/isolate/mod.rs",
                "//! I.\nuse crate::modules;\n",
            ),
        ];
        assert_eq!(
            rules_hit(module_cycles(&files)),
            ["crates/runtime/src/modules/sdk.rs:2"]
        );
    }

    #[test]
    fn the_map_names_every_crate_and_module() {
        let files = [
            file("crates/web/src/lib.rs", "//! W.\n"),
            file("crates/web/src/api/mod.rs", "//! A.\n"),
            file("crates/web/src/health.rs", "//! H.\n"),
            file("crates/new/src/lib.rs", "//! N.\n"),
        ];
        let map = "- `crates/web` — `api/` is the JSON API; `health.rs` serves probes.";
        assert_eq!(rules_hit(architecture_names(&files, map)), ["crates/new"]);
        let map = "- `crates/web`, `crates/new` — `api/` only.";
        assert_eq!(
            rules_hit(architecture_names(&files, map)),
            ["crates/web/src/health"]
        );
    }
}
