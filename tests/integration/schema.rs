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

/// The description of `field` in the block of `type_name` of an SDL.
fn description(sdl: &str, type_name: &str, field: &str) -> String {
    let start = sdl
        .find(&format!("\ninput {type_name} {{"))
        .unwrap_or_else(|| panic!("no input {type_name}"));
    let block = &sdl[start..start + sdl[start..].find("\n}").expect("a closed block")];
    let at = block
        .find(&format!("\t{field}: "))
        .unwrap_or_else(|| panic!("no {type_name}.{field}"));
    let before = &block[..at];
    let open = before
        .trim_end()
        .strip_suffix("\"\"\"")
        .and_then(|b| b.rfind("\"\"\"").map(|i| &b[i + 3..]))
        .unwrap_or_else(|| panic!("{type_name}.{field} has no description"));
    open.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn descriptions_state_the_limits_clients_meet() {
    let sdl = api::graphql::sdl();
    for (type_name, field, says) in [
        ("StartContributionInput", "idempotencyKey", "8 to 200"),
        ("CreateProposalInput", "closesAt", "minimum voting period"),
        ("CreateProposalInput", "quorumPercent", "never a lower one"),
        ("SubmitExpenseInput", "closesAt", "minimum voting period"),
        ("SetSlidingScaleInput", "maximum", "1 to 1000000000"),
        ("NameFormationInput", "name", "3 to 80 characters"),
        ("SignUpInput", "password", "10 to 256 characters"),
        ("ConfigureAppInput", "settings", "16384 bytes"),
        ("CreateWebhookEndpointInput", "url", "2048 characters"),
    ] {
        let description = description(&sdl, type_name, field);
        assert!(
            description.contains(says),
            "{type_name}.{field} should say `{says}`: {description:?}"
        );
    }
}

#[test]
fn custom_scalars_name_their_specification() {
    let sdl = api::graphql::sdl();
    for scalar in [
        "scalar DateTime @specifiedBy(url: \"https://datatracker.ietf.org/doc/html/rfc3339\")",
        "scalar JSON @specifiedBy(url: \"https://www.rfc-editor.org/rfc/rfc8259\")",
    ] {
        assert!(sdl.contains(scalar), "the SDL lacks `{scalar}`");
    }
}
