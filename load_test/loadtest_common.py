"""Shared helpers of the Gospital load tests (locustfile_bulkhead.py, locustfile_database.py).

- `judge()` classifies every response the same way in both experiments:
  2xx is a success; 409 TIME_SLOT_NOT_AVAILABLE on a booking is a normal outcome (success, name
  "... (clash)"); 503 and 504 are *rejections* (failure, name "... (rejected 503)" / "(rejected 504)");
  anything else, including connection errors, is an unexpected failure and is logged with the request.
- `seed()` creates the shared data set (patients, doctors, medical records, invoices) through the API,
  once per run, with `X-User-Type: staff`, outside Locust's statistics.
- Every request carries `X-Request-Id: lt-<class>-<run id>-<n>`; the server echoes it in its JSON request
  log, so `server_latency.py` can report the server-side latency of each class for a run.
- The summary listener keeps every response time per traffic class and writes `<csv prefix>_classes.csv`
  and `summary.txt` beside the CSV reports when the run ends (exact nearest-rank percentiles).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import random
import secrets
import threading
import time
from collections import defaultdict
from urllib.parse import urlencode

# locust first: it monkey-patches the standard library for gevent before requests/urllib3 load ssl.
from locust import events  # isort: skip
from locust.exception import StopUser  # isort: skip
import requests  # isort: skip

log = logging.getLogger("gospital.loadtest")

API = "/api/v1"
DEPARTMENTS = ["DEPT-001", "DEPT-002", "DEPT-003", "DEPT-004", "DEPT-005", "DEPT-006"]
SPECIALTIES = {
    "DEPT-001": "Cardiology",
    "DEPT-002": "Emergency Medicine",
    "DEPT-003": "Pediatrics",
    "DEPT-004": "Orthopedics",
    "DEPT-005": "Radiology",
    "DEPT-006": "Oncology",
}

# How much data the run starts with (override with LOADTEST_SEED_PATIENTS etc.).
SEED_PATIENTS = int(os.environ.get("LOADTEST_SEED_PATIENTS", "40"))
SEED_DOCTORS = int(os.environ.get("LOADTEST_SEED_DOCTORS", "12"))
SEED_RECORDS = int(os.environ.get("LOADTEST_SEED_RECORDS", "40"))
SEED_INVOICES = int(os.environ.get("LOADTEST_SEED_INVOICES", "40"))

# One id per run keeps emails and licence numbers unique across runs against the same database.
# run.sh passes LOADTEST_RUN_ID so that server_latency.py can pick this run's requests out of the server log.
RUN_ID = os.environ.get("LOADTEST_RUN_ID") or (time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(3))

# Shared pools, filled by seed() and grown by the users' own writes.
PATIENT_IDS: list[str] = []
DOCTOR_IDS: list[str] = []
RECORD_IDS: list[str] = []
INVOICE_IDS: list[str] = []
POOL_CAP = 5000

_seed_lock = threading.Lock()  # gevent-patched under Locust
_seeded = False
_seed_error: str | None = None
_counter = 0



def auth(user_type: str) -> dict:
    """The bearer token of a class (SECURITY.md): GOSPITAL_STAFF_TOKEN for staff (e.g. `gospital token --role
    admin,doctor,nurse,receptionist,billing`), GOSPITAL_PUBLIC_TOKEN for public (a `patient` token, or a
    staff one to load the public cap). With authentication on, the class follows the token's role and
    X-User-Type is ignored; in mode off neither variable is needed."""
    token = os.environ.get("GOSPITAL_STAFF_TOKEN" if user_type == "staff" else "GOSPITAL_PUBLIC_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}

def unique(prefix: str) -> str:
    global _counter
    _counter += 1
    return f"{prefix}{RUN_ID}-{_counter}"


def remember(pool: list[str], value: str | None) -> None:
    if value and len(pool) < POOL_CAP:
        pool.append(value)


# --- request bodies -------------------------------------------------------------------------------

FIRST = ["Amara", "Sofia", "Liam", "Noah", "Mei", "Ravi", "Ines", "Omar", "Lena", "Kofi", "Yuki", "Aiko"]
LAST = ["Okafor", "Chen", "Garcia", "Novak", "Haddad", "Silva", "Kowalski", "Mensah", "Tanaka", "Rossi"]


def phone() -> str:
    return f"+1 555 {random.randint(100, 999)} {random.randint(1000, 9999)}"


def patient_body() -> dict:
    key = unique("p")
    return {
        "firstName": random.choice(FIRST),
        "lastName": random.choice(LAST),
        "dateOfBirth": f"{random.randint(1940, 2015)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}",
        "gender": random.choice(["male", "female", "other", "unknown"]),
        "email": f"lt.{key}@loadtest.example.org",
        "phone": phone(),
        "bloodType": random.choice(["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]),
        "allergies": random.choice([[], ["penicillin"], ["latex", "peanuts"]]),
    }


def doctor_body(i: int) -> dict:
    dept = DEPARTMENTS[i % len(DEPARTMENTS)]
    return {
        "firstName": random.choice(FIRST),
        "lastName": random.choice(LAST),
        "email": f"dr.{unique('d')}@loadtest.example.org",
        "phone": phone(),
        "specialty": SPECIALTIES[dept],
        "licenseNumber": unique("LT-"),
        "departmentId": dept,
        "yearsOfExperience": random.randint(1, 40),
    }


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def record_body(patient_id: str, doctor_id: str) -> dict:
    visit = utc_now() - dt.timedelta(minutes=random.randint(1, 60 * 24 * 30))
    return {
        "patientId": patient_id,
        "doctorId": doctor_id,
        "visitDate": visit.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "chiefComplaint": random.choice(["Chest pain", "Headache", "Fever", "Back pain", "Cough"]),
        "diagnosis": random.choice(["Observation", "Viral infection", "Muscle strain"]),
        "symptoms": ["fatigue"],
        "vitalSigns": {"bloodPressure": "120/80", "heartRate": random.randint(55, 100), "temperature": 36.8},
    }


def invoice_body(patient_id: str) -> dict:
    today = utc_now().date()
    return {
        "patientId": patient_id,
        "invoiceDate": today.isoformat(),
        "dueDate": (today + dt.timedelta(days=30)).isoformat(),
        "items": [
            {"description": "Consultation", "quantity": 1, "unitPrice": 150.00},
            {"description": "Lab panel", "quantity": random.randint(1, 3), "unitPrice": 42.50},
        ],
    }


def _working_days(count: int) -> list[dt.date]:
    """The next `count` Monday-to-Friday dates, starting tomorrow (UTC, the server's clock)."""
    day = utc_now().date()
    days = []
    while len(days) < count:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


BOOKING_DAYS = _working_days(int(os.environ.get("LOADTEST_BOOKING_DAYS", "120")))
SLOT_STARTS = [f"{9 + m // 60:02d}:{m % 60:02d}" for m in range(0, 8 * 60, 30)]  # 09:00 .. 16:30


def appointment_body(patient_id: str, doctor_id: str) -> dict:
    """A random 30-minute working-hour slot on a future working day, so most bookings succeed."""
    i = random.randrange(len(SLOT_STARTS))
    start = SLOT_STARTS[i]
    h, m = map(int, start.split(":"))
    m += 30
    end = f"{h + m // 60:02d}:{m % 60:02d}"
    return {
        "patientId": patient_id,
        "doctorId": doctor_id,
        "appointmentDate": random.choice(BOOKING_DAYS).isoformat(),
        "startTime": start,
        "endTime": end,
        "reason": random.choice(["Follow-up", "Check-up", "Consultation", "Test results"]),
    }


def availability_params() -> dict:
    start = random.choice(BOOKING_DAYS[:60])
    return {"startDate": start.isoformat(), "endDate": (start + dt.timedelta(days=6)).isoformat()}


# --- response classification ------------------------------------------------------------------------

_unexpected_logged = 0
_unexpected_path: str | None = None
UNEXPECTED_LOG_MAX = 200


def _error_code(r) -> str:
    try:
        return r.json()["error"]["code"]
    except Exception:  # noqa: BLE001 - any body that is not the envelope
        return ""


def _log_unexpected(r, method: str, url: str, body) -> None:
    global _unexpected_logged
    _unexpected_logged += 1
    if _unexpected_logged > UNEXPECTED_LOG_MAX:
        return
    text = (r.text or "")[:1000] if getattr(r, "text", None) is not None else ""
    line = {
        "time": utc_now().isoformat(timespec="milliseconds"),
        "method": method,
        "url": url,
        "status": r.status_code,
        "requestId": r.headers.get("x-request-id") if r.headers else None,
        "requestBody": body,
        "responseBody": text,
        "error": repr(getattr(r, "error", None)) if not r.status_code else None,
    }
    if _unexpected_path:
        with open(_unexpected_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
    else:
        log.warning("unexpected response: %s", json.dumps(line))


def judge(r, cls: str, op: str, method: str, url: str, body=None, clash_ok: bool = False) -> None:
    """Mark a catch_response response as success or failure and name it by outcome.

    The Locust name becomes "[cls] op", "[cls] op (clash)" or "[cls] op (rejected 503)", so the
    statistics show successes and rejections on separate rows.
    """
    status = r.status_code
    name = f"[{cls}] {op}"
    outcome = "ok"
    if 200 <= status < 300:
        r.success()
    elif status == 409 and clash_ok and _error_code(r) == "TIME_SLOT_NOT_AVAILABLE":
        name += " (clash)"
        outcome = "clash"
        r.success()
    elif status in (503, 504):
        code = _error_code(r) or "no envelope"
        name += f" (rejected {status})"
        outcome = f"rejected_{status}"
        r.failure(f"rejected {status} {code}")
    elif status == 0:
        outcome = "failed"
        r.failure(f"connection error: {getattr(r, 'error', None)!r}")
        _log_unexpected(r, method, url, body)
    else:
        outcome = "failed"
        r.failure(f"unexpected {status} {_error_code(r) or 'no envelope'}")
        _log_unexpected(r, method, url, body)
    r.request_meta["name"] = name
    r.request_meta["context"] = {"cls": cls, "outcome": outcome}


def call(user, method: str, path: str, op: str, *, params=None, json_body=None, clash_ok=False):
    """One request of a user, judged; returns the parsed body of a 2xx answer, else None."""
    # X-Request-Id is echoed by the server and appears in its request log (with latency_ms), so a
    # run's server-side latency per class can be read from the log: lt-<class>-<run>-<n>.
    headers = {"X-User-Type": user.user_type, "X-Request-Id": f"lt-{user.cls}-{unique('')}", **auth(user.user_type)}
    url = f"{path}?{urlencode(params)}" if params else path
    with user.client.request(
        method, url, json=json_body, headers=headers, name=f"[{user.cls}] {op}", catch_response=True
    ) as r:
        judge(r, user.cls, op, method, url, json_body, clash_ok)
        if 200 <= r.status_code < 300:
            try:
                return r.json()
            except Exception:  # noqa: BLE001
                return None
    return None


# --- seeding ------------------------------------------------------------------------------------------


class SeedError(RuntimeError):
    pass


def _post(session: requests.Session, base: str, path: str, body: dict, key: str) -> str:
    url = base + API + path
    for attempt in range(5):
        try:
            r = session.post(url, json=body, headers={"X-User-Type": "staff", **auth("staff")}, timeout=10)
        except requests.RequestException as e:
            raise SeedError(f"POST {url}: {e}") from e
        if r.status_code == 201:
            return r.json()[key]
        if r.status_code in (503, 504) and attempt < 4:
            time.sleep(0.2 * (attempt + 1))
            continue
        text = " ".join(r.text.split())[:300]
        raise SeedError(f"POST {url} -> {r.status_code}: {text}")
    raise SeedError(f"POST {url}: gave up")


def seed(host: str) -> None:
    """Create the run's data set once: patients, doctors (DEPT-001..006), records and invoices."""
    global _seeded, _seed_error
    with _seed_lock:
        if _seeded:
            return
        if _seed_error:
            raise SeedError(_seed_error)
        base = host.rstrip("/")
        started = time.monotonic()
        try:
            with requests.Session() as s:
                for i in range(SEED_DOCTORS):
                    DOCTOR_IDS.append(_post(s, base, "/doctors", doctor_body(i), "doctorId"))
                for _ in range(SEED_PATIENTS):
                    PATIENT_IDS.append(_post(s, base, "/patients", patient_body(), "patientId"))
                for _ in range(SEED_RECORDS):
                    body = record_body(random.choice(PATIENT_IDS), random.choice(DOCTOR_IDS))
                    RECORD_IDS.append(_post(s, base, "/medical-records", body, "recordId"))
                for _ in range(SEED_INVOICES):
                    body = invoice_body(random.choice(PATIENT_IDS))
                    INVOICE_IDS.append(_post(s, base, "/billing/invoices", body, "invoiceId"))
        except SeedError as e:
            _seed_error = str(e)
            raise
        _seeded = True
        log.info(
            "seeded %d doctors, %d patients, %d records, %d invoices in %.1fs (run id %s)",
            len(DOCTOR_IDS), len(PATIENT_IDS), len(RECORD_IDS), len(INVOICE_IDS),
            time.monotonic() - started, RUN_ID,
        )


def seed_or_stop(host: str) -> None:
    """For a user's on_start: make sure the data set exists; stop the user quietly if seeding failed."""
    try:
        seed(host)
    except SeedError:
        raise StopUser() from None


# --- per-class summary --------------------------------------------------------------------------------

OUTCOMES = ["ok", "clash", "rejected_503", "rejected_504", "failed"]
_times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
_window = {"start": None, "stop": None}
_summary_written = False


def _pct(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    k = max(0, math.ceil(q * len(sorted_values)) - 1)
    return round(sorted_values[k], 3)


def _fmt_ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


@events.request.add_listener
def _on_request(request_type, name, response_time, response_length, exception, context, **_kw):
    ctx = context or {}
    cls = ctx.get("cls")
    if not cls:
        return
    now = time.time()
    if _window["start"] is None:
        _window["start"] = now
    _window["stop"] = now
    _times[cls][ctx.get("outcome", "failed")].append(response_time)


def class_rows() -> list[dict]:
    duration = max(1e-9, (_window["stop"] or 0) - (_window["start"] or 0))
    rows = []
    for cls in sorted(_times):
        by = _times[cls]
        served = sorted(by["ok"] + by["clash"])
        every = sorted(v for o in OUTCOMES for v in by[o])
        rows.append({
            "class": cls,
            "requests": len(every),
            "ok": len(by["ok"]),
            "clash409": len(by["clash"]),
            "rejected503": len(by["rejected_503"]),
            "rejected504": len(by["rejected_504"]),
            "otherFailures": len(by["failed"]),
            "rejectedPct": round(100.0 * (len(by["rejected_503"]) + len(by["rejected_504"])) / max(1, len(every)), 2),
            "rps": round(len(every) / duration, 1),
            "servedP50ms": _pct(served, 0.50),
            "servedP95ms": _pct(served, 0.95),
            "servedP99ms": _pct(served, 0.99),
            "servedMaxms": round(served[-1], 3) if served else None,
            "allP50ms": _pct(every, 0.50),
            "allP99ms": _pct(every, 0.99),
        })
    return rows


def summary_text(rows: list[dict], cpu_warning: bool) -> str:
    head = (f"{'class':<10}{'requests':>9}{'ok':>8}{'clash':>7}{'rej503':>8}{'rej504':>8}{'other':>7}"
            f"{'rej%':>7}{'req/s':>8}   {'served p50/p95/p99/max ms':<26}{'all p50/p99 ms':<15}")
    lines = ["Per traffic class (served = 2xx + 409 clash; rejected = 503/504; other = any other failure):", head]
    for r in rows:
        served = "/".join(_fmt_ms(r[k]) for k in ("servedP50ms", "servedP95ms", "servedP99ms", "servedMaxms"))
        every = "/".join(_fmt_ms(r[k]) for k in ("allP50ms", "allP99ms"))
        lines.append(
            f"{r['class']:<10}{r['requests']:>9}{r['ok']:>8}{r['clash409']:>7}{r['rejected503']:>8}"
            f"{r['rejected504']:>8}{r['otherFailures']:>7}{r['rejectedPct']:>7.2f}{r['rps']:>8.1f}   "
            f"{served:<26}{every:<15}"
        )
    if not rows:
        lines.append("(no load-test requests were recorded: see locust.log)")
    if cpu_warning:
        lines.append("WARNING: Locust reported CPU usage above 90%: client-side delay is part of the "
                     "measured response times.")
    if _unexpected_logged:
        where = _unexpected_path or "the log"
        lines.append(f"{_unexpected_logged} unexpected response(s); the first {min(_unexpected_logged, UNEXPECTED_LOG_MAX)} "
                     f"are in {where}")
    return "\n".join(lines) + "\n"


def _results_dir(environment) -> str | None:
    prefix = getattr(environment.parsed_options, "csv_prefix", None) if environment.parsed_options else None
    return os.path.dirname(os.path.abspath(prefix)) if prefix else None


@events.init.add_listener
def _on_init(environment, **_kw):
    global _unexpected_path
    d = _results_dir(environment)
    if d:
        os.makedirs(d, exist_ok=True)
        _unexpected_path = os.path.join(d, "unexpected.jsonl")


@events.test_start.add_listener
def _on_test_start(environment, **_kw):
    try:
        seed(environment.host)
    except SeedError as e:
        log.error("seeding failed, stopping: %s", e)
        environment.process_exit_code = 1
        if environment.runner is not None:
            import gevent

            gevent.spawn_later(0.1, environment.runner.quit)


@events.quitting.add_listener
def _on_quitting(environment, **_kw):
    global _summary_written
    if _summary_written:
        return
    _summary_written = True
    rows = class_rows()
    cpu_warning = bool(getattr(environment.runner, "cpu_warning_emitted", False))
    text = summary_text(rows, cpu_warning)
    prefix = getattr(environment.parsed_options, "csv_prefix", None) if environment.parsed_options else None
    if prefix:
        import csv

        with open(f"{prefix}_classes.csv", "w", newline="", encoding="utf-8") as f:
            if rows:
                w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
                w.writeheader()
                w.writerows(rows)
        with open(os.path.join(os.path.dirname(os.path.abspath(prefix)), "summary.txt"), "w", encoding="utf-8") as f:
            f.write(text)
    print(text, flush=True)
    if environment.process_exit_code is None:
        # Rejections (503/504) and clashes are the experiment's expected outcomes; only unexpected
        # failures (other statuses, connection errors) make the run fail.
        environment.process_exit_code = 2 if any(r["otherFailures"] for r in rows) else 0
