//! Placeholder numbering before parsing, and the last gate after rewriting: the statement is
//! normalised, printed, and accepted only when the text holds no comment and parses back to it.

use std::ops::ControlFlow;

use sqlparser::ast::{
    DollarQuotedString, Expr, Ident, Statement, UnaryOperator, Value, ValueWithSpan, VisitorMut,
};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use super::{Res, SqlDialectKind, SqlGuardError, invalid, run};

/// Highest placeholder index accepted (SQLite's default limit of bound parameters).
const MAX_PARAMETERS: usize = 32_766;
const UNSAFE_EMIT: &str = "the statement uses syntax that cannot be re-emitted safely";

/// Turns every placeholder into `$n`: `$n`/`?n` keep n, a bare `?` takes the highest index seen
/// so far plus one. Named placeholders (`:x`, `@x`) reach the parser and are refused in `emit`.
pub(super) fn number_placeholders(tokens: Vec<TokenWithSpan>) -> Res<(Vec<TokenWithSpan>, usize)> {
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
pub(super) fn emit(mut statement: Statement, dialect: SqlDialectKind) -> Res<String> {
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
