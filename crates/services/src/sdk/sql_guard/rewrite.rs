//! The tree walk behind the guard: every query, table reference and function call is checked,
//! CTE names are resolved by scope, and every table read becomes a tenant-filtered derived table.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, Query, Select, Statement, TableAlias, TableFactor,
    Value, VisitorMut,
};
use sqlparser::keywords::ALL_KEYWORDS;
use sqlparser::parser::Parser;

use super::checks::{check_body, check_select, check_table_syntax};
use super::functions::{check_bare_name, check_call};
use super::{Res, SqlDialectKind, SqlGuardError, SqlPolicy, flow, idents, invalid, refused};

/// A name from the policy, quoted unless it reads back as itself unquoted.
pub(super) fn policy_ident(name: &str) -> Ident {
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
pub(super) struct Rewriter<'a> {
    pub(super) policy: &'a SqlPolicy,
    dialect: SqlDialectKind,
    tenant: &'a str,
    scopes: Vec<Scope>,
    /// Set for the name of a checked `TableFactor::Table`; any other relation is refused.
    relation_ok: bool,
}

pub(super) enum Resolved {
    Cte,
    Table(String),
}

impl<'a> Rewriter<'a> {
    pub(super) fn new(policy: &'a SqlPolicy, dialect: SqlDialectKind, tenant: &'a str) -> Self {
        Self {
            policy,
            dialect,
            tenant,
            scopes: vec![],
            relation_ok: false,
        }
    }

    fn cte_key(&self, ident: &Ident) -> String {
        match (self.dialect, ident.quote_style) {
            (SqlDialectKind::Postgres, Some(_)) => ident.value.clone(),
            _ => ident.value.to_ascii_lowercase(),
        }
    }

    pub(super) fn resolve(&self, name: &ObjectName, allow_cte: bool) -> Res<Resolved> {
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

    pub(super) fn tenant_literal(&self) -> Expr {
        Expr::Value(Value::SingleQuotedString(self.tenant.to_owned()).into())
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
            Expr::Function(f) => check_call(self.dialect, &f.name, &f.args),
            Expr::Identifier(i) if i.quote_style.is_none() => {
                check_bare_name(self.dialect, &i.value)
            }
            _ => Ok(()),
        })
    }

    fn pre_visit_statement(&mut self, _: &mut Statement) -> ControlFlow<SqlGuardError> {
        ControlFlow::Break(refused("nested statements are not allowed"))
    }
}
