//! The two migration trees are copies that must stay alike: the same version directories,
//! and after running them the same tables and columns on both backends (and in schema.rs,
//! which is written by hand).

#[path = "../src/test_support.rs"]
mod test_support;

use std::collections::BTreeSet;
use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::Text;
use persistence::connection::{connect, run_migrations};
use persistence::{DatabaseUrl, DbConnection};
use test_support::TestDb;

type Columns = BTreeSet<(String, String)>;

fn versions(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .inspect(|path| {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    path.join(file).is_file(),
                    "{} has no {file}",
                    path.display()
                );
            }
        })
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Panics naming what only one side has.
fn assert_same<T: Ord + std::fmt::Debug>(
    a: &BTreeSet<T>,
    b: &BTreeSet<T>,
    a_name: &str,
    b_name: &str,
) {
    let only_a: Vec<&T> = a.difference(b).collect();
    let only_b: Vec<&T> = b.difference(a).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "only in {a_name}: {only_a:?}; only in {b_name}: {only_b:?}"
    );
}

fn tables(columns: &Columns) -> BTreeSet<String> {
    columns.iter().map(|(table, _)| table.clone()).collect()
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    tbl: String,
    #[diesel(sql_type = Text)]
    col: String,
}

fn migrated(db: &TestDb) -> DbConnection {
    let mut conn = connect(&DatabaseUrl::parse(&db.url).unwrap()).unwrap();
    run_migrations(&mut conn).unwrap();
    conn
}

fn columns_of(rows: Vec<Column>) -> Columns {
    rows.into_iter().map(|c| (c.tbl, c.col)).collect()
}

fn sqlite_columns(db: &TestDb) -> Columns {
    let DbConnection::Sqlite(mut conn) = migrated(db) else {
        unreachable!()
    };
    columns_of(
        diesel::sql_query(
            "SELECT m.name AS tbl, p.name AS col \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '__diesel_schema_migrations'",
        )
        .load(&mut conn)
        .unwrap(),
    )
}

fn postgres_columns(db: &TestDb) -> Columns {
    let DbConnection::Pg(mut conn) = migrated(db) else {
        unreachable!()
    };
    columns_of(
        diesel::sql_query(
            "SELECT table_name::text AS tbl, column_name::text AS col \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        )
        .load(&mut conn)
        .unwrap(),
    )
}

/// The tables and columns of schema.rs, read as text: `name (key) {` opens a table,
/// `column -> Type,` names a column, `}` closes it.
fn schema_rs_columns() -> Columns {
    let mut columns = Columns::new();
    let mut table: Option<&str> = None;
    for line in include_str!("../src/schema.rs").lines().map(str::trim) {
        match table {
            None => {
                if let Some((name, rest)) = line.split_once(' ')
                    && rest.starts_with('(')
                    && rest.ends_with('{')
                {
                    table = Some(name);
                }
            }
            Some(t) => {
                if line == "}" {
                    table = None;
                } else if let Some((column, _)) = line.split_once(" -> ") {
                    columns.insert((t.to_owned(), column.to_owned()));
                }
            }
        }
    }
    columns
}

#[test]
fn every_migration_exists_for_both_backends() {
    let sqlite = versions("sqlite");
    assert!(!sqlite.is_empty());
    assert_same(&sqlite, &versions("postgres"), "sqlite", "postgres");
}

#[test]
fn both_backends_migrate_to_the_same_tables_and_columns() {
    let sqlite = sqlite_columns(&TestDb::sqlite());
    let schema = schema_rs_columns();
    assert!(tables(&schema).contains("providers"), "schema.rs parsed");
    assert_same(&tables(&sqlite), &tables(&schema), "sqlite", "schema.rs");
    assert_same(&sqlite, &schema, "sqlite", "schema.rs");
    if let Some(db) = TestDb::postgres() {
        let postgres = postgres_columns(&db);
        assert_same(&tables(&sqlite), &tables(&postgres), "sqlite", "postgres");
        assert_same(&sqlite, &postgres, "sqlite", "postgres");
    }
}

/// Every column the migrations make is classified for GDPR (`persistence::personal_data`),
/// and the list names no column that does not exist.
#[test]
fn every_column_is_classified_for_gdpr() {
    let migrated = sqlite_columns(&TestDb::sqlite());
    let classified: Columns = persistence::personal_data::COLUMNS
        .iter()
        .map(|(t, c, _)| ((*t).to_owned(), (*c).to_owned()))
        .collect();
    assert_same(
        &migrated,
        &classified,
        "the migrations",
        "personal_data::COLUMNS",
    );
}
