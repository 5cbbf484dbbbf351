# Messages the server sends, in English (complete: every other language
# falls back to these). Arguments are filled in by the server; dates come
# already written out, in UTC.

## Shared parts

greeting = Hello { $name },
footer-account = You get this message because this address belongs to an account at { $site }.
footer-invited = You get this message because someone invited this address at { $site }.
footer-optional = You get this message because you follow { $topic } at { $site }.
unsubscribe = Stop messages about { $topic }
not-you = If you did not ask for this, ignore this message: nothing changes.

## Topics a person can turn off

topic-proposals = proposals and votes in your pools
topic-formation-reviews = formations waiting for your review
topic-decisions = decisions on your applications and formations

## Confirming an address

confirm-email-subject = Confirm your email address
confirm-email-body = Please confirm that { $email } is your address. Until you do, you can sign in and prepare formations, but not join pools, accept invitations or roles, or submit a formation.
confirm-email-action = Confirm my address
link-expiry = The link works once, until { $until }.

change-email-subject = Confirm your new email address
change-email-body = You asked to move your account to { $email }. Your account moves to this address when you confirm it here.
change-email-action = Confirm the new address

## Passwords

reset-subject = Reset your password
reset-body = Someone asked to reset the password of your account. Choose a new password with the link below. Doing so signs you out everywhere else.
reset-action = Choose a new password

password-changed-subject = Your password was changed
password-changed-body = The password of your account was changed on { $when }, and every other session was signed out.
password-changed-note = If you did not change it, reset your password from the sign-in page now.

email-changed-subject = Your account's email address was changed
email-changed-body = Your account now uses { $new } instead of { $old }. Messages go to the new address from now on.
email-changed-note = If you did not ask for this, reset your password with the old address's help from the sign-in page, and contact the platform.

## Invitations

pool-invitation-subject = You are invited to join { $pool }
pool-invitation-body = { $inviter } invited you to join { $pool }, in the group { $group }.
pool-invitation-founding = { $founder } named you a founding member of { $pool }, which has just been formed, in the group { $group }.
pool-invitation-how = Sign in with this address, or create an account with it, to accept. The invitation is valid until { $until }.
pool-invitation-action = See the invitation

role-invitation-subject = You are invited to be { $role } of { $parent }
role-invitation-body = { $parent } invited you to be its { $role }. Sign in with this address, or create an account with it, to accept or decline. The invitation is valid until { $until }.
role-invitation-action = See your invitations

role-steward = a steward
role-auditor = an auditor

## Decisions

application-approved-subject = Your application to { $pool } was accepted
application-approved-body = Your application to join { $pool } was accepted. Welcome!
application-rejected-subject = Your application to { $pool } was declined
application-rejected-body = Your application to join { $pool } was declined.
reason-given = The reason given: { $reason }
application-action = Open { $pool }

formation-submitted-subject = A formation waits for review: { $name }
formation-submitted-body = { $founder } submitted the formation { $name } to { $parent } for review.
formation-submitted-action = Review the formation

formation-approved-subject = { $name } was approved
formation-approved-body = { $parent } approved your formation: the pool { $name } exists now, and its founding members have been invited.
formation-rejected-subject = { $name } was not approved
formation-rejected-body = { $parent } did not approve your formation { $name }.
formation-action = Open the formation

## Governance

proposal-opened-subject = New proposal in { $pool }: { $title }
proposal-opened-body = A proposal in { $pool } is open for your vote: { $title }. Voting closes on { $closes }.
proposal-closing-subject = Voting closes soon: { $title }
proposal-closing-body = Voting on { $title } in { $pool } closes on { $closes }, and you have not voted yet.
proposal-action = Read and vote

## Money

payment-failed-subject = Your contribution to { $pool } could not be collected
payment-failed-body = Your contribution of { $amount } to { $pool } could not be collected. Check your payment method, or change your contribution.
payment-failed-action = Open your contribution

## The unsubscribe page

unsubscribe-title = Messages about { $topic }
unsubscribe-confirm = Stop sending { $email } messages about { $topic }?
unsubscribe-button = Stop these messages
unsubscribe-done = Done: { $email } gets no more messages about { $topic }. You can turn them on again in your account's settings.
unsubscribe-invalid-title = This link does not work
unsubscribe-invalid = This link is not valid. Open the latest message's link, or change your messages in your account's settings.

## A pool's standing

pool-suspended-subject = { $pool } is suspended
pool-suspended-body = The parent entity suspended { $pool }: { $reason } Until it is reinstated, the pool takes no new members, proposals, votes, expenses or payments. You can still read it, leave it and stop your contribution.
pool-reinstated-subject = { $pool } is reinstated
pool-reinstated-body = The parent entity reinstated { $pool }: { $reason } Members can join, propose, vote and pay again.
pool-standing-action = Open the pool
pool-dissolving-subject = { $pool } is dissolving
pool-dissolving-body = The members of { $pool } decided to dissolve it. Contributions stop, its apps are taken down, and its remaining funds are paid out as its rules say. You can still read the pool, its register and its books.

## A steward's decisions

rules-change-waits-subject = A rules change in { $pool } waits for { $parent }
rules-change-waits-body = The members of { $pool } passed a change to their rules that the policy of { $parent } asks a steward to approve. Read it, then approve or decline it.
rules-change-waits-action = Read the change
pool-move-waits-subject = { $pool } waits for { $parent } on its move
pool-move-waits-body = The members of { $pool } voted to move the pool to another parent entity. The move needs { $parent } to agree: the receiving parent accepts it, the releasing one releases it, and either may decline.
pool-move-waits-action = Open the pool
dissolution-waits-subject = { $pool } waits for { $parent } to consent to its dissolution
dissolution-waits-body = The members of { $pool } voted to dissolve the pool. { $parent }'s policy asks for a steward's consent before it winds up: consent, or refuse with a reason.
dissolution-waits-action = Open the pool
