-- Seeds one parent entity with many pools for the parent-view benchmark
-- (scripts/bench/parent). Sizes come from psql variables:
--   parent, steward   ids of a parent entity and its steward (made over the API)
--   pools             pools (10000)
--   members           memberships per pool (100 -> 1,000,000)
--   entries           ledger entries per pool (500 -> 5,000,000)
--   events            audit events per pool (200 -> 2,000,000)
--   users             distinct people (100000)
-- Dates spread over the last two years; ids are UUIDv7 of their dates, as
-- the server makes them. Audit hashes are random here; rehash.py then
-- gives the chain real ones, so verifyAuditTrail walks all of it.
\set ON_ERROR_STOP on

\ir uuid7.sql

CREATE FUNCTION pg_temp.between(a timestamptz, b timestamptz) RETURNS timestamptz AS $$
  SELECT a + random() * (b - a)
$$ LANGUAGE sql VOLATILE;

\echo users
CREATE TEMP TABLE bu AS
  SELECT n, pg_temp.uuid7(now() - interval '800 days') AS id,
         'member' || n || '@bench.example' AS email, 'Member ' || n AS display_name
  FROM generate_series(0, :users - 1) n;
INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at)
  SELECT id, email, display_name, 'not-a-hash', now() - interval '800 days', now() - interval '800 days' FROM bu;
CREATE INDEX ON bu (n);

\echo pools
CREATE TEMP TABLE bp AS
  SELECT n, pg_temp.uuid7(ts) AS id, pg_temp.uuid7(ts - interval '1 day') AS formation_id, ts AS created_at
  FROM (SELECT n, now() - random() * interval '730 days' AS ts FROM generate_series(1, :pools) n) s;
INSERT INTO formations (id, parent_entity_id, founder_id, working_name, status, founding_members_set,
    legal_template_id, name, slug, name_key, app_ids, app_configs, submitted_at, decided_at, decided_by,
    created_at, updated_at)
  SELECT formation_id, :'parent', :'steward', 'Pool ' || n, 'APPROVED', true, 'pool-inside-parent',
         'Pool ' || n, 'pool-' || n, 'pool ' || n, '[]', '{}', created_at, created_at, :'steward',
         created_at - interval '1 day', created_at
  FROM bp;
INSERT INTO pools (id, parent_entity_id, formation_id, name, slug, name_key, status, legal_template_id,
    legal_template_version, currency, rules_document, governance, created_at, updated_at)
  SELECT id, :'parent', formation_id, 'Pool ' || n, 'pool-' || n, 'pool ' || n,
         CASE WHEN n % 50 = 0 THEN 'SUSPENDED' ELSE 'ACTIVE' END, 'pool-inside-parent', 1,
         CASE WHEN n % 10 = 0 THEN 'GBP' ELSE 'EUR' END, 'Rules of pool ' || n, '{}', created_at, created_at
  FROM bp;
UPDATE formations f SET pool_id = bp.id FROM bp WHERE f.id = bp.formation_id;
-- Formations still open: drafts and submissions waiting for a decision.
INSERT INTO formations (id, parent_entity_id, founder_id, working_name, status, founding_members_set,
    app_configs, submitted_at, created_at, updated_at)
  SELECT pg_temp.uuid7(ts), :'parent', :'steward', 'Open ' || n,
         CASE WHEN n % 3 = 0 THEN 'SUBMITTED' ELSE 'DRAFT' END, false, '{}',
         CASE WHEN n % 3 = 0 THEN ts + interval '1 day' END, ts, ts
  FROM (SELECT n, now() - random() * interval '90 days' AS ts FROM generate_series(1, 60) n) s;

\echo stakeholder groups
CREATE TEMP TABLE bg AS
  SELECT bp.n, bp.id AS pool_id, g.k, g.i, pg_temp.uuid7(bp.created_at) AS id
  FROM bp, (VALUES ('workers', 0), ('users', 1)) g(k, i);
INSERT INTO stakeholder_groups (id, pool_id, key, name, kind, voting_weight, admission, created_at)
  SELECT id, pool_id, k, initcap(k), upper(k), 1, 'OPEN', now() FROM bg;
CREATE INDEX ON bg (n, i);

\echo memberships
INSERT INTO memberships (id, pool_id, user_id, email, display_name, stakeholder_group_id, role, status,
    joined_via, joined_at, left_at, created_at, updated_at, shares_held, end_reason)
  SELECT pg_temp.uuid7(joined), x.pool_id, bu.id, bu.email, bu.display_name, bg.id,
         CASE WHEN j = 1 THEN 'ADMIN' ELSE 'MEMBER' END,
         CASE WHEN left_at IS NULL THEN 'ACTIVE' ELSE 'LEFT' END, 'OPEN', joined, left_at,
         joined, coalesce(left_at, joined), 0, CASE WHEN left_at IS NOT NULL THEN 'left the pool' END
  FROM (
    SELECT bp.n, bp.id AS pool_id, j, joined,
           CASE WHEN j > 1 AND random() < 0.1 THEN pg_temp.between(joined, now()) END AS left_at
    FROM bp, generate_series(1, :members) j,
         LATERAL (SELECT pg_temp.between(bp.created_at, now()) + j * interval '0 seconds' AS joined) t
  ) x
  JOIN bu ON bu.n = (x.n * 7 + x.j) % :users
  JOIN bg ON bg.n = x.n AND bg.i = x.j % 2;

