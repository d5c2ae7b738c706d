#!/usr/bin/env bash
# The README walk-through: registers a patient and a doctor, books an appointment, shows the clash and the
# availability, writes a medical record and an invoice, and lists them, printing one line per answer.
#
# Runs against a serving gospital (GOSPITAL_URL, default http://127.0.0.1:8080) as often as you like on the same
# database: every run registers its own patient and doctor (email and licence carry a per-run number), so nothing
# clashes with an earlier run. Stops at the first answer it did not expect, printing it, and fails at once when
# nothing answers. Needs curl and python3.
#
# Dates: "today" is the server's UTC date (API.md); the booking goes on the next Monday after today (UTC).
set -euo pipefail

BASE="${GOSPITAL_URL:-http://127.0.0.1:8080}"
B="$BASE/api/v1"
# Every /api call sends this header when it is set; with authentication on, for example:
#   AUTH_HEADER="Authorization: Bearer $(gospital token --role receptionist)" scripts/walkthrough.sh
AUTH_HEADER="${AUTH_HEADER:-}"
RUN="$(date +%s%N)"

for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "walkthrough: $tool is needed" >&2; exit 1; }
done
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# call METHOD PATH EXPECTED_STATUS [BODY]: keeps the answer's body for `get`; exits 1 on any other status, or
# when nothing answers. Runs in this shell (never in $(...)), so its exit ends the walk-through.
call() {
    local method=$1 path=$2 want=$3 body=${4:-} status
    local args=(-sS -X "$method" -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json')
    if [ -n "$AUTH_HEADER" ]; then args+=(-H "$AUTH_HEADER"); fi
    if [ -n "$body" ]; then args+=(--data-binary "$body"); fi
    if ! status="$(curl "${args[@]}" "$B$path")"; then
        echo "walkthrough: no answer from $B$path: is gospital serving at $BASE?" >&2
        exit 1
    fi
    if [ "$status" != "$want" ]; then
        echo "walkthrough: $method $path answered $status, expected $want: $(cat "$TMP/body")" >&2
        exit 1
    fi
}

# get EXPRESSION: a Python expression over the last answer `a` (money stays exact: 378.00, not 378.0).
get() {
    python3 -c 'import decimal, json, sys
a = json.load(open(sys.argv[2]), parse_float=decimal.Decimal)
print(eval(sys.argv[1], {"a": a}))' "$1" "$TMP/body"
}

DAY="$(python3 -c 'import datetime as d; t = d.datetime.now(d.timezone.utc).date(); print(t + d.timedelta(days=(7 - t.weekday()) % 7 or 7))')"
TODAY="$(date -u +%F)"
NOW="$(date -u +%FT%TZ)"

# Register a patient
call POST /patients 201 '{"firstName":"Amara","lastName":"Okafor","dateOfBirth":"1985-03-15","gender":"female",
  "email":"amara.okafor.'"$RUN"'@example.org","phone":"+1 (555) 010-2233","allergies":["penicillin"]}'
PAT="$(get 'a["patientId"]')"
echo "patient       $PAT"

# Add a doctor to Cardiology (DEPT-001, seeded)
call POST /doctors 201 '{"firstName":"Sofia","lastName":"Chen","email":"sofia.chen.'"$RUN"'@example.org",
  "phone":"+1 555 010 9988","specialty":"Cardiology","licenseNumber":"MD-'"$RUN"'","departmentId":"DEPT-001"}'
DOC="$(get 'a["doctorId"]')"
echo "doctor        $DOC"

# Book 10:00-10:30 on the next Monday (dates before today are refused)
call POST /appointments 201 '{"patientId":"'"$PAT"'","doctorId":"'"$DOC"'","appointmentDate":"'"$DAY"'",
  "startTime":"10:00","endTime":"10:30","reason":"Chest pain follow-up"}'
echo "booked        $(get 'a["appointmentId"]') on $DAY $(get 'a["startTime"] + "-" + a["endTime"]')"

# 10:15-10:45 overlaps for the doctor and for the patient: 409 TIME_SLOT_NOT_AVAILABLE with two details
call POST /appointments 409 '{"patientId":"'"$PAT"'","doctorId":"'"$DOC"'","appointmentDate":"'"$DAY"'",
  "startTime":"10:15","endTime":"10:45","reason":"Palpitations"}'
echo "overlap       409 $(get 'a["error"]["code"]'), $(get 'len(a["error"]["details"])') details"

# Availability: 16 half-hour slots, 10:00-10:30 now unavailable
call GET "/doctors/$DOC/availability?startDate=$DAY" 200
echo "availability  $(get 'len(a["availability"])') slots, unavailable: $(get '" ".join(s["startTime"] for s in a["availability"] if not s["available"])')"

# A medical record and an invoice (money is exact: total 378.00)
call POST /medical-records 201 '{"patientId":"'"$PAT"'","doctorId":"'"$DOC"'","visitDate":"'"$NOW"'",
  "chiefComplaint":"Chest pain","vitalSigns":{"bloodPressure":"120/80"}}'
echo "record        $(get 'a["recordId"]')"
call POST /billing/invoices 201 '{"patientId":"'"$PAT"'","invoiceDate":"'"$TODAY"'","dueDate":"'"$DAY"'",
  "items":[{"description":"Cardiology consultation","quantity":1,"unitPrice":150.00},
           {"description":"ECG","quantity":2,"unitPrice":100}]}'
echo "invoice       $(get 'a["invoiceId"]'), total $(get 'a["total"]')"

# The patient's records and invoices, newest first, cursor-paged
call GET "/patients/$PAT/medical-records?limit=10" 200
RECORDS="$(get 'len(a["records"])')"
call GET "/patients/$PAT/invoices" 200
echo "lists         $RECORDS record(s), $(get 'len(a["invoices"])') invoice(s)"

# Who touched the patient's data ([audit], needs the auditor role): the registration, the booking (the refused one
# changed nothing), the record, the invoice and the two lists; the directory reads are not recorded
call GET "/patients/$PAT/access-log" 200
echo "access log    $(get 'len(a["entries"])') entries, newest: $(get 'a["entries"][0]["action"] + " " + a["entries"][0]["resourceType"]')"
