//! The functions a script's SQL may call, per database: an allow-list, so that nothing that
//! reads connection or server state (`last_insert_rowid`, `changes`, `lastval`,
//! `current_setting`, `version`, `inet_server_addr`, `pg_*`, `sqlite_*`…) or reaches outside
//! the tenant's rows is callable, including functions a later database version adds.

use sqlparser::ast::{FunctionArguments, ObjectName};

use super::{Res, SqlDialectKind, idents, refused};

/// Functions of both databases with the same name and meaning.
const COMMON: &str = "\
    abs coalesce nullif lower upper length trim ltrim rtrim replace substr substring concat \
    concat_ws round min max sum avg count \
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value \
    nth_value \
    ceil ceiling floor sign mod power sqrt exp ln log log10 pi degrees radians sin cos tan asin \
    acos atan atan2 trunc random \
    json_object json_array";

/// SQLite: core scalar functions, math, date and time, aggregates and JSON.
const SQLITE: &str = "\
    char format glob hex ifnull iif if instr like octet_length printf quote typeof unhex unicode \
    zeroblob log2 pow \
    date time datetime julianday unixepoch strftime timediff \
    group_concat string_agg total json_group_array json_group_object jsonb_group_array \
    jsonb_group_object \
    json jsonb json_array_length json_error_position json_extract jsonb_extract json_insert \
    jsonb_insert json_patch jsonb_patch json_remove jsonb_remove json_replace jsonb_replace \
    json_set jsonb_set json_type json_valid json_quote jsonb_array jsonb_object json_pretty";

/// PostgreSQL: string, math, date and time, aggregate, JSON and array functions of `pg_catalog`.
const POSTGRES: &str = "\
    greatest least num_nulls num_nonnulls \
    initcap char_length character_length octet_length bit_length btrim lpad rpad translate \
    format left right repeat reverse strpos position split_part starts_with ascii chr to_hex md5 \
    regexp_replace regexp_match regexp_matches regexp_split_to_array regexp_like regexp_count \
    regexp_substr regexp_instr string_to_array array_to_string encode decode \
    to_char to_number to_date to_timestamp \
    cbrt div width_bucket scale trim_scale gcd lcm \
    string_agg array_agg bool_and bool_or every json_agg jsonb_agg json_object_agg \
    jsonb_object_agg stddev stddev_pop stddev_samp variance var_pop var_samp percentile_cont \
    percentile_disc mode \
    now current_date current_time current_timestamp localtime localtimestamp \
    statement_timestamp transaction_timestamp clock_timestamp date_trunc date_part extract \
    date_bin age make_date make_time make_timestamp make_timestamptz make_interval \
    justify_days justify_hours justify_interval isfinite timezone \
    to_json to_jsonb row_to_json array_to_json json_build_object jsonb_build_object \
    json_build_array jsonb_build_array jsonb_object json_array_length jsonb_array_length \
    json_extract_path jsonb_extract_path json_extract_path_text jsonb_extract_path_text \
    json_typeof jsonb_typeof jsonb_set jsonb_set_lax jsonb_insert json_strip_nulls \
    jsonb_strip_nulls jsonb_pretty jsonb_path_exists jsonb_path_match jsonb_path_query \
    jsonb_path_query_array jsonb_path_query_first json_array_elements jsonb_array_elements \
    json_array_elements_text jsonb_array_elements_text json_object_keys jsonb_object_keys \
    json_each jsonb_each json_each_text jsonb_each_text \
    array array_length cardinality array_append array_prepend array_cat array_position \
    array_positions array_remove array_replace array_lower array_upper unnest generate_series \
    gen_random_uuid row";

/// PostgreSQL functions that take no parentheses and are allowed; any other bare name that
/// PostgreSQL could read as a function (`current_user`, `session_user`…) is refused.
const POSTGRES_NILADIC_ALLOWED: &str =
    "current_date current_time current_timestamp localtime localtimestamp";

/// PostgreSQL functions callable without parentheses that reveal server details; a bare
/// identifier with one of these names is refused even though it looks like a column.
const POSTGRES_NILADIC_REFUSED: &str =
    "current_catalog current_schema current_user current_role session_user user system_user";

fn listed(list: &str, function: &str) -> bool {
    list.split_whitespace().any(|f| f == function)
}

