//! The UI's TypeScript types are generated from the Rust IPC types (`cargo xtask codegen`)
//! and committed; this test fails when the committed file is stale. It lives with the types
//! (feature `ts`), so checking them builds no Tauri; `cargo xtask test` runs it.

use std::path::Path;

#[test]
fn ui_bindings_match_the_rust_types() {
    let want = handraise_agent::app::typescript_bindings();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings.ts");
    if std::env::var_os("HANDRAISE_WRITE_BINDINGS").is_some() {
        std::fs::write(&path, &want).expect("write ui/src/lib/bindings.ts");
    }
    let have = std::fs::read_to_string(&path).expect("read ui/src/lib/bindings.ts");
    assert!(
        have == want,
        "ui/src/lib/bindings.ts is stale: run `cargo xtask codegen` and commit the result"
    );
}
