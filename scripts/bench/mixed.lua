-- wrk script for the servers benchmark: POSTs the read body ($READ_BODY,
-- as $READ_TOKEN), and every $WRITE_EVERY-th request the write body
-- ($WRITE_BODY, as $WRITE_TOKEN); counts answers carrying GraphQL errors
-- and prints one machine-readable RESULT line.
local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local read_body = slurp(os.getenv("READ_BODY"))
-- The write body names its pool as __POOL__; writes take the pools in
-- $WRITE_POOLS (comma-separated ids) in turn.
local write_template = slurp(os.getenv("WRITE_BODY"))
local write_bodies = {}
for pool in string.gmatch(os.getenv("WRITE_POOLS"), "[^,]+") do
  local body = string.gsub(write_template, "__POOL__", pool)
  table.insert(write_bodies, body)
end
local every = tonumber(os.getenv("WRITE_EVERY"))
local read_headers = { ["Content-Type"] = "application/json",
                       ["Authorization"] = "Bearer " .. os.getenv("READ_TOKEN") }
local write_headers = { ["Content-Type"] = "application/json",
                        ["Authorization"] = "Bearer " .. os.getenv("WRITE_TOKEN") }

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

sent = 0
writes = 0
graphql_errors = 0

request = function()
  sent = sent + 1
  if every > 0 and sent % every == 0 then
    writes = writes + 1
    local body = write_bodies[writes % #write_bodies + 1]
    return wrk.format("POST", "/graphql", write_headers, body)
  end
  return wrk.format("POST", "/graphql", read_headers, read_body)
end

response = function(status, headers, body)
  if status == 200 and string.find(body, '"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
  end
end

done = function(summary, latency, requests)
  local w, e = 0, 0
  for _, t in ipairs(threads) do
    w = w + t:get("writes")
    e = e + t:get("graphql_errors")
  end
  io.write(string.format(
    "RESULT requests=%d duration_us=%d non2xx=%d errors=%d graphql_errors=%d writes=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    e, w, latency:percentile(50), latency:percentile(99)))
end
