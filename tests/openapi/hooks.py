"""Schemathesis hooks for Gospital's contract run (loaded by run.sh through SCHEMATHESIS_HOOKS).

JSON Schema cannot state some of the contract's rules, so a value the document allows may still be refused with
400 VALIDATION_ERROR, which `positive_data_acceptance` would report as a finding. Each rule below is one the server
enforces and the HTTP suite tests (tests/api); the hooks only keep *positive* cases (values generated to fit the
schema) inside it, and leave every negative case as generated:

- dates relative to the server's "today" (UTC): dateOfBirth ≤ today, appointmentDate ≥ today, visitDate and
  paymentDate ≤ now + 5 min (API.md §2.1, §2.4, §2.6, §2.7);
- rules between two fields: endTime after startTime by 5-480 minutes, dueDate ≥ invoiceDate, followUpDate ≥ the
  visit's date, blood pressure SYS above DIA, an availability range of at most 31 days, endDate ≥ startDate, and
  the audit routes' `to` ≥ `from`;
- payment amounts judged against the stored invoice (400 INVALID_PAYMENT_DATA, §3.6 #29), and body references
  that must exist for a PUT on a resource just created (a random departmentId would read as "the doctor is gone"
  to `ensure_resource_availability`);
- integer fields take integer literals only (API.md §1.7), while JSON Schema's `integer` also admits 23.0;
- values only the server can issue: a paging cursor, a fresh Idempotency-Key per request, an If-Match version
  (dropped), an appointment reference (set to null: a generated one names no appointment), and the patient and
  doctor of a new booking, record or invoice (the last ones created in this run, recorded by `after_call`).

`filter_case` drops negative cases that hold a string with white space at either end: the server trims strings
before it measures them (§1.6), which no length or pattern keyword can say.
"""

import os
import datetime as dt
import json
import re
import uuid

import schemathesis
from schemathesis import GenerationMode

_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_BP = re.compile(r"^0*([0-9]+)/0*([0-9]+)$")


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _date(value):
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _timestamp(value):
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _minutes(value):
    if isinstance(value, str) and _TIME.match(value):
        h, m = value.split(":")[:2]
        return int(h) * 60 + int(m)
    return None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _integral_floats_to_ints(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_to_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_to_ints(v) for v in value]
    return value


def _fix_interval(body: dict, always: bool) -> None:
    """A future date and 10:00-10:30 when the sent interval breaks a rule (or, for a PUT, whenever any part of it
    is sent: the server merges it with stored values the case cannot see)."""
    keys = ("appointmentDate", "startTime", "endTime")
    if not any(k in body for k in keys):
        return
    date = _date(body.get("appointmentDate"))
    start, end = _minutes(body.get("startTime")), _minutes(body.get("endTime"))
    ok = date is not None and date >= _today() and start is not None and end is not None and 5 <= end - start <= 480
    if always or not ok:
        body["appointmentDate"] = (date if date and date >= _today() else _today() + dt.timedelta(days=30)).isoformat()
        start = start if start is not None and start <= 23 * 60 else 10 * 60
        body["startTime"], body["endTime"] = _hhmm(start), _hhmm(start + 30)


# The last patient and doctor the server created in this run (after_call), so that positive bookings, records and
# invoices name ones that exist instead of 404-ing on a generated ID and never reaching their own rules.
_CREATED: dict[str, str] = {}
_CREATES = {"/api/v1/patients": "patientId", "/api/v1/doctors": "doctorId"}


@schemathesis.hook
def after_call(context, case, response):
    key = _CREATES.get(case.operation.path)
    if key is None or case.operation.method.upper() != "POST" or response.status_code != 201:
        return
    try:
        created = json.loads(response.content).get(key)
    except (ValueError, AttributeError):
        return
    if isinstance(created, str):
        _CREATED[key] = created