/// Whether scripts may call `function` (lower-case, unqualified) on `dialect`.
pub(super) fn is_allowed(dialect: SqlDialectKind, function: &str) -> bool {
    listed(COMMON, function)
        || match dialect {
            SqlDialectKind::Sqlite => listed(SQLITE, function),
            SqlDialectKind::Postgres => listed(POSTGRES, function),
        }
}

fn not_allowed(function: impl std::fmt::Display) -> super::SqlGuardError {
    refused(format!(
        "function `{function}` is not allowed in sdk.db statements"
    ))
}

/// Refuses a call of a function that is not on the dialect's allow-list. Qualified names are
/// refused: an unqualified name resolves to the database's built-in function.
pub(super) fn check_call(
    dialect: SqlDialectKind,
    name: &ObjectName,
    args: &FunctionArguments,
) -> Res {
    let function = match idents(name).as_deref() {
        Some([f]) => f.value.to_ascii_lowercase(),
        _ => return Err(not_allowed(name)),
    };
    if matches!(args, FunctionArguments::None) {
        // Written without parentheses: SQLite reads such a name as a column (or as one of
        // its `CURRENT_*` keywords); PostgreSQL may read it as a niladic function.
        return match dialect {
            SqlDialectKind::Sqlite => Ok(()),
            SqlDialectKind::Postgres if listed(POSTGRES_NILADIC_ALLOWED, &function) => Ok(()),
            SqlDialectKind::Postgres => Err(not_allowed(function)),
        };
    }
    if is_allowed(dialect, &function) {
        Ok(())
    } else {
        Err(not_allowed(function))
    }
}

