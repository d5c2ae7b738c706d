-- wrk script: registers patients that never clash (each request a new email), so every answer is a 201. With
-- BENCH_IDEMPOTENCY=1 each request also carries its own Idempotency-Key, which costs the claim and the stored
-- response (API.md §1.11); the two runs differ only in that header.
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  n = 0
  run = tostring(os.time())
  keyed = os.getenv("BENCH_IDEMPOTENCY") == "1"
end

function request()
  n = n + 1
  local id = string.format("%s-%d-%d", run, tid, n)
  local body = string.format(
    '{"firstName":"Bench","lastName":"Register","dateOfBirth":"1980-01-01","gender":"other",' ..
    '"email":"reg-%s@example.org","phone":"+1 555 010 0000"}', id)
  -- wrk.format replaces wrk.headers with a table it is given: copy them (the -H Authorization header) first.
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  if keyed then headers["Idempotency-Key"] = "bench-" .. id end
  return wrk.format("POST", "/api/v1/patients", headers, body)
end
