//! The syntax the guard refuses outright, whatever the tables: forbidden functions and the
//! dialect extras of SELECT, set operations and table references. Pure checks, no rewriting.

use sqlparser::ast::{ObjectName, Select, SelectFlavor, SetExpr, TableFactor};

use super::{Res, SqlDialectKind, idents, refused};

/// Functions refused anywhere: by prefix, by name (`_to_xml` anywhere in the name: they run SQL).
const FORBIDDEN_PREFIXES: [&str; 4] = ["pg_", "lo_", "dblink", "sqlite_"];
const FORBIDDEN_FUNCTIONS: &str = "current_setting set_config version load_extension readfile \
    writefile edit fts3_tokenizer inet_server_addr inet_server_port inet_client_addr \
    inet_client_port current_database current_catalog current_schema current_schemas txid_current \
    xmlparse copy system exec eval define ts_stat ts_rewrite setval";
/// PostgreSQL functions callable without parentheses that reveal server details.
const PG_NILADIC: &str =
    "current_catalog current_schema current_user current_role session_user user system_user";

/// Refuses calls of functions that reach outside the tenant's rows or reveal server details
/// (`called` is false for a bare name, which PostgreSQL may read as a niladic function).
pub(super) fn check_function(dialect: SqlDialectKind, name: &ObjectName, called: bool) -> Res {
    let function = match idents(name).as_deref() {
        Some([f]) => f.value.to_ascii_lowercase(),
        Some([s, f]) if s.value.eq_ignore_ascii_case(dialect.default_schema()) => {
            f.value.to_ascii_lowercase()
        }
        _ => return Err(refused(format!("function `{name}` is not allowed"))),
    };
    let named = |list: &str| list.split_whitespace().any(|f| f == function);
    let niladic = dialect == SqlDialectKind::Postgres && named(PG_NILADIC);
    deny! {
        niladic || (called && named(FORBIDDEN_FUNCTIONS)) => format!("`{function}`"),
        called && FORBIDDEN_PREFIXES.iter().any(|p| function.starts_with(p)) => format!("`{function}`"),
        called && function.contains("_to_xml") => format!("`{function}`"),
    }
    Ok(())
}

/// Refuses table functions and dialect extras on a plain table reference.
pub(super) fn check_table_syntax(factor: &TableFactor) -> Res {
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

pub(super) fn check_body(body: &SetExpr) -> Res {
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

pub(super) fn check_select(s: &Select) -> Res {
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
