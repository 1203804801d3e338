//! Rebuilds when migrations change: `embed_migrations!` does not watch the files itself.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
