//! The SQL guard of `sdk.db`: a script sends one statement; it is parsed, refused when unsafe and
//! rewritten so that it can only see and touch the current tenant's rows. Pure, no I/O.
//!
//! Safety rests on re-emission: the SQL that runs is printed from the checked syntax tree (the
//! comments and original spelling are gone), quoted names and literals are normalised to one
//! quoting style, and the printed text must parse back to exactly the tree that was checked.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Delete, DollarQuotedString, Expr, FromTable, Ident, Insert,
    ObjectName, ObjectNamePart, Query, Select, SelectFlavor, SetExpr, Statement, TableAlias,
    TableFactor, TableObject, TableWithJoins, UnaryOperator, Update, UpdateTableFromKind, Value,
    ValueWithSpan, VisitMut, VisitorMut,
};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::{ALL_KEYWORDS, Keyword};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

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

/// `code` is "UNAUTHORIZED_OPERATION" (refused by policy) or "INVALID_SQL".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SqlGuardError {
    pub code: &'static str,
    pub message: String,
}

type Res<T = ()> = Result<T, SqlGuardError>;

/// Highest placeholder index accepted (SQLite's default limit of bound parameters).
const MAX_PARAMETERS: usize = 32_766;
/// Functions refused anywhere: by prefix, by name (`_to_xml` anywhere in the name: they run SQL).
const FORBIDDEN_PREFIXES: [&str; 4] = ["pg_", "lo_", "dblink", "sqlite_"];
const FORBIDDEN_FUNCTIONS: &str = "current_setting set_config version load_extension readfile \
    writefile edit fts3_tokenizer inet_server_addr inet_server_port inet_client_addr \
    inet_client_port current_database current_catalog current_schema current_schemas txid_current \
    xmlparse copy system exec eval define ts_stat ts_rewrite setval";
/// PostgreSQL functions callable without parentheses that reveal server details.
const PG_NILADIC: &str =
    "current_catalog current_schema current_user current_role session_user user system_user";
const UNSAFE_EMIT: &str = "the statement uses syntax that cannot be re-emitted safely";

fn error(code: &'static str, message: impl Into<String>) -> SqlGuardError {
    SqlGuardError {
        code,
        message: message.into(),
    }
}

fn refused(message: impl Into<String>) -> SqlGuardError {
    error("UNAUTHORIZED_OPERATION", message)
}

fn invalid(message: impl Into<String>) -> SqlGuardError {
    error("INVALID_SQL", message)
}

