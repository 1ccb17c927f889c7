//! The SQL guard of `sdk.db`: a script sends one statement; it is parsed, refused when unsafe and
//! rewritten so that it can only see and touch the current tenant's rows. Pure, no I/O.
//!
//! Safety rests on re-emission: the SQL that runs is printed from the checked syntax tree (the
//! comments and original spelling are gone), quoted names and literals are normalised to one
//! quoting style, and the printed text must parse back to exactly the tree that was checked.
//!
//! This file holds the public API and the pipeline; the steps live beside it: `emit` (placeholder
//! numbering, normalising and re-checking the printed SQL), `rewrite` (the tree walk that scopes
//! table reads to the tenant), `dml` (INSERT/UPDATE/DELETE), `checks` (refused syntax) and
//! `functions` (the functions scripts may call).

use runtime::HostErrorCode;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, Statement, VisitMut, VisitorMut};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use rewrite::Rewriter;

/// `deny! { condition => "construct", … }` refuses the first construct that is present.
/// Defined before the submodules so that they can use it; they import `refused`.
macro_rules! deny {
    ($($present:expr => $what:expr),+ $(,)?) => {
        $(if $present { return Err(refused(format!("{} is not allowed", $what))); })+
    };
}

mod checks;
mod dml;
mod emit;
mod functions;
mod rewrite;
#[cfg(test)]
mod tests;

/// The database a statement is written for; decides parsing, name folding and placeholders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlDialectKind {
    Sqlite,
    Postgres,
}

impl SqlDialectKind {
    fn parser(self) -> Box<dyn Dialect> {
        match self {
            Self::Sqlite => Box::new(SQLiteDialect {}),
            Self::Postgres => Box::new(PostgreSqlDialect {}),
        }
    }

    fn default_schema(self) -> &'static str {
        match self {
            Self::Sqlite => "main",
            Self::Postgres => "public",
        }
    }
}

/// What the operator made available to scripts.
#[derive(Clone, Debug)]
pub struct SqlPolicy {
    /// The tables scripts may use, lower-case, unqualified (e.g. "orders").
    pub tables: BTreeSet<String>,
    /// The tenant column of those tables (default "tenant_id").
    pub tenant_column: String,
}

impl SqlPolicy {
    /// A policy over `tables` (lower-cased here) with the default tenant column `tenant_id`.
    pub fn new<S: AsRef<str>>(tables: impl IntoIterator<Item = S>) -> Self {
        let tables = tables.into_iter().map(|t| t.as_ref().to_ascii_lowercase());
        let tenant_column = "tenant_id".to_owned();
        Self {
            tables: tables.collect(),
            tenant_column,
        }
    }
}

impl Default for SqlPolicy {
    fn default() -> Self {
        Self::new(Vec::<String>::new())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatementKind {
    Select,
    Insert,
    Update,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardedStatement {
    /// The rewritten SQL, in the dialect's placeholder style (`$n` or `?n`).
    pub sql: String,
    pub kind: StatementKind,
    /// Highest parameter index used (1-based); the caller checks the script passed that many.
    pub parameter_count: usize,
    /// SELECT, or DML with RETURNING.
    pub returns_rows: bool,
}

/// `code` is `UnauthorizedOperation` (refused by policy) or `InvalidSql`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SqlGuardError {
    pub code: HostErrorCode,
    pub message: String,
}

type Res<T = ()> = Result<T, SqlGuardError>;

fn error(code: HostErrorCode, message: impl Into<String>) -> SqlGuardError {
    SqlGuardError {
        code,
        message: message.into(),
    }
}

fn refused(message: impl Into<String>) -> SqlGuardError {
    error(HostErrorCode::UnauthorizedOperation, message)
}

fn invalid(message: impl Into<String>) -> SqlGuardError {
    error(HostErrorCode::InvalidSql, message)
}

fn run<T: VisitMut + ?Sized, V: VisitorMut<Break = SqlGuardError>>(node: &mut T, v: &mut V) -> Res {
    match node.visit(v) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(e) => Err(e),
    }
}

fn flow(result: Res) -> ControlFlow<SqlGuardError> {
    result.map_or_else(ControlFlow::Break, ControlFlow::Continue)
}

/// Checks `sql`, scopes it to `tenant_id` under `policy` and returns the SQL to run.
pub fn guard(
    sql: &str,
    dialect: SqlDialectKind,
    policy: &SqlPolicy,
    tenant_id: &str,
) -> Result<GuardedStatement, SqlGuardError> {
    let uuid_like = |c: char| c.is_ascii_hexdigit() || c == '-';
    if tenant_id.is_empty() || tenant_id.len() > 64 || !tenant_id.chars().all(uuid_like) {
        return Err(invalid("the tenant id is not a UUID"));
    }
    if policy.tenant_column.is_empty() {
        return Err(invalid("the policy has no tenant column"));
    }
    let parser_dialect = dialect.parser();
    let tokens = Tokenizer::new(&*parser_dialect, sql).tokenize_with_location();
    let (tokens, parameter_count) =
        emit::number_placeholders(tokens.map_err(|e| invalid(e.to_string()))?)?;
    let significant = |t: &&Token| !matches!(t, Token::Whitespace(_));
    let mut words = tokens.iter().map(|t| &t.token).filter(significant);
    let first = words.by_ref().find(|t| **t != Token::SemiColon).cloned();
    if words
        .skip_while(|t| **t != Token::SemiColon)
        .any(|t| *t != Token::SemiColon)
    {
        return Err(refused("one statement per call"));
    }
    let parsed = Parser::new(&*parser_dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements();
    let mut statements = parsed.map_err(|e| match first {
        Some(Token::Word(w)) if w.keyword != Keyword::NoKeyword && !is_dml_start(&w.value) => {
            refused(format!(
                "{} statements are not allowed",
                w.value.to_ascii_uppercase()
            ))
        }
        _ => invalid(e.to_string()),
    })?;
    let mut statement = match (statements.pop(), statements.is_empty()) {
        (None, _) => return Err(invalid("the statement is empty")),
        (Some(s), true) => s,
        (Some(_), false) => return Err(refused("one statement per call")),
    };
    let mut rw = Rewriter::new(policy, dialect, tenant_id);
    let (kind, returns_rows) = match &mut statement {
        Statement::Query(query) => (
            StatementKind::Select,
            run(query.as_mut(), &mut rw).map(|()| true)?,
        ),
        Statement::Insert(insert) => (StatementKind::Insert, rw.insert(insert)?),
        Statement::Update(update) => (StatementKind::Update, rw.update(update)?),
        Statement::Delete(delete) => (StatementKind::Delete, rw.delete(delete)?),
        other => {
            let text = other.to_string();
            let name = text.split_whitespace().next().unwrap_or("this");
            return Err(refused(format!("{name} statements are not allowed")));
        }
    };
    let sql = emit::emit(statement, dialect)?;
    Ok(GuardedStatement {
        sql,
        kind,
        parameter_count,
        returns_rows,
    })
}

fn is_dml_start(word: &str) -> bool {
    let word = word.to_ascii_uppercase();
    ["SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "VALUES"].contains(&word.as_str())
}

/// The parts of a name, when every part is a plain identifier (shared by the name checks).
fn idents(name: &ObjectName) -> Option<Vec<&Ident>> {
    name.0.iter().map(ObjectNamePart::as_ident).collect()
}
