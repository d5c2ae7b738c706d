-- wrk script for bench/cluster.sh: a mixed load of 8 GETs of one patient, 1 patient search and 1 registration
-- (a new email each time, so every answer is a 2xx) in every 10 requests.
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  n = 0
  run = tostring(os.time())
  patient = os.getenv("BENCH_PATIENT")
end

function request()
  n = n + 1
  -- wrk.format replaces wrk.headers with a table it is given: copy them (the -H Authorization header) first.
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  local step = n % 10
  if step == 0 then
    headers["Content-Type"] = "application/json"
    local body = string.format(
      '{"firstName":"Bench","lastName":"Mixed","dateOfBirth":"1980-01-01",' ..
      '"email":"mixed-%s-%d-%d@example.org","phone":"+1 555 010 0000"}', run, tid, n)
    return wrk.format("POST", "/api/v1/patients", headers, body)
  elseif step == 5 then
    return wrk.format("GET", "/api/v1/patients?name=Mixed&limit=20", headers)
  end
  return wrk.format("GET", "/api/v1/patients/" .. patient, headers)
end
