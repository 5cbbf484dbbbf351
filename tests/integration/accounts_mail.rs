//! The account's messages, read from a real SMTP server (aiosmtpd, started
//! by the test command): confirmation, password reset, invitations, and
//! the outbox's promises (nothing for a rolled-back change, a refused
//! delivery retried).

use entities::{account_token, job};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    formations::World,
    helpers::{PASSWORD, TestApp, error_code, error_paths, eventually, resolve},
    pools::{PoolWorld, TWO_GROUPS, form_pool_with, prepare_formation},
};

pub(crate) const SETTINGS: &[(&str, &str)] = &[
    ("SMTP_URL", "env:TEST_SMTP_URL"),
    ("APP_URL", "https://app.example"),
    ("JOB_RETRY_BASE_MS", "20"),
    ("JOB_POLL_INTERVAL_MS", "50"),
    (
        "STRIPE_WEBHOOK_SECRET",
        crate::contributions::WEBHOOK_SECRET,
    ),
];

on_both_databases!(
    settings: super::SETTINGS;
    needs smtp;
    sign_up_sends_a_confirmation_that_works_once,
    a_reset_link_works_once_expires_and_ends_sessions,
    an_invitation_email_reaches_the_invited_address,
    founding_members_are_invited_by_email_at_approval,
    changing_the_address_is_confirmed_at_the_new_one,
    no_message_for_a_rolled_back_change,
    a_refused_delivery_is_retried,
    proposals_are_mailed_to_voters_until_they_unsubscribe,
    decisions_are_mailed_to_the_people_they_concern,
    a_payment_stripe_could_not_collect_is_told_to_the_member,
);

/// An address no other test uses: the SMTP server is shared.
pub(crate) fn address(name: &str) -> String {
    format!("{name}-{}@example.org", uuid::Uuid::now_v7().simple())
}

/// The messages the SMTP server received for `to`, oldest first.
async fn messages(app: &TestApp, to: &str) -> Vec<Value> {
    let base = resolve("env:TEST_MAILBOX_URL");
    app.client
        .get(format!("{base}/messages"))
        .query(&[("to", to)])
        .send()
        .await
        .expect("the mailbox answers")
        .json()
        .await
        .expect("JSON")
}

/// Waits until `to` has received `n` messages; returns them.
async fn wait_for(app: &TestApp, to: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} messages reach {to}"), || async {
        let got = messages(app, to).await;
        if got.len() >= n { Ok(got) } else { Err(got) }
    })
    .await
}

/// The token in the message's link to `path` (checked in both bodies).
fn token_in(message: &Value, path: &str) -> String {
    let prefix = format!("https://app.example{path}?token=");
    let text = message["text"].as_str().expect("a text body");
    let start = text
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link to {path} in {text}"))
        + prefix.len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let html = message["html"].as_str().expect("an HTML body");
    assert!(
        html.contains(&format!("href=\"{prefix}{token}\"")),
        "the HTML has the same link: {html}"
    );
    token
}

const ME: &str = "{ me { email emailConfirmed } }";
const CONFIRM: &str = "mutation($t: String!) { confirmEmail(token: $t) { email addressChanged } }";

async fn sign_up(app: &TestApp, email: &str) -> String {
    app.sign_up_unconfirmed(email).await.0
}

