-- wrk script: books appointments that never clash. Each wrk thread has its own patient and doctor (from
-- BENCH_PATIENTS / BENCH_DOCTORS, comma-separated) and walks 15-minute slots forward from tomorrow, so every
-- request is a real booking (201), not a 409. Bookings need not follow working hours (API.md §3.3).
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local function split(s)
  local out = {}
  for part in string.gmatch(s or "", "[^,]+") do table.insert(out, part) end
  return out
end

function init(args)
  local patients, doctors = split(os.getenv("BENCH_PATIENTS")), split(os.getenv("BENCH_DOCTORS"))
  patient = patients[((tid - 1) % #patients) + 1]
  doctor = doctors[((tid - 1) % #doctors) + 1]
  n = 0
  tomorrow = os.time() + 86400
end

function request()
  local slot = n % 95
  local day = math.floor(n / 95)
  n = n + 1
  local date = os.date("!%Y-%m-%d", tomorrow + day * 86400)
  local start = string.format("%02d:%02d", math.floor(slot * 15 / 60), (slot * 15) % 60)
  local finish = string.format("%02d:%02d", math.floor((slot + 1) * 15 / 60), ((slot + 1) * 15) % 60)
  local body = string.format(
    '{"patientId":"%s","doctorId":"%s","appointmentDate":"%s","startTime":"%s","endTime":"%s","reason":"bench"}',
    patient, doctor, date, start, finish)
  -- wrk.format replaces wrk.headers with a table it is given: copy them (the -H Authorization header) first.
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/api/v1/appointments", headers, body)
end