/// `deny! { condition => "construct", … }` refuses the first construct that is present.
macro_rules! deny {
    ($($present:expr => $what:expr),+ $(,)?) => {
        $(if $present { return Err(refused(format!("{} is not allowed", $what))); })+
    };
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
        number_placeholders(tokens.map_err(|e| invalid(e.to_string()))?)?;
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
    let mut rw = Rewriter {
        policy,
        dialect,
        tenant: tenant_id,
        scopes: vec![],
        relation_ok: false,
    };
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
    let sql = emit(statement, dialect)?;
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

/// Turns every placeholder into `$n`: `$n`/`?n` keep n, a bare `?` takes the highest index seen
/// so far plus one. Named placeholders (`:x`, `@x`) reach the parser and are refused in `emit`.
fn number_placeholders(tokens: Vec<TokenWithSpan>) -> Res<(Vec<TokenWithSpan>, usize)> {
    let (mut out, mut highest) = (Vec::with_capacity(tokens.len()), 0);
    let mut tokens = tokens.into_iter().peekable();
    while let Some(mut t) = tokens.next() {
        let explicit = match &t.token {
            Token::Placeholder(p) if p == "?" => None,
            Token::Placeholder(p) => Some(parse_index(p.get(1..).unwrap_or_default(), p)?),
            // PostgreSQL reads `?` as an operator, and `?3` as `?` followed by a number.
            Token::Question => match tokens.next_if(|n| matches!(&n.token, Token::Number(..))) {
                Some(TokenWithSpan {
                    token: Token::Number(n, _),
                    ..
                }) => Some(parse_index(&n, &n)?),
                _ => None,
            },
            _ => {
                out.push(t);
                continue;
            }
        };
        let index = explicit.unwrap_or(highest + 1);
        if index > MAX_PARAMETERS {
            return Err(invalid(format!(
                "at most {MAX_PARAMETERS} parameters are supported"
            )));
        }
        highest = highest.max(index);
        t.token = Token::Placeholder(format!("${index}"));
        out.push(t);
    }
    Ok((out, highest))
}

fn parse_index(digits: &str, placeholder: &str) -> Res<usize> {
    match digits.parse::<usize>() {
        Ok(n) if n >= 1 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(bad_placeholder(placeholder)),
    }
}

fn bad_placeholder(placeholder: &str) -> SqlGuardError {
    invalid(format!(
        "unsupported placeholder `{placeholder}`: use $1, $2, … or ?"
    ))
}

/// A name from the policy, quoted unless it reads back as itself unquoted.
fn policy_ident(name: &str) -> Ident {
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    let keyword = ALL_KEYWORDS.contains(&name.to_ascii_uppercase().as_str());
    let simple =
        !keyword && name.chars().all(plain) && name.starts_with(|c: char| !c.is_ascii_digit());
    if simple && !name.is_empty() {
        Ident::new(name)
    } else {
        Ident::with_quote('"', name)
    }
}

fn is_catalog(folded: &str) -> bool {
    folded.starts_with("pg_") || folded.starts_with("sqlite_")
}

fn idents(name: &ObjectName) -> Option<Vec<&Ident>> {
    name.0.iter().map(ObjectNamePart::as_ident).collect()
}

fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}

fn addr(query: &Query) -> usize {
    std::ptr::from_ref(query).addr()
}

/// The WITH clause of one query being walked: its CTE names (folded as the database folds them)
/// and, while a CTE body is walked, which one (a non-recursive body sees only earlier CTEs).
struct Scope {
    names: Vec<String>,
    bodies: Vec<usize>,
    recursive: bool,
    active: Option<usize>,
    body_of_parent: bool,
}

/// Walks a statement part: checks every query, table reference and function call, and turns
/// every table read into a tenant-filtered derived table.
struct Rewriter<'a> {
    policy: &'a SqlPolicy,
    dialect: SqlDialectKind,
    tenant: &'a str,
    scopes: Vec<Scope>,
    /// Set for the name of a checked `TableFactor::Table`; any other relation is refused.
    relation_ok: bool,
}

enum Resolved {
    Cte,
    Table(String),
}

