-- pg_temp.uuid7(ts): a UUIDv7 of the time ts, as the server makes its keys,
-- so rows seeded for a benchmark sort in creation order. Included by the seeds.
CREATE FUNCTION pg_temp.uuid7(ts timestamptz) RETURNS uuid AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              placing substring(int8send(floor(extract(epoch FROM ts) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1), 'hex')::uuid
$$ LANGUAGE sql VOLATILE;
