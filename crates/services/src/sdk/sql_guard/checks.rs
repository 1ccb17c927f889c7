//! The syntax the guard refuses outright, whatever the tables: the dialect extras of SELECT,
//! set operations and table references. Pure checks, no rewriting (functions: `functions`).

use sqlparser::ast::{Select, SelectFlavor, SetExpr, TableFactor};

use super::{Res, refused};

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