impl Rewriter<'_> {
    fn cte_key(&self, ident: &Ident) -> String {
        match (self.dialect, ident.quote_style) {
            (SqlDialectKind::Postgres, Some(_)) => ident.value.clone(),
            _ => ident.value.to_ascii_lowercase(),
        }
    }

    fn resolve(&self, name: &ObjectName, allow_cte: bool) -> Res<Resolved> {
        let unavailable = || refused(format!("table `{name}` is not available"));
        let (schema, table) = match idents(name).as_deref() {
            Some([table]) => (None, table.value.to_ascii_lowercase()),
            Some([schema, table]) => (
                Some(schema.value.to_ascii_lowercase()),
                table.value.to_ascii_lowercase(),
            ),
            _ => return Err(unavailable()),
        };
        if let Some(s) = &schema
            && s != self.dialect.default_schema()
        {
            return Err(refused(format!("schema `{s}` is not available")));
        }
        if is_catalog(&table) {
            return Err(refused(format!("system catalog `{name}` is not available")));
        }
        let key = name
            .0
            .last()
            .and_then(ObjectNamePart::as_ident)
            .map(|t| self.cte_key(t));
        let visible = |s: &Scope| match s.active {
            Some(k) if !s.recursive => s.names.iter().take(k).any(|n| Some(n) == key.as_ref()),
            _ => s.names.iter().any(|n| Some(n) == key.as_ref()),
        };
        if allow_cte && schema.is_none() && self.scopes.iter().any(visible) {
            Ok(Resolved::Cte)
        } else if self.policy.tables.contains(&table) {
            Ok(Resolved::Table(table))
        } else {
            Err(unavailable())
        }
    }

    fn tenant_literal(&self) -> Expr {
        Expr::Value(Value::SingleQuotedString(self.tenant.to_owned()).into())
    }

    /// Whether a written column may be the tenant column (any part of its name matches).
    fn is_tenant_column(&self, column: &ObjectName) -> bool {
        let tenant = |c: &ObjectNamePart| {
            c.as_ident()
                .is_none_or(|c| c.value.eq_ignore_ascii_case(&self.policy.tenant_column))
        };
        column.0.iter().any(tenant)
    }

    /// `(SELECT * FROM <table> WHERE <tenant column> = '<tenant>')`, parsed from generated text.
    fn filtered(&self, table: &str) -> Res<Query> {
        let (table, column) = (
            policy_ident(table),
            policy_ident(&self.policy.tenant_column),
        );
        let sql = format!("SELECT * FROM {table} WHERE {column} = '{}'", self.tenant);
        match Parser::parse_sql(&*self.dialect.parser(), &sql).map(|mut s| s.pop()) {
            Ok(Some(Statement::Query(query))) => Ok(*query),
            _ => Err(invalid(format!(
                "cannot build the tenant filter for {table}"
            ))),
        }
    }

    /// Checks an UPDATE/DELETE target, names it canonically and returns how WHERE refers to it.
    fn dml_target(&self, target: &mut TableWithJoins, others: &[TableWithJoins]) -> Res<Ident> {
        check_table_syntax(&target.relation)?;
        let TableFactor::Table { name, alias, .. } = &mut target.relation else {
            return Err(refused("the target of UPDATE/DELETE must be a table"));
        };
        deny! {
            !target.joins.is_empty() => "a join in the UPDATE/DELETE target",
            alias.as_ref().is_some_and(|a| !a.columns.is_empty()) => "a column alias on the target",
        }
        let Resolved::Table(table) = self.resolve(name, false)? else {
            return Err(refused("the target of UPDATE/DELETE must be a table"));
        };
        *name = ObjectName::from(vec![policy_ident(&table)]);
        let qualifier = alias
            .as_ref()
            .map_or_else(|| policy_ident(&table), |a| a.name.clone());
        let mut exposed = vec![];
        others.iter().for_each(|t| exposed_names(t, &mut exposed));
        if exposed
            .iter()
            .any(|n| n.value.eq_ignore_ascii_case(&qualifier.value))
        {
            return Err(refused(format!(
                "`{qualifier}` names two tables; give one an alias"
            )));
        }
        Ok(qualifier)
    }

    /// `(<selection>) AND <qualifier>.<tenant column> = '<tenant>'`.
    fn scoped_where(&self, selection: Option<Expr>, qualifier: Ident) -> Expr {
        let column =
            Expr::CompoundIdentifier(vec![qualifier, policy_ident(&self.policy.tenant_column)]);
        let condition = binary(column, BinaryOperator::Eq, self.tenant_literal());
        match selection {
            Some(e) => binary(Expr::Nested(Box::new(e)), BinaryOperator::And, condition),
            None => condition,
        }
    }

    fn insert(&mut self, ins: &mut Insert) -> Res<bool> {
        deny! {
            ins.or.is_some() || ins.replace_into || ins.ignore => "INSERT OR …/REPLACE",
            ins.on.is_some() => "ON CONFLICT (upsert)",
            !ins.assignments.is_empty() => "INSERT … SET",
            !ins.optimizer_hints.is_empty() || ins.overwrite || ins.partitioned.is_some()
                || !ins.after_columns.is_empty() || ins.has_table_keyword || ins.output.is_some()
                || ins.priority.is_some() || ins.insert_alias.is_some() || ins.settings.is_some()
                || ins.format_clause.is_some() || ins.multi_table_insert_type.is_some()
                || !ins.multi_table_into_clauses.is_empty()
                || !ins.multi_table_when_clauses.is_empty()
                || ins.multi_table_else_clause.is_some() => "this INSERT syntax",
        }
        let TableObject::TableName(name) = &ins.table else {
            return Err(refused("INSERT into a table function is not allowed"));
        };
        let Resolved::Table(table) = self.resolve(name, false)? else {
            return Err(refused("the target of INSERT must be a table"));
        };
        ins.table = TableObject::TableName(ObjectName::from(vec![policy_ident(&table)]));
        if ins.columns.is_empty() {
            return Err(invalid("INSERT needs an explicit column list"));
        }
        if ins.columns.iter().any(|c| self.is_tenant_column(c)) {
            return Err(refused(
                "the tenant column is filled in automatically and cannot be set",
            ));
        }
        let Some(source) = ins.source.as_deref_mut() else {
            return Err(invalid("INSERT needs a VALUES list"));
        };
        let SetExpr::Values(values) = source.body.as_mut() else {
            return Err(refused("INSERT … SELECT is not allowed; use VALUES"));
        };
        deny! {
            source.with.is_some() || source.order_by.is_some() || source.limit_clause.is_some()
                || source.fetch.is_some() || !source.locks.is_empty() || source.for_clause.is_some()
                || source.settings.is_some() || source.format_clause.is_some()
                || !source.pipe_operators.is_empty() => "this INSERT syntax",
        }
        for row in &mut values.rows {
            if row.content.len() != ins.columns.len() {
                return Err(invalid("every VALUES row needs one value per column"));
            }
            run(&mut row.content, self)?;
            row.content.push(self.tenant_literal());
        }
        ins.columns
            .push(policy_ident(&self.policy.tenant_column).into());
        run(&mut ins.returning, self)?;
        Ok(ins.returning.is_some())
    }

    fn update(&mut self, up: &mut Update) -> Res<bool> {
        let tenant_set = up.assignments.iter().any(|a| match &a.target {
            AssignmentTarget::ColumnName(c) => self.is_tenant_column(c),
            AssignmentTarget::Tuple(cs) => cs.iter().any(|c| self.is_tenant_column(c)),
        });
        deny! {
            up.or.is_some() => "UPDATE OR …",
            !up.optimizer_hints.is_empty() || up.output.is_some() || !up.order_by.is_empty()
                || up.limit.is_some() => "this UPDATE syntax",
            matches!(up.from, Some(UpdateTableFromKind::BeforeSet(_))) => "UPDATE FROM … SET",
            tenant_set => "changing the tenant column",
        }
        let mut no_from = vec![];
        let from = match &mut up.from {
            Some(UpdateTableFromKind::AfterSet(f) | UpdateTableFromKind::BeforeSet(f)) => f,
            None => &mut no_from,
        };
        let qualifier = self.dml_target(&mut up.table, from)?;
        run(from, self)?;
        run(&mut up.assignments, self)?;
        run(&mut up.selection, self)?;
        run(&mut up.returning, self)?;
        up.selection = Some(self.scoped_where(up.selection.take(), qualifier));
        Ok(up.returning.is_some())
    }

    fn delete(&mut self, del: &mut Delete) -> Res<bool> {
        deny! {
            !del.tables.is_empty() => "multi-table DELETE",
            !del.optimizer_hints.is_empty() || del.output.is_some() || !del.order_by.is_empty()
                || del.limit.is_some() => "this DELETE syntax",
        }
        let (FromTable::WithFromKeyword(targets) | FromTable::WithoutKeyword(targets)) =
            &mut del.from;
        let [target] = targets.as_mut_slice() else {
            return Err(refused("DELETE from several tables is not allowed"));
        };
        let using = del.using.get_or_insert_with(Vec::new);
        let qualifier = self.dml_target(target, using)?;
        run(using, self)?;
        if using.is_empty() {
            del.using = None;
        }
        run(&mut del.selection, self)?;
        run(&mut del.returning, self)?;
        del.selection = Some(self.scoped_where(del.selection.take(), qualifier));
        Ok(del.returning.is_some())
    }

    fn check_function(&self, name: &ObjectName, called: bool) -> Res {
        let function = match idents(name).as_deref() {
            Some([f]) => f.value.to_ascii_lowercase(),
            Some([s, f]) if s.value.eq_ignore_ascii_case(self.dialect.default_schema()) => {
                f.value.to_ascii_lowercase()
            }
            _ => return Err(refused(format!("function `{name}` is not allowed"))),
        };
        let named = |list: &str| list.split_whitespace().any(|f| f == function);
        let niladic = self.dialect == SqlDialectKind::Postgres && named(PG_NILADIC);
        deny! {
            niladic || (called && named(FORBIDDEN_FUNCTIONS)) => format!("`{function}`"),
            called && FORBIDDEN_PREFIXES.iter().any(|p| function.starts_with(p)) => format!("`{function}`"),
            called && function.contains("_to_xml") => format!("`{function}`"),
        }
        Ok(())
    }

    fn check_query(&mut self, query: &Query) -> Res {
        deny! {
            !query.locks.is_empty() => "FOR UPDATE/FOR SHARE",
            query.for_clause.is_some() || query.settings.is_some() || query.format_clause.is_some()
                || !query.pipe_operators.is_empty() => "this query syntax",
        }
        check_body(&query.body)?;
        let here = addr(query);
        let parent = self.scopes.last_mut();
        let body_of_parent = parent.is_some_and(|p| {
            p.active = p.bodies.iter().position(|b| *b == here);
            p.active.is_some()
        });
        let (recursive, ctes) = query
            .with
            .as_ref()
            .map_or((false, &[][..]), |w| (w.recursive, w.cte_tables.as_slice()));
        let mut scope = Scope {
            names: vec![],
            bodies: vec![],
            recursive,
            active: None,
            body_of_parent,
        };
        for cte in ctes {
            let folded = cte.alias.name.value.to_ascii_lowercase();
            deny! {
                self.policy.tables.contains(&folded) || is_catalog(&folded) => format!("the CTE name `{folded}`"),
                cte.from.is_some() => "CTE … FROM",
            }
            scope.names.push(self.cte_key(&cte.alias.name));
            scope.bodies.push(addr(&cte.query));
        }
        self.scopes.push(scope);
        Ok(())
    }

    fn check_table_factor(&mut self, factor: &TableFactor) -> Res {
        match factor {
            TableFactor::Table { name, .. } => {
                check_table_syntax(factor)?;
                self.resolve(name, true)?;
                self.relation_ok = true;
            }
            TableFactor::Derived { sample, .. } => deny! { sample.is_some() => "TABLESAMPLE" },
            TableFactor::NestedJoin { .. } => {}
            other => return Err(refused(format!("`{other}` is not allowed as a table"))),
        }
        Ok(())
    }

    /// Replaces a checked table read by `(SELECT * FROM t WHERE tenant = '…') AS <alias or name>`.
    fn scope_table_factor(&self, factor: &mut TableFactor) -> Res {
        let TableFactor::Table { name, alias, .. } = factor else {
            return Ok(());
        };
        let Resolved::Table(table) = self.resolve(name, true)? else {
            return Ok(());
        };
        let name = name.0.last().and_then(ObjectNamePart::as_ident).cloned();
        let name = name.ok_or_else(|| invalid("a table needs a name"))?;
        let default = TableAlias {
            explicit: true,
            name,
            columns: vec![],
            at: None,
        };
        let alias = Some(TableAlias {
            explicit: true,
            ..alias.take().unwrap_or(default)
        });
        let subquery = Box::new(self.filtered(&table)?);
        *factor = TableFactor::Derived {
            lateral: false,
            subquery,
            alias,
            sample: None,
        };
        Ok(())
    }
}