/// Refuses a bare, unquoted name that PostgreSQL reads as a function revealing server details.
pub(super) fn check_bare_name(dialect: SqlDialectKind, name: &str) -> Res {
    let name = name.to_ascii_lowercase();
    if dialect == SqlDialectKind::Postgres && listed(POSTGRES_NILADIC_REFUSED, &name) {
        return Err(not_allowed(name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::{SqlPolicy, guard};
    use super::*;

    const T: &str = "0b7e9a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
    const PG: SqlDialectKind = SqlDialectKind::Postgres;
    const LITE: SqlDialectKind = SqlDialectKind::Sqlite;

    fn outcome(sql: &str, dialect: SqlDialectKind) -> Result<(), String> {
        guard(sql, dialect, &SqlPolicy::new(["orders"]), T)
            .map(|_| ())
            .map_err(|e| format!("{}: {}", e.code, e.message))
    }

    #[test]
    fn connection_and_server_state_functions_are_refused() {
        // (dialects, SQL, the function named in the refusal)
        let cases: &[(&[SqlDialectKind], &str, &str)] = &[
            // The leak that broke: another tenant's last insert seen through SQLite's connection.
            (
                &[LITE, PG],
                "SELECT last_insert_rowid() AS r, total_changes() AS t",
                "last_insert_rowid",
            ),
            (&[LITE, PG], "SELECT total_changes() AS t", "total_changes"),
            (&[LITE, PG], "SELECT changes() FROM orders", "changes"),
            (&[LITE, PG], "SELECT sqlite_version()", "sqlite_version"),
            (&[LITE, PG], "SELECT sqlite_source_id()", "sqlite_source_id"),
            (&[LITE, PG], "SELECT randomblob(16)", "randomblob"),
            (&[LITE, PG], "SELECT load_extension('x')", "load_extension"),
            (
                &[LITE, PG],
                "SELECT sqlite_offset(id) FROM orders",
                "sqlite_offset",
            ),
            (
                &[LITE, PG],
                "SELECT likelihood(id = 1, 0.5) FROM orders",
                "likelihood",
            ),
            (
                &[LITE, PG],
                "SELECT id FROM orders WHERE total > pg_backend_pid()",
                "pg_backend_pid",
            ),
            (
                &[LITE, PG],
                "SELECT current_setting('iota.tenant_id')",
                "current_setting",
            ),
            (
                &[LITE, PG],
                "SELECT set_config('iota.tenant_id', 'x', true)",
                "set_config",
            ),
            (&[LITE, PG], "SELECT version()", "version"),
            (&[LITE, PG], "SELECT inet_server_addr()", "inet_server_addr"),
            (&[LITE, PG], "SELECT txid_current()", "txid_current"),
            (&[LITE, PG], "SELECT lastval()", "lastval"),
            (&[LITE, PG], "SELECT currval('orders_id_seq')", "currval"),
            (&[LITE, PG], "SELECT nextval('orders_id_seq')", "nextval"),
            (&[LITE, PG], "SELECT pg_sleep(1)", "pg_sleep"),
            (
                &[LITE, PG],
                "SELECT has_table_privilege('users', 'select')",
                "has_table_privilege",
            ),
            (&[LITE, PG], "SELECT to_regclass('users')", "to_regclass"),
            (
                &[LITE, PG],
                "SELECT query_to_xml('select 1', true, true, '')",
                "query_to_xml",
            ),
            (
                &[LITE, PG],
                "SELECT public.lower(name) FROM orders",
                "public.lower",
            ),
            (
                &[LITE, PG],
                "SELECT pg_catalog.lower(name) FROM orders",
                "pg_catalog.lower",
            ),
            (&[LITE, PG], "SELECT not_a_function(1)", "not_a_function"),
            (&[PG], "SELECT session_user", "session_user"),
            (&[PG], "SELECT current_user", "current_user"),
            (&[PG], "SELECT current_schema", "current_schema"),
            // Names of the other database are refused where they do not belong.
            (&[PG], "SELECT total(total) FROM orders", "total"),
            (&[PG], "SELECT datetime('now')", "datetime"),
            (&[LITE], "SELECT now()", "now"),
            (&[LITE], "SELECT gen_random_uuid()", "gen_random_uuid"),
        ];
        for (dialects, sql, function) in cases {
            for dialect in *dialects {
                let refusal = outcome(sql, *dialect).err().unwrap_or_default();
                assert!(
                    refusal.starts_with("UNAUTHORIZED_OPERATION")
                        && refusal.contains(&format!("`{function}`")),
                    "{sql} ({dialect:?}): {refusal:?}"
                );
            }
        }
    }

    #[test]
    fn functions_scripts_need_pass() {
        let both = [
            "SELECT lower(name), upper(name), length(name), substr(name, 1, 2), trim(name), \
             replace(name, 'a', 'b'), coalesce(name, ''), nullif(total, 0), abs(total), \
             round(total, 2) FROM orders",
            "SELECT min(total), max(total), sum(total), avg(total), count(*) FROM orders",
            "SELECT row_number() OVER (ORDER BY id), lag(total) OVER (ORDER BY id) FROM orders",
            "SELECT CURRENT_TIMESTAMP, CURRENT_DATE FROM orders",
            "SELECT SUBSTRING(name FROM 1 FOR 2), CAST(total AS TEXT) FROM orders",
        ];
        let lite = [
            "SELECT group_concat(name, ','), total(total) FROM orders",
            "SELECT date('now'), datetime(created_at), strftime('%Y', created_at), \
             julianday(created_at), unixepoch() FROM orders",
            "SELECT json_extract(data, '$.a'), json_object('a', 1), json_array(1, 2), \
             json_group_array(id) FROM orders",
            "SELECT ifnull(note, ''), iif(total > 1, 'big', 'small'), typeof(total), \
             printf('%d', total), hex(name) FROM orders",
            "SELECT user, current_user FROM orders",
        ];
        let pg = [
            "SELECT string_agg(name, ','), array_agg(id), bool_and(total > 0) FROM orders",
            "SELECT now(), date_trunc('day', created_at), EXTRACT(YEAR FROM created_at), \
             date_part('month', created_at), age(created_at) FROM orders",
            "SELECT jsonb_build_object('a', id), jsonb_agg(id), to_jsonb(name), \
             jsonb_extract_path_text(data, 'a'), jsonb_set(data, '{a}', '1') FROM orders",
            "SELECT greatest(total, 1), least(total, 2), to_char(created_at, 'YYYY'), \
             gen_random_uuid(), split_part(name, '-', 1) FROM orders",
            "SELECT LOCALTIMESTAMP, CURRENT_TIME FROM orders",
        ];
        let runs = both
            .iter()
            .flat_map(|s| [(*s, LITE), (*s, PG)])
            .chain(lite.iter().map(|s| (*s, LITE)))
            .chain(pg.iter().map(|s| (*s, PG)));
        for (sql, dialect) in runs {
            assert_eq!(outcome(sql, dialect), Ok(()), "{sql} ({dialect:?})");
        }
    }
}
