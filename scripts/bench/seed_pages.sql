-- Bulk rows for the page benchmark (scripts/bench/pages.py), after one pool
-- was formed through the API. psql variables: pool, parent, steward, g1, g2
-- (the pool's two groups), members (extra memberships), entries (ledger
-- entries of the pool), pools (extra pools under the parent).
\set ON_ERROR_STOP on

\ir uuid7.sql

CREATE TEMP TABLE bu AS
  SELECT n, pg_temp.uuid7(now() + n * interval '1 millisecond') AS id,
         'member' || n || '@bench.example' AS email, 'Member ' || n AS display_name
  FROM generate_series(1, :members) n;
INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at)
  SELECT id, email, display_name, 'not-a-hash', now(), now() FROM bu;
INSERT INTO memberships (id, pool_id, user_id, email, display_name, stakeholder_group_id, role, status,
    joined_via, joined_at, left_at, created_at, updated_at, shares_held, end_reason)
  SELECT pg_temp.uuid7(now() + n * interval '1 millisecond'), :'pool', id, email, display_name,
         CASE WHEN n % 2 = 0 THEN :'g1'::uuid ELSE :'g2'::uuid END,
         'MEMBER', 'ACTIVE', 'OPEN', now(), NULL, now(), now(), 0, NULL
  FROM bu;

-- Two currencies, so the balances have more than one row.
INSERT INTO ledger_entries (id, pool_id, kind, amount_minor, currency, reference, description, category,
    occurred_at, created_at)
  SELECT pg_temp.uuid7(now() - i * interval '1 hour'), :'pool', kind,
         CASE kind WHEN 'CONTRIBUTION' THEN amount ELSE -amount END,
         CASE WHEN i % 10 = 0 THEN 'GBP' ELSE 'EUR' END, 'bench-' || i, kind || ' ' || i,
         CASE kind WHEN 'CONTRIBUTION' THEN 'contributions' WHEN 'PARENT_SHARE' THEN 'parent share'
                   ELSE 'general' END,
         now() - i * interval '1 hour', now() - i * interval '1 hour'
  FROM (SELECT i, CASE WHEN i % 20 < 12 THEN 'CONTRIBUTION' WHEN i % 20 < 16 THEN 'PARENT_SHARE'
                       ELSE 'EXPENSE' END AS kind,
               (100 + i * 37 % 4900)::bigint AS amount
        FROM generate_series(1, :entries) i) x;

-- More pools under the same parent, each with two groups, for the parent page.
CREATE TEMP TABLE bp AS
  SELECT n, pg_temp.uuid7(now() + n * interval '1 second') AS id,
         pg_temp.uuid7(now() + n * interval '1 second' - interval '1 day') AS formation_id
  FROM generate_series(1, :pools) n;
INSERT INTO formations (id, parent_entity_id, founder_id, working_name, status, founding_members_set,
    legal_template_id, name, slug, name_key, app_ids, app_configs, submitted_at, decided_at, decided_by,
    created_at, updated_at)
  SELECT formation_id, :'parent', :'steward', 'Pool ' || n, 'APPROVED', true, 'pool-inside-parent',
         'Pool ' || n, 'pool-' || n, 'pool ' || n, '[]', '{}', now(), now(), :'steward', now(), now()
  FROM bp;
INSERT INTO pools (id, parent_entity_id, formation_id, name, slug, name_key, status, legal_template_id,
    legal_template_version, currency, rules_document, governance, created_at, updated_at)
  SELECT id, :'parent', formation_id, 'Pool ' || n, 'pool-' || n, 'pool ' || n, 'ACTIVE',
         'pool-inside-parent', 1, 'EUR', 'Rules of pool ' || n, '{}', now(), now()
  FROM bp;
UPDATE formations f SET pool_id = bp.id FROM bp WHERE f.id = bp.formation_id;
INSERT INTO stakeholder_groups (id, pool_id, key, name, kind, voting_weight, admission, created_at)
  SELECT pg_temp.uuid7(now() + (bp.n * 2 + g.i) * interval '1 millisecond'), bp.id, g.k, initcap(g.k),
         upper(g.k), 1, 'OPEN', now()
  FROM bp, (VALUES ('workers', 0), ('users', 1)) g(k, i);
ANALYZE;