/// Refuses table functions and dialect extras on a plain table reference.
fn check_table_syntax(factor: &TableFactor) -> Res {
    // Every field is named, so that a new one in `sqlparser` shows up here.
    let TableFactor::Table {
        name: _,
        alias,
        args,
        with_hints,
        version,
        with_ordinality,
        partitions,
        json_path,
        sample,
        index_hints,
    } = factor
    else {
        return Ok(());
    };
    deny! {
        args.is_some() => "a table-valued function",
        sample.is_some() => "TABLESAMPLE",
        !with_hints.is_empty() || version.is_some() || *with_ordinality || !partitions.is_empty()
            || json_path.is_some() || !index_hints.is_empty()
            || alias.as_ref().is_some_and(|a| a.at.is_some()) => "this table syntax",
    }
    Ok(())
}

fn check_body(body: &SetExpr) -> Res {
    match body {
        SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::Values(_) => Ok(()),
        SetExpr::SetOperation { left, right, .. } => {
            check_body(left).and_then(|()| check_body(right))
        }
        SetExpr::Table(_) => Err(refused("the TABLE shorthand is not allowed")),
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => Err(
            refused("data-modifying statements inside a query are not allowed"),
        ),
    }
}

fn check_select(s: &Select) -> Res {
    deny! {
        s.into.is_some() => "SELECT … INTO",
        !s.optimizer_hints.is_empty() || s.select_modifiers.is_some() || s.top.is_some()
            || s.exclude.is_some() || !s.lateral_views.is_empty() || s.prewhere.is_some()
            || !s.connect_by.is_empty() || !s.cluster_by.is_empty() || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty() || s.qualify.is_some() || s.value_table_mode.is_some()
            || s.flavor != SelectFlavor::Standard => "this SELECT syntax",
    }
    Ok(())
}