async fn refuses_what_needs_an_address(app: &TestApp, token: &str) {
    let res = app
        .gql(
            Some(token),
            "mutation { acceptInvitation(token: \"inv_x\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&res), "FORBIDDEN", "{res:#}");
    let message = res["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("confirm your email"), "{message}");
}

async fn sign_up_sends_a_confirmation_that_works_once(app: TestApp) {
    let email = address("ada");
    let token = sign_up(&app, &email).await;
    assert_eq!(
        app.ok(Some(&token), ME, json!({})).await["me"]["emailConfirmed"],
        false
    );
    refuses_what_needs_an_address(&app, &token).await;

    let mail = wait_for(&app, &email, 1).await;
    let message = &mail[0];
    assert_eq!(message["subject"], "Confirm your email address");
    assert!(
        message["messageId"]
            .as_str()
            .unwrap()
            .ends_with("@localhost>"),
        "{message:#}"
    );
    assert!(message["headers"].get("List-Unsubscribe").is_none());
    let link = token_in(message, "/confirm-email");

    // No session needed: the link is the credential.
    let confirmed = app.ok(None, CONFIRM, json!({ "t": link })).await;
    assert_eq!(
        confirmed["confirmEmail"],
        json!({ "email": email, "addressChanged": false })
    );
    assert_eq!(
        app.ok(Some(&token), ME, json!({})).await["me"]["emailConfirmed"],
        true
    );
    let again = app.gql(None, CONFIRM, json!({ "t": link })).await;
    assert_eq!(error_code(&again), "CONFLICT", "works once: {again:#}");
    let forged = app.gql(None, CONFIRM, json!({ "t": "pat1_forged" })).await;
    assert_eq!(error_code(&forged), "NOT_FOUND");
    // Confirmed: asking for another link is refused, and says why.
    let resend = app
        .gql(
            Some(&token),
            "mutation { sendEmailConfirmation }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&resend), "CONFLICT");
}

const RESET: &str =
    "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
const REQUEST_RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const SIGN_IN: &str = "mutation($i: SignInInput!) { signIn(input: $i) { token } }";

async fn a_reset_link_works_once_expires_and_ends_sessions(app: TestApp) {
    let email = address("grace");
    let first_session = sign_up(&app, &email).await;
    wait_for(&app, &email, 1).await; // the confirmation

    // The same answer for an address without an account, and nothing queued.
    let queued = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            job::Entity::find()
                .filter(job::Column::Kind.eq("send_mail"))
                .all(&db)
                .await
                .unwrap()
                .len()
        }
    };
    let before = queued(&app).await;
    let nobody = app
        .ok(None, REQUEST_RESET, json!({ "e": address("nobody") }))
        .await;
    assert_eq!(nobody["requestPasswordReset"], true);
    assert_eq!(queued(&app).await, before, "no message for no account");

    let asked = app.ok(None, REQUEST_RESET, json!({ "e": email })).await;
    assert_eq!(asked["requestPasswordReset"], true);
    let mail = wait_for(&app, &email, 2).await;
    assert_eq!(mail[1]["subject"], "Reset your password");
    let link = token_in(&mail[1], "/reset-password");

    let weak = app
        .gql(None, RESET, json!({ "t": link, "p": "short" }))
        .await;
    assert_eq!(error_code(&weak), "VALIDATION");
    let new_password = "a much newer battery staple";
    let reset = app
        .ok(None, RESET, json!({ "t": link, "p": new_password }))
        .await;
    assert_eq!(reset["resetPassword"], true);
    let again = app
        .gql(None, RESET, json!({ "t": link, "p": new_password }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "single use: {again:#}");

    // Every session ended; the new password signs in, the old one does not.
    let old = app.gql(Some(&first_session), ME, json!({})).await;
    assert_eq!(error_code(&old), "UNAUTHENTICATED", "{old:#}");
    let with_old = app
        .gql(
            None,
            SIGN_IN,
            json!({ "i": { "email": email, "password": PASSWORD } }),
        )
        .await;
    assert_eq!(error_code(&with_old), "UNAUTHENTICATED");
    let session = app
        .ok(
            None,
            SIGN_IN,
            json!({ "i": { "email": email, "password": new_password } }),
        )
        .await["signIn"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Following the link proved the address too.
    assert_eq!(
        app.ok(Some(&session), ME, json!({})).await["me"]["emailConfirmed"],
        true
    );
    let told = wait_for(&app, &email, 3).await;
    assert_eq!(told[2]["subject"], "Your password was changed");

    // A link an hour old no longer works.
    app.ok(None, REQUEST_RESET, json!({ "e": email })).await;
    let mail = wait_for(&app, &email, 4).await;
    let late = token_in(&mail[3], "/reset-password");
    account_token::Entity::update_many()
        .col_expr(
            account_token::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(account_token::Column::UsedAt.is_null())
        .exec(&app.db)
        .await
        .unwrap();
    let expired = app
        .gql(
            None,
            RESET,
            json!({ "t": late, "p": "yet another long password" }),
        )
        .await;
    assert_eq!(error_code(&expired), "CONFLICT");
    assert!(
        expired["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{expired:#}"
    );
}

async fn an_invitation_email_reaches_the_invited_address(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let email = address("linus");
    let invited = p
        .app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { token } }",
            json!({ "i": { "poolId": p.pool, "email": email, "stakeholderGroupId": p.groups["users"] } }),
        )
        .await;
    let shown = invited["inviteMember"]["token"].as_str().unwrap();
    let mail = wait_for(p.app(), &email, 1).await;
    assert_eq!(mail[0]["subject"], "You are invited to join Test Pool");
    let text = mail[0]["text"].as_str().unwrap();
    assert!(text.contains("in the group Users"), "{text}");
    let link = token_in(&mail[0], "/invitations/accept");
    assert_eq!(
        link, shown,
        "the link carries the token the admin was shown"
    );

    // The invited person signs up with that address, confirms it, accepts.
    let token = sign_up(p.app(), &email).await;
    let accept = "mutation($t: String!) { acceptInvitation(token: $t) { status } }";
    let early = p
        .app()
        .gql(Some(&token), accept, json!({ "t": link }))
        .await;
    assert_eq!(error_code(&early), "FORBIDDEN", "not confirmed yet");
    let mail = wait_for(p.app(), &email, 2).await;
    let confirm = token_in(&mail[1], "/confirm-email");
    p.app().ok(None, CONFIRM, json!({ "t": confirm })).await;
    let invitations = p
        .app()
        .ok(
            Some(&token),
            "{ me { invitations { edges { node { email } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        invitations["me"]["invitations"]["edges"][0]["node"]["email"],
        email.as_str()
    );
    let accepted = p.app().ok(Some(&token), accept, json!({ "t": link })).await;
    assert_eq!(accepted["acceptInvitation"]["status"], "ACTIVE");
}

async fn founding_members_are_invited_by_email_at_approval(app: TestApp) {
    let w = World::new(app, "AUTOMATIC").await;
    let email = address("mae");
    let pool = form_pool_with(
        &w,
        TWO_GROUPS(),
        json!([]),
        "Founders Pool",
        json!([{ "email": email, "displayName": "Mae", "stakeholderGroupKey": "users", "role": "MEMBER" }]),
    )
    .await;
    let mail = wait_for(&w.app, &email, 1).await;
    assert_eq!(mail[0]["subject"], "You are invited to join Founders Pool");
    let text = mail[0]["text"].as_str().unwrap();
    assert!(text.contains("named you a founding member"), "{text}");
    let link = token_in(&mail[0], "/invitations/accept");

    let (token, _) = w.app.sign_up(&email).await;
    let accepted = w
        .app
        .ok(
            Some(&token),
            "mutation($t: String!) { acceptInvitation(token: $t) { status joinedVia pool { id } stakeholderGroup { key } } }",
            json!({ "t": link }),
        )
        .await;
    assert_eq!(
        accepted["acceptInvitation"],
        json!({ "status": "ACTIVE", "joinedVia": "FOUNDING", "pool": { "id": pool }, "stakeholderGroup": { "key": "users" } })
    );
}

async fn changing_the_address_is_confirmed_at_the_new_one(app: TestApp) {
    let old = address("old");
    let new = address("new");
    let token = sign_up(&app, &old).await;
    wait_for(&app, &old, 1).await;
    // The steward role it holds follows the account to the new address.
    let parent = app.register_parent(&token, "C-2026").await;
    let change = "mutation($e: String!, $p: String!) { changeEmail(newEmail: $e, password: $p) }";
    let wrong = app
        .gql(
            Some(&token),
            change,
            json!({ "e": new, "p": "not the password" }),
        )
        .await;
    assert_eq!(error_code(&wrong), "VALIDATION");
    assert_eq!(error_paths(&wrong), ["password"]);
    app.ok(Some(&token), change, json!({ "e": new, "p": PASSWORD }))
        .await;
    let mail = wait_for(&app, &new, 1).await;
    assert_eq!(mail[0]["subject"], "Confirm your new email address");
    // Nothing moves until the new address confirms.
    assert_eq!(
        app.ok(Some(&token), ME, json!({})).await["me"]["email"],
        old.as_str()
    );
    let link = token_in(&mail[0], "/confirm-email");
    let moved = app.ok(None, CONFIRM, json!({ "t": link })).await;
    assert_eq!(
        moved["confirmEmail"],
        json!({ "email": new, "addressChanged": true })
    );
    let told = wait_for(&app, &old, 2).await;
    assert_eq!(
        told[1]["subject"],
        "Your account's email address was changed"
    );
    assert!(told[1]["text"].as_str().unwrap().contains(&new));
    let signed_in = app
        .gql(
            None,
            SIGN_IN,
            json!({ "i": { "email": new, "password": PASSWORD } }),
        )
        .await;
    assert!(signed_in.get("errors").is_none(), "{signed_in:#}");
    let roles = app
        .ok(
            Some(&token),
            "query($id: ID!) { parentEntity(id: $id) { roles { edges { node { email role } } } } }",
            json!({ "id": parent }),
        )
        .await;
    assert_eq!(
        roles["parentEntity"]["roles"]["edges"][0]["node"]["email"],
        new.as_str(),
        "{roles:#}"
    );
}

/// The outbox: a message queued in a transaction that rolls back is never
/// sent. A second one, committed after it, shows the worker has passed.
async fn no_message_for_a_rolled_back_change(app: TestApp) {
    use api::services::notifications::{Notice, queue};
    let email = address("rollback");
    let (_, id) = app.sign_up(&email).await;
    wait_for(&app, &email, 1).await; // the confirmation
    let user_id = uuid::Uuid::parse_str(&id).unwrap();

    let txn = app.db.begin().await.unwrap();
    queue(&txn, Notice::PasswordChanged { user_id })
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    let txn = app.db.begin().await.unwrap();
    queue(
        &txn,
        Notice::EmailChanged {
            user_id,
            old_email: email.clone(),
        },
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();

    let mail = wait_for(&app, &email, 2).await;
    app.jobs_settled("send_mail").await;
    let mail_after = messages(&app, &email).await;
    assert_eq!(mail_after.len(), 2, "{mail:#?}");
    assert_eq!(
        mail_after[1]["subject"],
        "Your account's email address was changed"
    );
}

/// The SMTP server says "try again later" (451) to the first attempt; the
/// job tries again and the message arrives once, with the same Message-ID.
async fn a_refused_delivery_is_retried(app: TestApp) {
    let email = format!(
        "busy-{}+tempfail@example.org",
        uuid::Uuid::now_v7().simple()
    );
    sign_up(&app, &email).await;
    let mail = wait_for(&app, &email, 1).await;
    assert_eq!(mail[0]["subject"], "Confirm your email address");
    app.jobs_settled("send_mail").await;
    let attempts: Vec<i32> = job::Entity::find()
        .filter(job::Column::Kind.eq("send_mail"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.attempts)
        .collect();
    assert!(attempts.contains(&2), "{attempts:?}");
    assert_eq!(messages(&app, &email).await.len(), 1, "delivered once");
}

/// Waits until every message due now has been sent (reminders due later
/// stay queued).
async fn due_mail_sent(app: &TestApp) {
    eventually("the due send_mail jobs settle", || async {
        let open = job::Entity::find()
            .filter(job::Column::Kind.eq("send_mail"))
            .filter(job::Column::Status.is_in([job::JobStatus::Pending, job::JobStatus::Running]))
            .filter(job::Column::RunAt.lte(chrono::Utc::now()))
            .all(&app.db)
            .await
            .unwrap();
        if open.is_empty() {
            Ok(())
        } else {
            Err(open.len())
        }
    })
    .await;
}

/// Waits for the message to `to` with this subject; returns it.
pub(crate) async fn wait_for_subject(app: &TestApp, to: &str, subject: &str) -> Value {
    eventually(&format!("\"{subject}\" reaches {to}"), || async {
        let got = messages(app, to).await;
        got.into_iter().find(|m| m["subject"] == subject).ok_or(())
    })
    .await
}

/// How many messages `to` received whose subject starts with `prefix`.
async fn count_of(app: &TestApp, to: &str, prefix: &str) -> usize {
    messages(app, to)
        .await
        .iter()
        .filter(|m| m["subject"].as_str().is_some_and(|s| s.starts_with(prefix)))
        .count()
}

async fn proposals_are_mailed_to_voters_until_they_unsubscribe(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let app = p.app();
    let ana = address("ana");
    let cy = address("cy");
    let (ana_token, _) = p.join(&ana, "workers").await;
    let (cy_token, _) = p.join(&cy, "users").await;
    let first = p
        .propose(&p.w.founder, json!({ "title": "Paint the shop" }))
        .await;
    let opened = wait_for_subject(app, &ana, "New proposal in Test Pool: Paint the shop").await;
    assert!(
        opened["text"]
            .as_str()
            .unwrap()
            .contains(&format!("https://app.example/proposals/{first}"))
    );
    wait_for_subject(app, &cy, "New proposal in Test Pool: Paint the shop").await;

    // The reminder goes to who has not voted by then.
    p.vote(&ana_token, &first, "AGREE").await;
    job::Entity::update_many()
        .col_expr(job::Column::RunAt, Expr::value(chrono::Utc::now()))
        .filter(job::Column::Kind.eq("send_mail"))
        .filter(job::Column::Payload.contains("proposalClosingSoon"))
        .exec(&app.db)
        .await
        .unwrap();
    due_mail_sent(app).await;
    wait_for_subject(app, &cy, "Voting closes soon: Paint the shop").await;
    assert_eq!(
        count_of(app, &ana, "Voting closes").await,
        0,
        "Ana voted: no reminder"
    );

    // Every proposal message can be stopped from its own link, no sign-in.
    let header = opened["headers"]["List-Unsubscribe"]
        .as_str()
        .expect("a List-Unsubscribe header");
    assert_eq!(
        opened["headers"]["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    let link = header.trim_matches(['<', '>']).to_owned();
    assert!(link.contains("/unsubscribe?"), "{link}");
    assert!(
        opened["text"].as_str().unwrap().contains(&link),
        "the body has the same link"
    );
    let forged = link.replace("signature=", "signature=0");
    let page = app.client.get(&forged).send().await.unwrap();
    assert_eq!(page.status(), 400);
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\">"), "{html}");
    let prefs = "{ me { notificationPreferences { topic enabled } } }";
    let before = app.ok(Some(&ana_token), prefs, json!({})).await;
    assert!(
        before["me"]["notificationPreferences"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["enabled"] == true)
    );
    let done = app
        .client
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("gets no more messages about proposals")
    );
    let after = app.ok(Some(&ana_token), prefs, json!({})).await;
    let proposals = after["me"]["notificationPreferences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["topic"] == "PROPOSALS")
        .unwrap()
        .clone();
    assert_eq!(proposals["enabled"], false);

    p.propose(&cy_token, json!({ "title": "Open on Sundays" }))
        .await;
    due_mail_sent(app).await;
    wait_for_subject(app, &cy, "New proposal in Test Pool: Open on Sundays").await;
    assert_eq!(
        count_of(app, &ana, "New proposal").await,
        1,
        "Ana turned proposals off"
    );
}

async fn decisions_are_mailed_to_the_people_they_concern(app: TestApp) {
    // An application decided by an admin reaches the applicant, with why.
    let p = PoolWorld::new(app, json!([
        { "key": "workers", "name": "Workers", "kind": "WORKERS", "votingWeight": 1, "admission": "OPEN" },
        { "key": "users", "name": "Users", "kind": "USERS", "votingWeight": 1, "admission": "APPLICATION" },
    ]))
    .await;
    let bo = address("bo");
    let (bo_token, _) = p.app().sign_up(&bo).await;
    let applied = p.apply(&bo_token, "users").await;
    let application = applied["data"]["applyForMembership"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{applied:#}"))
        .to_owned();
    p.app()
        .ok(
            Some(&p.w.founder),
            "mutation($i: DecideMembershipApplicationInput!) { decideMembershipApplication(input: $i) { status } }",
            json!({ "i": { "applicationId": application, "decision": "REJECT", "reason": "We are full this year." } }),
        )
        .await;
    let letter = wait_for_subject(p.app(), &bo, "Your application to Test Pool was declined").await;
    assert!(
        letter["text"]
            .as_str()
            .unwrap()
            .contains("We are full this year.")
    );
    assert!(letter["headers"]["List-Unsubscribe"].is_string());

    // A parent that reviews formations, its steward at an address of this
    // test, hears of a submission; the founder hears of the decision.
    let PoolWorld { w, .. } = p;
    let World { app, founder, .. } = w;
    let steward_address = address("steward");
    let (steward, _) = app.sign_up(&steward_address).await;
    let parent = app.register_parent_with(&steward, "M-2026", "MANUAL").await;
    let w = World {
        app,
        steward,
        auditor: String::new(),
        founder,
        parent,
    };
    let name = format!("Review {}", uuid::Uuid::now_v7().simple());
    let formation = prepare_formation(&w, TWO_GROUPS(), json!([]), &name, json!([])).await;
    w.submit(&formation).await;
    let review = wait_for_subject(
        &w.app,
        &steward_address,
        &format!("A formation waits for review: {name}"),
    )
    .await;
    assert!(review["headers"]["List-Unsubscribe"].is_string());
    w.app
        .ok(
            Some(&w.steward),
            "mutation($i: RejectFormationInput!) { rejectFormation(input: $i) { status } }",
            json!({ "i": { "formationId": formation, "reason": "Name the bank account first." } }),
        )
        .await;
    let rejected = wait_for_subject(
        &w.app,
        "founder@example.org",
        &format!("{name} was not approved"),
    )
    .await;
    assert!(
        rejected["text"]
            .as_str()
            .unwrap()
            .contains("Name the bank account first.")
    );
}

/// Stripe reports a renewal it could not collect (the subscription goes
/// past due): the member is told, once, whatever their preferences.
async fn a_payment_stripe_could_not_collect_is_told_to_the_member(app: TestApp) {
    use entities::contribution;
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    crate::contributions::euro_scale(&p, false).await;
    let payer = address("payer");
    let (member, _) = p.join(&payer, "users").await;
    p.app()
        .ok(
            Some(&member),
            "mutation($p: [NotificationPreferenceInput!]!) { setNotificationPreferences(preferences: $p) { topic } }",
            json!({ "p": [{ "topic": "DECISIONS", "enabled": false }, { "topic": "PROPOSALS", "enabled": false }] }),
        )
        .await;
    let started = crate::contributions::start(&p, &member, json!({ "amount": 500 })).await;
    let id = started["data"]["startContribution"]["contribution"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{started:#}"))
        .to_owned();
    // A Stripe subscription, as if Stripe had answered the start (the
    // webhook tests do the same): the event below names it.
    let subscription = format!("sub_{}", uuid::Uuid::now_v7().simple());
    contribution::Entity::update_many()
        .col_expr(
            contribution::Column::Provider,
            Expr::value(contribution::Provider::Stripe),
        )
        .col_expr(
            contribution::Column::StripeSubscriptionId,
            Expr::value(subscription.clone()),
        )
        .filter(contribution::Column::Id.eq(uuid::Uuid::parse_str(&id).unwrap()))
        .exec(&p.app().db)
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let past_due = json!({ "id": format!("evt_{subscription}"), "type": "customer.subscription.updated",
        "created": now, "data": { "object": { "id": subscription, "status": "past_due" } } });
    let (code, body) = crate::contributions::post_event(
        p.app(),
        &past_due,
        crate::contributions::WEBHOOK_SECRET,
        now,
    )
    .await;
    assert_eq!(
        (code, body["status"].as_str()),
        (200, Some("applied")),
        "{body:#}"
    );
    let letter = wait_for_subject(
        p.app(),
        &payer,
        "Your contribution to Test Pool could not be collected",
    )
    .await;
    let text = letter["text"].as_str().unwrap();
    assert!(text.contains("5.00 EUR"), "{text}");
    assert!(text.contains("https://app.example/contributions"), "{text}");
    assert!(
        letter["headers"].get("List-Unsubscribe").is_none(),
        "not an optional message"
    );
}
