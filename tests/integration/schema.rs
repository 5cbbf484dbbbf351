//! `schema.graphql` must be exactly the served schema.

#[test]
fn schema_file_is_up_to_date() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql"))
            .expect("schema.graphql at the repository root");
    let served = api::graphql::sdl();
    assert!(
        committed == served,
        "schema.graphql is stale; regenerate it with `cargo run -- print-schema > schema.graphql`"
    );
}