/// Names under which a FROM/USING list exposes its tables.
fn exposed_names(t: &TableWithJoins, out: &mut Vec<Ident>) {
    for factor in std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)) {
        match factor {
            TableFactor::Table { alias: Some(a), .. }
            | TableFactor::Derived { alias: Some(a), .. }
            | TableFactor::NestedJoin { alias: Some(a), .. } => out.push(a.name.clone()),
            TableFactor::Table { name, .. } => {
                out.extend(name.0.last().and_then(ObjectNamePart::as_ident).cloned())
            }
            TableFactor::NestedJoin {
                table_with_joins: inner,
                ..
            } => exposed_names(inner, out),
            _ => {}
        }
    }
}

impl VisitorMut for Rewriter<'_> {
    type Break = SqlGuardError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<SqlGuardError> {
        flow(self.check_query(query))
    }

    fn post_visit_query(&mut self, _: &mut Query) -> ControlFlow<SqlGuardError> {
        if self.scopes.pop().is_some_and(|s| s.body_of_parent) {
            self.scopes
                .last_mut()
                .into_iter()
                .for_each(|p| p.active = None);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<SqlGuardError> {
        flow(check_select(select))
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<SqlGuardError> {
        flow(self.check_table_factor(factor))
    }

    fn pre_visit_relation(&mut self, _: &mut ObjectName) -> ControlFlow<SqlGuardError> {
        let checked = std::mem::take(&mut self.relation_ok);
        flow(if checked {
            Ok(())
        } else {
            Err(refused("a table reference here is not allowed"))
        })
    }

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<SqlGuardError> {
        flow(self.scope_table_factor(factor))
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlGuardError> {
        flow(match expr {
            Expr::Function(f) => self.check_function(&f.name, true),
            Expr::Identifier(i) if i.quote_style.is_none() => {
                self.check_function(&i.clone().into(), false)
            }
            _ => Ok(()),
        })
    }

    fn pre_visit_statement(&mut self, _: &mut Statement) -> ControlFlow<SqlGuardError> {
        ControlFlow::Break(refused("nested statements are not allowed"))
    }
}

/// Normalises quoting, literals and placeholders so that the printed SQL reads back unambiguously.
struct Normalizer(SqlDialectKind);

impl VisitorMut for Normalizer {
    type Break = SqlGuardError;

    fn pre_visit_ident(&mut self, ident: &mut Ident) -> ControlFlow<SqlGuardError> {
        ident.quote_style = ident.quote_style.map(|_| '"');
        ControlFlow::Continue(())
    }

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<SqlGuardError> {
        let replacement = match &value.value {
            // All strings become '…'; in PostgreSQL E'…' when they hold a backslash, which then
            // reads the same whatever `standard_conforming_strings` says.
            Value::SingleQuotedString(s)
            | Value::NationalStringLiteral(s)
            | Value::EscapedStringLiteral(s)
            | Value::UnicodeStringLiteral(s)
            | Value::DollarQuotedString(DollarQuotedString { value: s, .. }) => {
                if self.0 == SqlDialectKind::Postgres && s.contains('\\') {
                    Value::EscapedStringLiteral(s.clone())
                } else {
                    Value::SingleQuotedString(s.clone())
                }
            }
            Value::Placeholder(p) => match p.strip_prefix('$').map(|n| parse_index(n, p)) {
                Some(Ok(n)) if self.0 == SqlDialectKind::Sqlite => {
                    Value::Placeholder(format!("?{n}"))
                }
                Some(Ok(_)) => return ControlFlow::Continue(()),
                _ => return ControlFlow::Break(bad_placeholder(p)),
            },
            Value::Number(..) | Value::Boolean(_) | Value::Null => return ControlFlow::Continue(()),
            Value::HexStringLiteral(h) if h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                return ControlFlow::Continue(());
            }
            Value::SingleQuotedByteStringLiteral(b) if b.bytes().all(|b| b"01".contains(&b)) => {
                return ControlFlow::Continue(());
            }
            other => return ControlFlow::Break(invalid(format!("unsupported literal `{other}`"))),
        };
        value.value = replacement;
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlGuardError> {
        // `- -1` would print as `--1`, which starts a comment.
        if let Expr::UnaryOp { op, expr: inner } = expr
            && *op != UnaryOperator::Not
            && matches!(**inner, Expr::UnaryOp { .. })
        {
            let operand = std::mem::replace(&mut **inner, Expr::Value(Value::Null.into()));
            **inner = Expr::Nested(Box::new(operand));
        }
        ControlFlow::Continue(())
    }
}

/// Prints the statement and checks that the text holds no comment and parses back to it.
fn emit(mut statement: Statement, dialect: SqlDialectKind) -> Res<String> {
    run(&mut statement, &mut Normalizer(dialect))?;
    let sql = statement.to_string();
    let parser_dialect = dialect.parser();
    let tokens = Tokenizer::new(&*parser_dialect, &sql)
        .tokenize()
        .map_err(|_| invalid(UNSAFE_EMIT))?;
    let comment = |t: &Token| match t {
        Token::Whitespace(w) => matches!(
            w,
            Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)
        ),
        _ => false,
    };
    if tokens.iter().any(comment) {
        return Err(invalid(UNSAFE_EMIT));
    }
    match Parser::new(&*parser_dialect)
        .with_tokens(tokens)
        .parse_statements()
    {
        Ok(reparsed) if reparsed == [statement] => Ok(sql),
        _ => Err(invalid(UNSAFE_EMIT)),
    }
}
