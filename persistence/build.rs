//! `embed_migrations!` reads the migration files when this crate compiles, and cargo does not
//! know that a new migration directory changes the crate: without this, adding one left the
//! previous set embedded until something else rebuilt the crate (a test run of the new
//! migration ran the old ones). Cargo watches a directory named here recursively.

fn main() {
    println!("cargo::rerun-if-changed=migrations");
}