def _fix_body(method: str, path: str, body: dict) -> None:
    today = _today()
    if method == "POST" and path in ("/api/v1/appointments", "/api/v1/medical-records", "/api/v1/billing/invoices"):
        for key, created in _CREATED.items():
            if key in body:
                body[key] = created
    now = dt.datetime.now(dt.timezone.utc)
    if path.startswith("/api/v1/patients") and "dateOfBirth" in body:
        d = _date(body["dateOfBirth"])
        if d is not None and not (dt.date(1900, 1, 1) <= d <= today):
            body["dateOfBirth"] = "1985-03-15"
    if path.startswith("/api/v1/appointments"):
        _fix_interval(body, always=method == "PUT")
    if path == "/api/v1/medical-records" or path.startswith("/api/v1/medical-records/"):
        visit = _timestamp(body.get("visitDate"))
        if visit is not None and not (dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc) <= visit <= now):
            body["visitDate"] = "2026-01-15T09:00:00Z"
            visit = _timestamp(body["visitDate"])
        if _date(body.get("followUpDate")) is not None:
            # On a PUT the stored visit is unknown; no visit in this run is after 2099.
            floor = visit.date() if method == "POST" and visit is not None else dt.date(2099, 1, 1)
            if _date(body["followUpDate"]) < floor:
                body["followUpDate"] = "2099-12-31"
        vitals = body.get("vitalSigns")
        if isinstance(vitals, dict) and isinstance(vitals.get("bloodPressure"), str):
            m = _BP.match(vitals["bloodPressure"])
            if m and int(m.group(1)) <= int(m.group(2)):
                vitals["bloodPressure"] = "120/80"
    if path == "/api/v1/billing/invoices":
        invoice, due = _date(body.get("invoiceDate")), _date(body.get("dueDate"))
        if invoice is not None and due is not None and due < invoice:
            body["invoiceDate"], body["dueDate"] = body["dueDate"], body["invoiceDate"]
    if path.endswith("/payment"):
        # Amounts are judged against the stored total, and `overdue` against the stored due date.
        body.pop("amountPaid", None)
        if body.get("paymentStatus") == "overdue":
            body["paymentStatus"] = "pending"
        paid_at = _timestamp(body.get("paymentDate"))
        if paid_at is not None and paid_at > now:
            body["paymentDate"] = "2026-01-15T09:00:00Z"
    if method == "POST" and path in ("/api/v1/billing/invoices", "/api/v1/medical-records"):
        # An optional appointment reference must name an existing appointment of the same patient (400
        # otherwise); a generated string names none.
        if isinstance(body.get("appointmentId"), str) and body["appointmentId"].strip():
            body["appointmentId"] = None
    if method == "PUT" and path.startswith("/api/v1/doctors/") and "departmentId" in body:
        body["departmentId"] = "DEPT-001"
    if method == "PUT" and path.startswith("/api/v1/departments/") and "headDoctorId" in body:
        body["headDoctorId"] = None


def _fix_query(path: str, query: dict) -> None:
    # A cursor is opaque and issued by the server (API.md §1.9); a generated one is refused as invalid.
    if isinstance(query.get("cursor"), str):
        del query["cursor"]
    start, end = _date(query.get("startDate")), _date(query.get("endDate"))
    if path.endswith("/availability"):
        first = start or _today()
        if end is not None and not (first <= end <= first + dt.timedelta(days=30)):
            query["endDate"] = first.isoformat()
    elif start is not None and end is not None and end < start:
        query["startDate"], query["endDate"] = query["endDate"], query["startDate"]
    # The audit routes' time range ([audit]): `from` must not be after `to` (400 otherwise, as for endDate).
    since, until = _timestamp(query.get("from")), _timestamp(query.get("to"))
    if since is not None and until is not None and until < since:
        query["from"], query["to"] = query["to"], query["from"]


def _fix_case(case):
    method, path = case.operation.method.upper(), case.operation.path
    if isinstance(case.body, dict):
        case.body = _integral_floats_to_ints(case.body)
        _fix_body(method, path, case.body)
    if isinstance(case.query, dict):
        _fix_query(path, case.query)
    headers = case.headers  # a case-insensitive mapping, not a dict
    if headers is not None and isinstance(headers.get("Idempotency-Key"), str):
        # One key per request: the document's example key, sent again with another body, is (rightly) 422.
        headers["Idempotency-Key"] = uuid.uuid4().hex
    if headers is not None:
        # If-Match must name the stored version, which a generator cannot know: a positive PUT or DELETE is sent
        # without it (an unconditional write) instead of being refused 412 before its body is ever judged.
        headers.pop("If-Match", None)


def _never_revoke_ourselves(case):
    # The run's one token can be revoked like any other (the fuzzer reads its sub from GET /me and may send it
    # back), and then every later request is rightly 401. Any other sub is revoked as asked.
    own = os.environ.get("GOSPITAL_TOKEN_SUB")
    body = case.body
    if (own and case.operation.path == "/api/v1/admin/revocations" and isinstance(body, dict)
            and isinstance(body.get("sub"), str) and body["sub"].strip() == own):
        body["sub"] = own + "-not-this-run"


@schemathesis.hook
def map_case(context, case):
    _never_revoke_ourselves(case)
    meta = getattr(case, "meta", None)
    if meta is not None and meta.generation.mode is GenerationMode.POSITIVE:
        _fix_case(case)
    return case


@schemathesis.hook
def before_add_examples(context, examples):
    # The examples phase builds its cases from the document's examples (all positive) and runs only this hook,
    # not map_case: combined property examples can break the same rules (a followUpDate example before the
    # visitDate example), and every case repeats the header example's Idempotency-Key.
    for case in examples:
        _never_revoke_ourselves(case)
        _fix_case(case)


def _has_padded_string(value) -> bool:
    if isinstance(value, str):
        return value != value.strip()
    if isinstance(value, dict):
        return any(_has_padded_string(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_padded_string(v) for v in value)
    return False


@schemathesis.hook
def filter_case(context, case):
    meta = getattr(case, "meta", None)
    if meta is not None and meta.generation.mode is GenerationMode.POSITIVE:
        # Padding is harmless in a positive case: trimmed, the value still fits (blank ones are kept out by
        # the not-blank pattern). Filtering positives would also make Hypothesis discard most of what it draws.
        return True
    return not (_has_padded_string(case.body) or _has_padded_string(case.query))
