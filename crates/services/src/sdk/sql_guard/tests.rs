//! Table-driven tests of the SQL guard: what is refused, and the exact shape of the rewrites.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const T: &str = "0b7e9a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
const PG: SqlDialectKind = SqlDialectKind::Postgres;
const LITE: SqlDialectKind = SqlDialectKind::Sqlite;
const BOTH: [SqlDialectKind; 2] = [PG, LITE];
const NO: &str = "UNAUTHORIZED_OPERATION";
const BAD: &str = "INVALID_SQL";

fn policy() -> SqlPolicy {
    SqlPolicy::new(["orders", "Customers"])
}

fn ok(sql: &str, dialect: SqlDialectKind) -> GuardedStatement {
    guard(sql, dialect, &policy(), T).unwrap_or_else(|e| panic!("{sql} ({dialect:?}): {e:?}"))
}

fn err(sql: &str, dialect: SqlDialectKind) -> SqlGuardError {
    match guard(sql, dialect, &policy(), T) {
        Ok(g) => panic!("{sql} ({dialect:?}) was accepted as {}", g.sql),
        Err(e) => e,
    }
}

/// The derived table that replaces a read of `table`: `(SELECT * … tenant_id = '<T>') AS <alias>`.
fn f(table: &str, alias: &str) -> String {
    format!("(SELECT * FROM {table} WHERE tenant_id = '{T}') AS {alias}")
}

