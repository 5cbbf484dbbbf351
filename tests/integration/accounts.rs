//! Sign-up, sign-in, sign-out, `me`, and what happens to tokens over time.

use chrono::Utc;
use entities::access_token;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, error_code, error_paths};

const SIGN_IN: &str =
    "mutation($i: SignInInput!) { signIn(input: $i) { token expiresAt user { email } } }";
const ME: &str = "{ me { id email displayName createdAt } }";

on_both_databases!(
    sign_up_sign_in_me_sign_out,
    email_is_unique_whatever_its_case,
    wrong_password_and_unknown_email_look_the_same,
    weak_sign_up_input_names_every_field,
    expired_token_is_refused,
    repeated_failures_are_rate_limited,
);

async fn sign_up_sign_in_me_sign_out(app: TestApp) {
    let (first, id) = app.sign_up("Ada@Example.org").await;
    let me = app.ok(Some(&first), ME, json!({})).await;
    assert_eq!(me["me"]["id"], id.as_str());
    assert_eq!(me["me"]["email"], "ada@example.org");
    assert_eq!(me["me"]["displayName"], "Ada");

    let signed_in = app
        .ok(
            None,
            SIGN_IN,
            json!({ "i": { "email": "ADA@example.org", "password": PASSWORD } }),
        )
        .await;
    let second = signed_in["signIn"]["token"].as_str().unwrap().to_owned();
    assert_ne!(first, second, "each sign-in opens its own session");
    assert_eq!(signed_in["signIn"]["user"]["email"], "ada@example.org");

    let out = app
        .ok(Some(&second), "mutation { signOut }", json!({}))
        .await;
    assert_eq!(out["signOut"], true);
    let after = app.gql(Some(&second), ME, json!({})).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");
    assert!(
        after["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    // Signing out one session leaves the others alone.
    app.ok(Some(&first), ME, json!({})).await;

    let anonymous = app.gql(None, ME, json!({})).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let garbage = app.gql(Some("pst_not-a-token"), ME, json!({})).await;
    assert_eq!(error_code(&garbage), "UNAUTHENTICATED");
}

async fn email_is_unique_whatever_its_case(app: TestApp) {
    app.sign_up("grace@example.org").await;
    let res = app
        .gql(
            None,
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "  GRACE@Example.ORG ", "password": PASSWORD, "displayName": "Grace" } }),
        )
        .await;
    assert_eq!(error_code(&res), "CONFLICT");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sign in instead")
    );
}

async fn wrong_password_and_unknown_email_look_the_same(app: TestApp) {
    app.sign_up("ada@example.org").await;
    let wrong = app
        .gql(
            None,
            SIGN_IN,
            json!({ "i": { "email": "ada@example.org", "password": "not the password" } }),
        )
        .await;
    let unknown = app
        .gql(
            None,
            SIGN_IN,
            json!({ "i": { "email": "nobody@example.org", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
    assert_eq!(error_code(&unknown), "UNAUTHENTICATED");
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
    assert!(wrong["data"].is_null());
}

async fn weak_sign_up_input_names_every_field(app: TestApp) {
    let res = app
        .gql(
            None,
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "not-an-email", "password": "short", "displayName": "   " } }),
        )
        .await;
    assert_eq!(error_code(&res), "VALIDATION");
    assert_eq!(
        error_paths(&res),
        vec!["input.email", "input.password", "input.displayName"]
    );
    let common = app
        .gql(
            None,
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "a@example.org", "password": "password123", "displayName": "A" } }),
        )
        .await;
    assert_eq!(error_paths(&common), vec!["input.password"]);
}

async fn expired_token_is_refused(app: TestApp) {
    let (token, _) = app.sign_up("ada@example.org").await;
    app.ok(Some(&token), ME, json!({})).await;
    // Move every session's expiry into the past, as time passing would.
    access_token::Entity::update_many()
        .col_expr(
            access_token::Column::ExpiresAt,
            Expr::value(Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(access_token::Column::Kind.eq(access_token::TokenKind::Session))
        .exec(&app.db)
        .await
        .unwrap();
    let res = app.gql(Some(&token), ME, json!({})).await;
    assert_eq!(error_code(&res), "UNAUTHENTICATED");
    assert!(
        res["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

async fn repeated_failures_are_rate_limited(app: TestApp) {
    app.sign_up("ada@example.org").await;
    let attempt = |password: &'static str| {
        app.gql(
            None,
            SIGN_IN,
            json!({ "i": { "email": "ada@example.org", "password": password } }),
        )
    };
    for _ in 0..5 {
        assert_eq!(
            error_code(&attempt("wrong password!").await),
            "UNAUTHENTICATED"
        );
    }
    // Even the right password is refused until the window has passed.
    let limited = attempt(PASSWORD).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
    assert!(
        limited["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Another email is not affected.
    app.sign_up("grace@example.org").await;
    app.ok(
        None,
        SIGN_IN,
        json!({ "i": { "email": "grace@example.org", "password": PASSWORD } }),
    )
    .await;
}
