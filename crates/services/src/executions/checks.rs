//! Checking a source before it is saved: compiled in a sandbox worker of the tenant, as the
//! engine will compile it to run.

use super::ExecutionService;
use domain::ValidationErrors;
use domain::script::ScriptSpec;

impl ExecutionService {
    /// Compiles a script's source as the engine will, in a sandbox worker of the tenant, so
    /// that a syntax error or a refused `import` is reported when the script is saved, with its
    /// line and column.
    pub async fn check_source(
        &self,
        tenant: domain::TenantId,
        spec: &ScriptSpec,
    ) -> Result<(), ValidationErrors> {
        self.check_text(tenant, spec.source.as_str(), spec.script_type())
            .await
            .map_err(|message| ValidationErrors::single("source", message))
    }

    /// Compiles a source text; the error's message with its line and column.
    pub async fn check_text(
        &self,
        tenant: domain::TenantId,
        source: &str,
        script_type: domain::script::ScriptType,
    ) -> Result<(), String> {
        self.engine
            .check(tenant, source, script_type)
            .await
            .map_err(|error| {
                let at = match (error.line, error.column) {
                    (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
                    (Some(line), None) => format!(" (line {line})"),
                    _ => String::new(),
                };
                format!("{}{at}", error.message)
            })
    }
}

/// Where a message of `check_text` places its error in the source: the line, and the column
/// (1 when the message names only the line).
pub fn source_position(message: &str) -> Option<(u32, u32)> {
    let at = message.rfind(" (line ")?;
    let inside = message[at + " (line ".len()..].strip_suffix(')')?;
    let (line, column) = match inside.split_once(", column ") {
        Some((line, column)) => (line, column),
        None => (inside, "1"),
    };
    Some((line.parse().ok()?, column.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::source_position;

    #[test]
    fn the_position_is_read_back_from_the_message() {
        assert_eq!(
            source_position("SyntaxError: unexpected token (line 3, column 14)"),
            Some((3, 14))
        );
        assert_eq!(source_position("unexpected end (line 7)"), Some((7, 1)));
        assert_eq!(source_position("no position here"), None);
        assert_eq!(source_position("odd (line x, column 2)"), None);
    }
}