#[test]
fn selects_read_only_the_tenants_rows() {
    let (o, c) = (f("orders", "orders"), f("customers", "customers"));
    let cases: Vec<(&str, String)> = vec![
        ("SELECT * FROM orders", format!("SELECT * FROM {o}")),
        (
            "select id from orders o where o.total > 10;",
            format!("SELECT id FROM {} WHERE o.total > 10", f("orders", "o")),
        ),
        (
            r#"SELECT "Orders".id FROM "Orders""#,
            format!(r#"SELECT "Orders".id FROM {}"#, f("orders", r#""Orders""#)),
        ),
        (
            "SELECT o.id FROM orders AS o JOIN customers c ON c.id = o.customer_id",
            format!(
                "SELECT o.id FROM {} JOIN {} ON c.id = o.customer_id",
                f("orders", "o"),
                f("customers", "c")
            ),
        ),
        (
            "SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE vip)",
            format!("SELECT id FROM {o} WHERE customer_id IN (SELECT id FROM {c} WHERE vip)"),
        ),
        (
            "WITH big AS (SELECT * FROM orders WHERE total > 100) SELECT count(*) FROM big",
            format!("WITH big AS (SELECT * FROM {o} WHERE total > 100) SELECT count(*) FROM big"),
        ),
        (
            "SELECT id FROM orders UNION SELECT id FROM customers",
            format!("SELECT id FROM {o} UNION SELECT id FROM {c}"),
        ),
        (
            "SELECT * FROM (SELECT id FROM orders) AS x",
            format!("SELECT * FROM (SELECT id FROM {o}) AS x"),
        ),
        (
            "SELECT * FROM (orders NATURAL JOIN customers)",
            format!("SELECT * FROM ({o} NATURAL JOIN {c})"),
        ),
        (
            "SELECT 'DROP TABLE x; --' AS s FROM orders",
            format!("SELECT 'DROP TABLE x; --' AS s FROM {o}"),
        ),
        (
            "SELECT * FROM orders -- ; DROP TABLE x",
            format!("SELECT * FROM {o}"),
        ),
        ("SELECT /* ; DROP TABLE x */ 1", "SELECT 1".to_owned()),
        ("VALUES (1, 'a')", "VALUES (1, 'a')".to_owned()),
        ("SELECT - -1", "SELECT -(-1)".to_owned()),
    ];
    for (sql, expected) in cases {
        for dialect in BOTH {
            let g = ok(sql, dialect);
            assert_eq!(g.sql, expected, "{sql} ({dialect:?})");
            assert_eq!(
                (g.kind, g.returns_rows, g.parameter_count),
                (StatementKind::Select, true, 0)
            );
        }
    }
    assert_eq!(
        ok("SELECT * FROM public.orders", PG).sql,
        format!("SELECT * FROM {o}")
    );
    let lite = ok("SELECT * FROM main.orders o WHERE id = ?", LITE);
    assert_eq!(
        (lite.sql, lite.parameter_count),
        (
            format!("SELECT * FROM {} WHERE id = ?1", f("orders", "o")),
            1
        )
    );
    // Quoting and literals are normalised so that the database reads what was checked.
    assert_eq!(
        ok("SELECT [x]]y], `a`, 'b' AS 'c' FROM orders", LITE).sql,
        format!(r#"SELECT "x]y", "a", 'b' AS "c" FROM {o}"#)
    );
    assert_eq!(
        ok("SELECT $$a'b$$, E'c\\'d', $1$ , (SELECT 1) , $1$", PG).sql,
        "SELECT 'a''b', 'c''d', ' , (SELECT 1) , '"
    ); // A backslash reads the same in PostgreSQL whatever `standard_conforming_strings` says.
    let backslash = r"SELECT 'a\', 'b' FROM orders";
    assert_eq!(
        ok(backslash, PG).sql,
        format!(r"SELECT E'a\\', 'b' FROM {o}")
    );
    assert_eq!(
        ok(backslash, LITE).sql,
        format!(r"SELECT 'a\', 'b' FROM {o}")
    );
}

#[test]
fn writes_touch_only_the_tenants_rows() {
    let cases: Vec<(SqlDialectKind, &str, String, StatementKind, bool)> = vec![
        (
            PG,
            "UPDATE orders SET total = $1 WHERE id = $2 -- OR true",
            format!("UPDATE orders SET total = $1 WHERE (id = $2) AND orders.tenant_id = '{T}'"),
            StatementKind::Update,
            false,
        ),
        (
            LITE,
            "UPDATE Orders AS o SET total = ? RETURNING id",
            format!("UPDATE orders AS o SET total = ?1 WHERE o.tenant_id = '{T}' RETURNING id"),
            StatementKind::Update,
            true,
        ),
        (
            PG,
            "UPDATE orders o SET total = c.credit FROM customers c WHERE c.id = o.customer_id OR true",
            format!(
                "UPDATE orders o SET total = c.credit FROM {} WHERE (c.id = o.customer_id OR true) AND o.tenant_id = '{T}'",
                f("customers", "c")
            ),
            StatementKind::Update,
            false,
        ),
        (
            LITE,
            "DELETE FROM orders",
            format!("DELETE FROM orders WHERE orders.tenant_id = '{T}'"),
            StatementKind::Delete,
            false,
        ),
        (
            PG,
            "DELETE FROM public.orders WHERE id = $1 RETURNING *",
            format!("DELETE FROM orders WHERE (id = $1) AND orders.tenant_id = '{T}' RETURNING *"),
            StatementKind::Delete,
            true,
        ),
        (
            PG,
            "DELETE FROM orders o USING customers c WHERE c.id = o.customer_id",
            format!(
                "DELETE FROM orders o USING {} WHERE (c.id = o.customer_id) AND o.tenant_id = '{T}'",
                f("customers", "c")
            ),
            StatementKind::Delete,
            false,
        ),
        (
            PG,
            "INSERT INTO orders (id, total) VALUES ($1, 10), (?, ?)",
            format!(
                "INSERT INTO orders (id, total, tenant_id) VALUES ($1, 10, '{T}'), ($2, $3, '{T}')"
            ),
            StatementKind::Insert,
            false,
        ),
        (
            LITE,
            "INSERT INTO \"Orders\" (id, n) VALUES (?, (SELECT max(n) FROM orders)) RETURNING id",
            format!(
                "INSERT INTO orders (id, n, tenant_id) VALUES (?1, (SELECT max(n) FROM {}), '{T}') RETURNING id",
                f("orders", "orders")
            ),
            StatementKind::Insert,
            true,
        ),
    ];
    for (dialect, sql, expected, kind, returns_rows) in cases {
        let g = ok(sql, dialect);
        assert_eq!(g.sql, expected, "{sql}");
        assert_eq!((g.kind, g.returns_rows), (kind, returns_rows), "{sql}");
    }
}

#[test]
fn unsafe_statements_are_refused_on_both_dialects() {
    let cases: &[(&str, &str, &str)] = &[
        ("SELECT 1; DROP TABLE orders", NO, "one statement per call"),
        (
            "SELECT * FROM orders; SELECT 1 --",
            NO,
            "one statement per call",
        ),
        ("SELECT * FROM users", NO, "table `users` is not available"),
        ("SELECT * FROM other.orders", NO, "schema `other`"),
        ("SELECT * FROM db.public.orders", NO, "not available"),
        ("SELECT * FROM pg_catalog.pg_tables", NO, "not available"),
        ("SELECT * FROM pg_tables", NO, "system catalog"),
        (
            "SELECT * FROM information_schema.tables",
            NO,
            "schema `information_schema`",
        ),
        ("SELECT * FROM sqlite_master", NO, "system catalog"),
        ("SELECT * FROM sqlite_schema", NO, "system catalog"),
        (
            "SELECT * FROM orders o JOIN users u ON u.id = o.user_id",
            NO,
            "`users`",
        ),
        (
            "SELECT (SELECT pw FROM users LIMIT 1) FROM orders",
            NO,
            "`users`",
        ),
        (
            "SELECT * FROM orders ORDER BY (SELECT count(*) FROM users)",
            NO,
            "`users`",
        ),
        (
            "SELECT * FROM generate_series(1, 3)",
            NO,
            "table-valued function",
        ),
        (
            "SELECT * FROM json_each('[1]')",
            NO,
            "table-valued function",
        ),
        (
            "SELECT * FROM pragma_table_info('orders')",
            NO,
            "table-valued function",
        ),
        ("DROP TABLE orders", NO, "DROP statements"),
        ("CREATE TABLE x (a INT)", NO, "CREATE statements"),
        (
            "ALTER TABLE orders ADD COLUMN x INT",
            NO,
            "ALTER statements",
        ),
        ("TRUNCATE orders", NO, "TRUNCATE statements"),
        ("PRAGMA table_info(orders)", NO, "PRAGMA statements"),
        ("PRAGMA foreign_keys = OFF", NO, "PRAGMA statements"),
        ("ATTACH DATABASE 'x.db' AS x", NO, "ATTACH statements"),
        ("DETACH DATABASE x", NO, "DETACH statements"),
        ("COPY orders TO STDOUT", NO, "COPY statements"),
        ("SET search_path = other", NO, "SET statements"),
        ("GRANT SELECT ON orders TO x", NO, "GRANT statements"),
        ("BEGIN", NO, "BEGIN statements"),
        ("EXPLAIN SELECT * FROM orders", NO, "EXPLAIN statements"),
        ("VACUUM", NO, "VACUUM statements"),
        ("CALL f()", NO, "CALL statements"),
        ("TABLE orders", NO, "TABLE"),
        ("SELECT * INTO t2 FROM orders", NO, "SELECT … INTO"),
        ("SELECT * FROM orders FOR UPDATE", NO, "FOR UPDATE"),
        (
            "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
            NO,
            "data-modifying",
        ),
        (
            "WITH orders AS (SELECT 1) SELECT * FROM orders",
            NO,
            "CTE name `orders`",
        ),
        ("UPDATE orders SET tenant_id = 'x'", NO, "tenant column"),
        (
            "UPDATE orders SET (total, TENANT_ID) = (1, 'x')",
            NO,
            "tenant column",
        ),
        ("UPDATE users SET admin = true", NO, "`users`"),
        (
            "UPDATE orders SET total = 1 FROM customers AS orders",
            NO,
            "names two tables",
        ),
        (
            "UPDATE orders SET total = (SELECT max(x) FROM users)",
            NO,
            "`users`",
        ),
        ("DELETE FROM pg_catalog.pg_authid", NO, "not available"),
        (
            "DELETE FROM orders USING users u WHERE u.id = orders.user_id",
            NO,
            "`users`",
        ),
        (
            "INSERT INTO orders (id, tenant_id) VALUES (1, 'x')",
            NO,
            "tenant column",
        ),
        (
            "INSERT INTO orders (id) SELECT id FROM customers",
            NO,
            "INSERT … SELECT",
        ),
        (
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET total = 0",
            NO,
            "ON CONFLICT",
        ),
        (
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT DO NOTHING",
            NO,
            "ON CONFLICT",
        ),
        ("INSERT INTO users (id) VALUES (1)", NO, "`users`"),
        (
            "INSERT INTO orders (id) VALUES ((SELECT max(id) FROM users))",
            NO,
            "`users`",
        ),
        ("SELECT pg_sleep(10)", NO, "`pg_sleep`"),
        (r#"SELECT "PG_SLEEP"(10)"#, NO, "`pg_sleep`"),
        (
            "SELECT * FROM orders WHERE id IN (SELECT pg_read_file('/etc/passwd'))",
            NO,
            "`pg_read_file`",
        ),
        (
            "SELECT id FROM orders WHERE EXISTS (SELECT 1 FROM customers WHERE current_setting('x') = '')",
            NO,
            "current_setting",
        ),
        (
            "SELECT * FROM orders ORDER BY lo_import('/etc/passwd')",
            NO,
            "`lo_import`",
        ),
        (
            "SELECT query_to_xml('select * from users', true, true, '')",
            NO,
            "query_to_xml",
        ),
        ("SELECT Version()", NO, "`version`"),
        ("SELECT load_extension('x')", NO, "load_extension"),
        ("SELECT sqlite_source_id()", NO, "sqlite_source_id"),
        ("SELECT dblink_exec('x')", NO, "dblink_exec"),
        ("SELECT pg_catalog.now()", NO, "pg_catalog.now"),
        ("", BAD, "empty"),
        (" ; -- nothing", BAD, "empty"),
        ("SELEC * FROM orders", BAD, ""),
        ("SELECT * FROM", BAD, ""),
        ("INSERT INTO orders VALUES (1)", BAD, "column list"),
        (
            "INSERT INTO orders (id, total) VALUES (1)",
            BAD,
            "one value per column",
        ),
        (
            "SELECT * FROM orders WHERE id = $0",
            BAD,
            "placeholder `$0`",
        ),
        (
            "SELECT * FROM orders WHERE id = :id",
            BAD,
            "placeholder `:id`",
        ),
        (
            "SELECT * FROM orders WHERE id = $id",
            BAD,
            "placeholder `$id`",
        ),
        ("SELECT * FROM orders WHERE id = $99999", BAD, "parameters"),
    ];
    for (sql, code, message) in cases {
        for dialect in BOTH {
            let e = err(sql, dialect);
            assert_eq!(
                (e.code.as_str(), e.message.contains(message)),
                (*code, true),
                "{sql} ({dialect:?}): {e:?}"
            );
        }
    }
    let dialect_specific = [
        (LITE, "REPLACE INTO orders (id) VALUES (1)", NO),
        (LITE, "INSERT OR REPLACE INTO orders (id) VALUES (1)", NO),
        (LITE, "UPDATE OR REPLACE orders SET id = 1", NO),
        (LITE, "SELECT * FROM temp.orders", NO),
        (LITE, "SELECT * FROM public.orders", NO),
        (LITE, "SELECT * FROM orders WHERE id = @id", BAD),
        (PG, "SELECT current_user", NO),
        (PG, "SELECT current_schema", NO),
        (PG, "SELECT * FROM main.orders", NO),
    ];
    for (dialect, sql, code) in dialect_specific {
        assert_eq!(err(sql, dialect).code, code, "{sql}");
    }
}

#[test]
fn ordinary_queries_pass() {
    let both = [
        "SELECT id, CAST(total AS TEXT), CASE WHEN a > 1 THEN 'x' ELSE 'y' END, COALESCE(a, b) FROM orders",
        "SELECT c.id, count(DISTINCT o.id) AS n FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.id \
         GROUP BY c.id HAVING count(*) > 1 ORDER BY n DESC LIMIT 10 OFFSET 5",
        "SELECT id, row_number() OVER (PARTITION BY customer_id ORDER BY total DESC) FROM orders",
        "SELECT * FROM orders AS o WHERE EXISTS (SELECT 1 FROM customers AS c WHERE c.id = o.customer_id)",
        "SELECT * FROM orders WHERE (a, b) IN (SELECT a, b FROM customers) AND name LIKE 'a%' AND total BETWEEN 1 AND 2",
        "SELECT * FROM orders JOIN customers USING (customer_id)",
        "SELECT x FROM (VALUES (1), (2)) AS v (x)",
        "SELECT lower(name) || '-' || upper(name), abs(-1), NOT a FROM customers",
        "SELECT orders.* FROM orders WHERE orders.id = 1",
    ];
    let pg = [
        "SELECT total::numeric(10,2), EXTRACT(YEAR FROM created_at), created_at + INTERVAL '1 day' FROM orders",
        "SELECT DISTINCT ON (customer_id) * FROM orders ORDER BY customer_id, total DESC",
        "SELECT data ->> 'a', data #>> '{a,b}', data @> '{}' FROM orders WHERE id = ANY($1)",
        "SELECT * FROM orders AS o, LATERAL (SELECT * FROM customers AS c WHERE c.id = o.customer_id) AS x",
    ];
    let lite = [
        "SELECT * FROM orders LIMIT 5, 10",
        "SELECT user, current_user FROM orders",
        "SELECT json_extract(d, '$.a'), datetime('now') FROM orders WHERE n GLOB 'a*'",
    ];
    let runs = both
        .iter()
        .map(|s| (*s, PG))
        .chain(both.iter().map(|s| (*s, LITE)));
    for (sql, dialect) in runs
        .chain(pg.iter().map(|s| (*s, PG)))
        .chain(lite.iter().map(|s| (*s, LITE)))
    {
        let g = ok(sql, dialect);
        let count = |pattern: &dyn Fn(&str) -> String| -> usize {
            ["orders", "customers"]
                .iter()
                .map(|t| g.sql.matches(&pattern(t)).count())
                .sum()
        };
        let reads = count(&|t| format!("FROM {t}"));
        let filters = count(&|t| format!("FROM {t} WHERE tenant_id = '{T}')"));
        assert_eq!(reads, filters, "{}", g.sql);
    }
}

#[test]
fn ctes_resolve_as_the_database_does() {
    // Earlier siblings and recursive references are CTEs; the bodies keep their filters.
    let g = ok(
        "WITH a AS (SELECT id FROM orders), b AS (SELECT * FROM a) SELECT * FROM b",
        PG,
    );
    let o = f("orders", "orders");
    assert_eq!(
        g.sql,
        format!("WITH a AS (SELECT id FROM {o}), b AS (SELECT * FROM a) SELECT * FROM b")
    );
    let r = "WITH RECURSIVE n (x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3) SELECT x FROM n";
    assert_eq!(ok(r, LITE).sql, r);
    let refused = [
        // A later sibling, or the CTE itself in a non-recursive body, is a real table in PostgreSQL.
        "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a",
        "WITH a AS (SELECT * FROM a) SELECT * FROM a",
        // A schema-qualified name never means a CTE.
        "WITH a AS (SELECT 1) SELECT * FROM public.a",
        // An inner CTE is out of scope after its query.
        "SELECT * FROM (WITH z AS (SELECT 1) SELECT * FROM z) AS q, z",
    ];
    for sql in refused {
        assert_eq!(err(sql, PG).code, NO, "{sql}");
    }
    // In PostgreSQL a quoted CTE name is case-sensitive, so `x` is another (real) table.
    let quoted = r#"WITH "X" AS (SELECT 1) SELECT * FROM x"#;
    assert_eq!(err(quoted, PG).code, NO);
    assert_eq!(
        ok(quoted, LITE).sql,
        r#"WITH "X" AS (SELECT 1) SELECT * FROM x"#
    );
}

#[test]
fn placeholders_are_numbered_per_dialect() {
    let cases = [
        (
            "SELECT ?, ?, ?",
            "SELECT $1, $2, $3",
            "SELECT ?1, ?2, ?3",
            3,
        ),
        (
            "SELECT $2, ?, $1, ?",
            "SELECT $2, $3, $1, $4",
            "SELECT ?2, ?3, ?1, ?4",
            4,
        ),
        ("SELECT ?3, ?", "SELECT $3, $4", "SELECT ?3, ?4", 4),
        (
            "SELECT '?', '$1', 1",
            "SELECT '?', '$1', 1",
            "SELECT '?', '$1', 1",
            0,
        ),
    ];
    for (sql, pg, lite, count) in cases {
        let (p, l) = (ok(sql, PG), ok(sql, LITE));
        assert_eq!((p.sql.as_str(), l.sql.as_str()), (pg, lite), "{sql}");
        assert_eq!(
            (p.parameter_count, l.parameter_count),
            (count, count),
            "{sql}"
        );
    }
}

#[test]
fn odd_inputs_are_rejected_without_panicking() {
    for tenant in ["x'; DROP TABLE t; --", "", "ab cd"] {
        assert_eq!(
            guard("SELECT 1", PG, &policy(), tenant).unwrap_err().code,
            BAD
        );
    }
    let deep = format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500));
    assert_eq!(err(&deep, PG).code, BAD);
    let custom = SqlPolicy {
        tables: ["order".to_owned()].into(),
        tenant_column: "Tenant".to_owned(),
    };
    let g = guard(r#"SELECT * FROM "order""#, PG, &custom, T).unwrap();
    assert_eq!(
        g.sql,
        format!(r#"SELECT * FROM (SELECT * FROM "order" WHERE "Tenant" = '{T}') AS "order""#)
    );
}
