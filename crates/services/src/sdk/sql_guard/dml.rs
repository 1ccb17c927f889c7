//! INSERT, UPDATE and DELETE: the written table must be an allowed table, the tenant column is
//! filled in on insert and can never be set, and every UPDATE/DELETE gets the tenant condition.

use sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Delete, Expr, FromTable, Ident, Insert, ObjectName,
    ObjectNamePart, SetExpr, TableFactor, TableObject, TableWithJoins, Update, UpdateTableFromKind,
};

use super::checks::check_table_syntax;
use super::rewrite::{Resolved, Rewriter, policy_ident};
use super::{Res, invalid, refused, run};

impl Rewriter<'_> {
    /// Whether a written column may be the tenant column (any part of its name matches).
    fn is_tenant_column(&self, column: &ObjectName) -> bool {
        let tenant = |c: &ObjectNamePart| {
            c.as_ident()
                .is_none_or(|c| c.value.eq_ignore_ascii_case(&self.policy.tenant_column))
        };
        column.0.iter().any(tenant)
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

    pub(super) fn insert(&mut self, ins: &mut Insert) -> Res<bool> {
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

    pub(super) fn update(&mut self, up: &mut Update) -> Res<bool> {
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

    pub(super) fn delete(&mut self, del: &mut Delete) -> Res<bool> {
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

fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}