\echo ledger entries
INSERT INTO ledger_entries (id, pool_id, kind, amount_minor, currency, reference, description, category,
    occurred_at, created_at)
  SELECT pg_temp.uuid7(at), pool_id, kind,
         CASE kind WHEN 'CONTRIBUTION' THEN amount WHEN 'ADJUSTMENT' THEN amount - 1000 ELSE -amount END,
         currency, 'bench-' || i, kind || ' ' || i,
         CASE kind WHEN 'CONTRIBUTION' THEN 'contributions' WHEN 'PARENT_SHARE' THEN 'parent share'
                   WHEN 'EXPENSE' THEN (ARRAY['rent', 'equipment', 'travel', 'general'])[1 + i % 4]
                   ELSE 'adjustment' END,
         at, at
  FROM (
    SELECT bp.id AS pool_id, CASE WHEN bp.n % 10 = 0 THEN 'GBP' ELSE 'EUR' END AS currency, i,
           CASE WHEN i % 20 < 12 THEN 'CONTRIBUTION' WHEN i % 20 < 16 THEN 'PARENT_SHARE'
                WHEN i % 20 < 19 THEN 'EXPENSE' ELSE 'ADJUSTMENT' END AS kind,
           (100 + floor(random() * 4900))::bigint AS amount,
           pg_temp.between(bp.created_at, now()) AS at
    FROM bp, generate_series(1, :entries) i
  ) x;

-- The seed writes no events for its entries: it marks them as a ledger
-- written before binding would be (which only the migration may do).
ALTER TABLE ledger_bindings DISABLE TRIGGER ledger_bindings_append_only;
INSERT INTO ledger_bindings (ledger_entry_id, event_id)
  SELECT l.id, NULL FROM ledger_entries l JOIN bp ON bp.id = l.pool_id;
ALTER TABLE ledger_bindings ENABLE TRIGGER ledger_bindings_append_only;

\echo proposals
INSERT INTO proposals (id, pool_id, author_membership_id, title, body, kind, options, closes_at,
    quorum_percent, pass_threshold_percent, voting_rule, eligible_group_ids, status, outcome, closed_at,
    created_at, updated_at)
  SELECT pg_temp.uuid7(opened), bp.id, m.id, 'Proposal ' || k, 'Shall we?', 'DECISION',
         '["agree","disagree","abstain"]', opened + interval '7 days', 0, 50, 'ONE_MEMBER_ONE_VOTE', '[]',
         'CLOSED', CASE WHEN random() < 0.7 THEN 'PASSED' ELSE 'FAILED' END, opened + interval '7 days',
         opened, opened + interval '7 days'
  FROM bp
  JOIN LATERAL (SELECT id FROM memberships WHERE pool_id = bp.id AND role = 'ADMIN' LIMIT 1) m ON true
  CROSS JOIN generate_series(1, 5) k
  CROSS JOIN LATERAL (SELECT pg_temp.between(bp.created_at, now() - interval '7 days') + k * interval '0 seconds' AS opened) o;

\echo audit events
CREATE TEMP TABLE be AS
  SELECT pg_temp.uuid7(at) AS id, at, pool_id, action, actor,
         md5(random()::text) || md5(random()::text) AS hash
  FROM (
    SELECT bp.id AS pool_id, pg_temp.between(bp.created_at, now()) AS at,
           (ARRAY['member.joined', 'member.left', 'vote.cast', 'proposal.created', 'proposal.closed',
                  'expense.paid', 'contribution.paid', 'ledger.adjusted'])[1 + i % 8] AS action,
           (SELECT id FROM bu WHERE n = (bp.n * 13 + i) % :users) AS actor
    FROM bp, generate_series(1, :events) i
  ) x;
INSERT INTO audit_events (id, chain_key, seq, prev_hash, pool_prev_hash, hash, occurred_at, actor_kind,
    actor_user_id, action, outcome, entity_type, entity_id, pool_id, parent_entity_id, changes,
    request_id, client_address)
  SELECT be.id, :'parent', head.seq + row_number() OVER w,
         coalesce(lag(be.hash) OVER w, head.hash), lag(be.hash) OVER (PARTITION BY be.pool_id ORDER BY be.at, be.id),
         be.hash, be.at, 'SESSION', be.actor, be.action, 'SUCCEEDED', 'Member', NULL, be.pool_id, :'parent',
         '{"status":{"before":"INVITED","after":"ACTIVE"}}', NULL, '192.0.2.1'
  FROM be, (SELECT seq, hash FROM audit_chain_heads WHERE chain_key = :'parent') head
  WINDOW w AS (ORDER BY be.at, be.id);
UPDATE audit_chain_heads h SET seq = e.seq, hash = e.hash
  FROM (SELECT seq, hash FROM audit_events WHERE chain_key = :'parent' ORDER BY seq DESC LIMIT 1) e
  WHERE h.chain_key = :'parent';

\echo analyze
ANALYZE;
