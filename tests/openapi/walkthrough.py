#!/usr/bin/env python3
"""A scripted walk-through of the Gospital API through a client generated from its own /openapi.json.

run.sh generates the client (openapi-python-client, package `gospital_client`) into a temp dir and puts it on
PYTHONPATH; this script then registers a patient, adds a doctor to the seeded DEPT-001, books an appointment on
a future weekday, reads the doctor's availability, creates a medical record and an invoice, pays the invoice,
and reads everything back, asserting the key values.

Only the generated client's typed API is used: the `api.<tag>.<operationId>.sync_detailed` functions, the
request models and enums they declare, and the parsed response models. A schema mismatch is a failure:
- the client is built with raise_on_unexpected_status=True (an undocumented status raises);
- every call must answer the expected status and a parsed model of a documented success type (not None, not
  the error envelope); a parse exception (an enum value the document does not list, a missing required
  member, a wrong type) is a failure;
- response members that the document does not declare (they land in the models' `additional_properties`)
  are failures too;
- enum values are looked up by their wire spelling from API.md (`Gender("female")`), so a document that
  spells them otherwise fails at that point.

The walk goes on after a failure where it can (a created resource's ID is then taken from the raw response
that the client received, which an httpx event hook keeps only for that purpose and for the report), so one
run lists every failing point; the exit status is 1 if anything failed. Request and model classes are found
from the generated functions' own signatures, so a renamed schema component does not break the script.

Unique names, e-mail addresses and licence numbers per run: it can run many times on one database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import importlib
import json
import os
import re
import sys
import traceback
import types
import typing
from typing import Any

try:
    import gospital_client
    import gospital_client.errors
    from gospital_client import AuthenticatedClient, Client
    from gospital_client.types import UNSET, Unset
except ImportError as exc:  # pragma: no cover - a set-up error, not a finding
    sys.exit(f"walkthrough.py: cannot import the generated client 'gospital_client' ({exc}); run tests/openapi/run.sh")


# --------------------------------------------------------------------------------------------------------------
# Reporting


class Finding(Exception):
    """A contract failure seen through the generated client."""


class Blocked(Exception):
    """A step could not run because an earlier one produced nothing to work on."""


LAST: dict[str, Any] = {}  # the last raw response the client received: method, url, status, body (for reports)


def _keep_last_response(response) -> None:
    response.read()
    LAST.clear()
    LAST.update(
        method=response.request.method,
        url=str(response.request.url),
        request_body=(response.request.content or b"").decode("utf-8", "replace"),
        status=response.status_code,
        body=response.content.decode("utf-8", "replace"),
    )


def _last_json() -> Any:
    try:
        return json.loads(LAST.get("body") or "null")
    except ValueError:
        return None


class Walk:
    def __init__(self, stop_at_first: bool) -> None:
        self.stop_at_first = stop_at_first
        self.failures: list[tuple[str, str]] = []
        self.passed: list[str] = []
        self.blocked: list[tuple[str, str]] = []
        self.step_name = ""
        self.step_failed = False

    def fail(self, message: str) -> None:
        """Records a failure and lets the step go on (for failures after which later checks still mean something)."""
        self.step_failed = True
        self.failures.append((self.step_name, message))
        print(f"  FAIL {message}")
        if self.stop_at_first:
            raise SystemExit(self.finish())

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.fail(message)

    def step(self, name: str, fn) -> Any:
        self.step_name = name
        self.step_failed = False
        print(f"- {name}")
        try:
            result = fn()
        except Blocked as exc:
            self.blocked.append((name, str(exc)))
            print(f"  BLOCKED {exc}")
            return None
        except SystemExit:
            raise
        except Finding as exc:
            self.fail(str(exc))
            return None
        except Exception as exc:  # an unexpected exception inside the generated client is a finding too
            tb = traceback.extract_tb(exc.__traceback__)
            where = next((f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(tb)
                          if "gospital_client" in f.filename), "")
            self.fail(f"{type(exc).__name__}: {exc}" + (f" (in the generated client, {where})" if where else "")
                      + _raw_context())
            return None
        if not self.step_failed:
            self.passed.append(name)
            print("  ok")
        return result

    def finish(self) -> int:
        print()
        print(f"walk-through: {len(self.passed)} steps passed, {len(self.failures)} failures, "
              f"{len(self.blocked)} steps blocked")
        if self.failures:
            print("failures:")
            for step, message in self.failures:
                print(f"  [{step}] {message.splitlines()[0]}")
        if self.blocked:
            print("blocked steps:")
            for step, why in self.blocked:
                print(f"  [{step}] {why}")
        # The plain closing line that CI runners read.
        print(f"walkthrough: {len(self.passed)} passed, {len(self.failures) + len(self.blocked)} failed")
        return 0 if not self.failures and not self.blocked else 1


def _raw_context() -> str:
    if not LAST:
        return ""
    body = LAST["body"]
    if len(body) > 600:
        body = body[:600] + "…"
    req = LAST.get("request_body") or ""
    if len(req) > 400:
        req = req[:400] + "…"
    return (f"\n      request:  {LAST['method']} {LAST['url']}" + (f" body {req}" if req else "")
            + f"\n      response: {LAST['status']} {body}")


# --------------------------------------------------------------------------------------------------------------
# Reflection over the generated client (so renamed schema components do not break the walk)


def api(tag: str, operation_id: str) -> types.ModuleType:
    """The generated module of one operation: gospital_client.api.<tag>.<operationId>."""
    name = f"gospital_client.api.{tag}.{operation_id}"
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Finding(f"the generated client has no module {name} (operation missing or renamed in the "
                      f"document: {exc})") from None


def _union_members(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _union_members(a)]
    return [tp]


def _is_named_type(m: Any) -> bool:
    """A model or enum generated from a named component (not an inline alternative such as `…Type1`)."""
    if not isinstance(m, type) or m is str:
        return False
    named = issubclass(m, enum.Enum) or hasattr(m, "from_dict")
    return named and re.search(r"Type\d+$", m.__name__) is None


def _concrete(tp: Any) -> Any:
    """The one type in `X | None | Unset` (or `list[X] | Unset`) that is neither None nor Unset. The document also
    lists the blank string and `{}` (for an object with required members) as "unset" alternatives (API.md §1.7);
    a caller passes the named type, so that one is chosen when it is the only named one."""
    members = [m for m in _union_members(tp) if m is not type(None) and m is not Unset]
    if len(members) > 1:
        named = [m for m in members if _is_named_type(m)]
        if len(named) == 1:
            members = named
    if len(members) != 1:
        raise Finding(f"expected one concrete type in {tp}, got {members}")
    return members[0]


def body_type(module: types.ModuleType) -> type:
    hints = typing.get_type_hints(module.sync_detailed)
    if "body" not in hints:
        raise Finding(f"{module.__name__}.sync_detailed takes no body (request body missing in the document)")
    return _concrete(hints["body"])


def _model_hints(model: type) -> dict[str, Any]:
    module = sys.modules[model.__module__]
    namespace = dict(vars(importlib.import_module("gospital_client.models")))
    namespace.update(vars(module))
    return typing.get_type_hints(model, globalns=namespace)


def field_type(model: type, field: str) -> type:
    """The model class (or enum) of one member of a generated model, e.g. field_type(PatientCreate, 'address')."""
    hints = _model_hints(model)
    if field not in hints:
        raise Finding(f"{model.__name__} has no member '{field}' (documented fields: {sorted(hints)})")
    tp = _concrete(hints[field])
    if typing.get_origin(tp) is list:
        tp = typing.get_args(tp)[0]
    return tp


def wire_enum(model: type, field: str, value: str) -> enum.Enum | str:
    """The generated enum member for an API.md wire value (a Finding when the document spells it otherwise)."""
    tp = field_type(model, field)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise Finding(f"{model.__name__}.{field}: the document's enum {tp.__name__} has no wire value "
                          f"{value!r} (it lists {[m.value for m in tp]})") from None
    if tp is str:
        return value  # documented as a plain string (no enum in the document)
    raise Finding(f"{model.__name__}.{field} is documented as {tp}, not an enum or string")


def success_types(module: types.ModuleType) -> list[type]:
    """The model types the operation can return, less the error envelope (any model with an `error` member)."""
    ret = typing.get_type_hints(module.sync_detailed)["return"]
    parsed = typing.get_args(ret)[0] if typing.get_args(ret) else Any
    out = []
    for m in _union_members(parsed):
        if isinstance(m, type) and hasattr(m, "from_dict") and "error" in _model_hints(m):
            continue
        out.append(m)
    return out


def undocumented_members(value: Any, path: str = "") -> list[str]:
    """Paths of response members that landed in additional_properties (the document does not declare them)."""
    found: list[str] = []
    if hasattr(value, "additional_properties") and hasattr(value, "to_dict"):
        for key in value.additional_properties:
            found.append(f"{path}.{key}".lstrip("."))
        for name in getattr(type(value), "__attrs_attrs__", ()):
            if name.name != "additional_properties":
                found += undocumented_members(getattr(value, name.name), f"{path}.{name.name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += undocumented_members(item, f"{path}[{i}]")
    return found


# --------------------------------------------------------------------------------------------------------------
# One call through the typed API


def call(walk: Walk, module: types.ModuleType, expect: int, *args, **kwargs):
    """Calls module.sync_detailed; returns (response, parsed model). Raises Finding on a status or parse problem."""
    op = module.__name__.rsplit(".", 1)[-1]
    LAST.clear()
    try:
        response = module.sync_detailed(*args, **kwargs)
    except gospital_client.errors.UnexpectedStatus as exc:
        raise Finding(f"{op}: undocumented status {exc.status_code}" + _raw_context()) from None
    except Exception as exc:
        raise Finding(f"{op}: the generated client could not parse the response: {type(exc).__name__}: {exc}"
                      + _raw_context()) from None
    if int(response.status_code) != expect:
        raise Finding(f"{op}: expected {expect}, got {int(response.status_code)}" + _raw_context())
    parsed = response.parsed
    allowed = success_types(module)
    if parsed is None:
        raise Finding(f"{op}: status {expect} but .parsed is None (the document declares no body for it)"
                      + _raw_context())
    if allowed and not any(isinstance(parsed, t) for t in allowed if isinstance(t, type)):
        raise Finding(f"{op}: parsed a {type(parsed).__name__}, expected one of "
                      f"{[getattr(t, '__name__', t) for t in allowed]}" + _raw_context())
    extra = undocumented_members(parsed)
    walk.check(not extra, f"{op}: response members not in the document: {extra}")
    return response, parsed


def created_id(walk: Walk, module, id_field: str, attr: str, *args, **kwargs):
    """A create call: (model or None, new ID). On a parse failure after a real 201 the ID comes from the raw body
    (recorded as a failure), so that later steps still run."""
    try:
        response, model = call(walk, module, 201, *args, **kwargs)
    except Finding as exc:
        walk.fail(str(exc))
        raw = _last_json()
        if LAST.get("status") == 201 and isinstance(raw, dict) and raw.get(id_field):
            print(f"  (going on with {id_field} {raw[id_field]} from the raw 201 body)")
            return None, raw[id_field]
        raise Blocked(f"no {id_field} was created") from None
    new_id = getattr(model, attr)
    location = response.headers.get("location")
    walk.check(location is not None and location.endswith("/" + new_id),
               f"{module.__name__.rsplit('.', 1)[-1]}: Location header {location!r} does not name {new_id}")
    return model, new_id


def eq(walk: Walk, what: str, got: Any, want: Any) -> None:
    walk.check(got == want, f"{what}: got {got!r}, want {want!r}")


def need(ctx: dict, *keys: str) -> None:
    missing = [k for k in keys if not ctx.get(k)]
    if missing:
        raise Blocked(f"needs {', '.join(missing)} from an earlier step")


# --------------------------------------------------------------------------------------------------------------
# The walk


def next_weekday(today: dt.date) -> dt.date:
    day = today + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--openapi", help="the document the client was generated from (checks its enums)")
    parser.add_argument("--stop-at-first", action="store_true", help="stop at the first failure")
    opts = parser.parse_args()

    common = dict(
        base_url=opts.base_url.rstrip("/"),
        raise_on_unexpected_status=True,
        timeout=None,
        httpx_args={"event_hooks": {"response": [_keep_last_response]}},
    )
    # With authentication on (SECURITY.md), the bearer token run.sh minted; the client sends it on every call.
    token = os.environ.get("GOSPITAL_TOKEN")
    client = AuthenticatedClient(token=token, **common) if token else Client(**common)
    walk = Walk(opts.stop_at_first)
    ctx: dict[str, Any] = {}
    run = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S") + os.urandom(3).hex()
    today = dt.datetime.now(dt.timezone.utc).date()
    day = next_weekday(today)
    print(f"walk-through against {opts.base_url} (run {run}; booking on {day.isoformat()})")

    # --- the generated enums carry every documented value ------------------------------------------------
    if opts.openapi:
        walk.step("every documented enum value survives generation", lambda: check_enums(walk, opts.openapi))

    # --- register a patient ---------------------------------------------------------------------------------
    def register_patient():
        op = api("patients", "create_patient")
        body_cls = body_type(op)
        kwargs = dict(
            first_name="Amara", last_name=f"Okafor{run[-6:]}", date_of_birth=dt.date(1985, 3, 15),
            email=f"amara.{run}@example.org", phone="+1 (555) 010-2233", allergies=["penicillin"],
            address=field_type(body_cls, "address")(street="12 Elm Street", city="Springfield", state="IL",
                                                     zip_code="62701", country="USA"),
            emergency_contact=field_type(body_cls, "emergency_contact")(name="Chidi Okafor", relationship="brother",
                                                                         phone="+1 555 010 4455"),
        )
        for field, value in (("gender", "female"), ("blood_type", "O+")):
            try:
                kwargs[field] = wire_enum(body_cls, field, value)
            except Finding as exc:
                walk.fail(f"{exc}; registering without {field}")
        model, pid = created_id(walk, op, "patientId", "patient_id", client=client, body=body_cls(**kwargs))
        ctx.update(patient_id=pid, patient_last=kwargs["last_name"], patient_email=kwargs["email"],
                   patient_sent=kwargs)
        if model is not None:
            eq(walk, "patient.status", model.status, "active")
            eq(walk, "patient.email", model.email, kwargs["email"])
            eq(walk, "patient.date_of_birth", model.date_of_birth, dt.date(1985, 3, 15))
            eq(walk, "patient.allergies", model.allergies, ["penicillin"])
            if "gender" in kwargs:
                eq(walk, "patient.gender", model.gender, "female")
            if "blood_type" in kwargs:
                eq(walk, "patient.blood_type", model.blood_type, "O+")

    walk.step("register a patient (POST /api/v1/patients)", register_patient)

    # --- add a doctor to DEPT-001 ---------------------------------------------------------------------------
    def read_department():
        _, dept = call(walk, api("departments", "get_department"), 200, "DEPT-001", client=client)
        eq(walk, "department.department_id", dept.department_id, "DEPT-001")
        ctx["department_name"] = dept.name
        ctx["department_doctors_before"] = dept.number_of_doctors

    walk.step("read the seeded department (GET /api/v1/departments/DEPT-001)", read_department)

    def add_doctor():
        op = api("doctors", "create_doctor")
        body_cls = body_type(op)
        body = body_cls(first_name="Sofia", last_name=f"Chen{run[-6:]}", email=f"sofia.{run}@example.org",
                        phone="+1 555 010 9000", specialty="Cardiology", license_number=f"LIC-{run}",
                        department_id="DEPT-001", years_of_experience=12, qualifications=["MD", "FACC"])
        model, did = created_id(walk, op, "doctorId", "doctor_id", client=client, body=body)
        ctx.update(doctor_id=did, doctor_name=f"Dr. Sofia Chen{run[-6:]}", license=f"LIC-{run}")
        if model is not None:
            eq(walk, "doctor.status", model.status, "active")
            eq(walk, "doctor.department_id", model.department_id, "DEPT-001")
            if ctx.get("department_name"):
                eq(walk, "doctor.department_name", model.department_name, ctx["department_name"])
            eq(walk, "doctor.years_of_experience", model.years_of_experience, 12)
            eq(walk, "doctor.qualifications", model.qualifications, ["MD", "FACC"])

    walk.step("add a doctor to DEPT-001 (POST /api/v1/doctors)", add_doctor)

    # --- book an appointment --------------------------------------------------------------------------------
    def book():
        need(ctx, "patient_id", "doctor_id")
        op = api("appointments", "create_appointment")
        body = body_type(op)(patient_id=ctx["patient_id"], doctor_id=ctx["doctor_id"], appointment_date=day,
                             start_time="10:00", end_time="10:30", reason="Chest pain follow-up")
        model, aid = created_id(walk, op, "appointmentId", "appointment_id", client=client, body=body)
        ctx["appointment_id"] = aid
        if model is not None:
            eq(walk, "appointment.status", model.status, "scheduled")
            eq(walk, "appointment.appointment_date", model.appointment_date, day)
            eq(walk, "appointment.start_time", model.start_time, "10:00:00")
            eq(walk, "appointment.end_time", model.end_time, "10:30:00")
            eq(walk, "appointment.patient_name", model.patient_name, f"Amara {ctx['patient_last']}")
            eq(walk, "appointment.doctor_name", model.doctor_name, ctx["doctor_name"])
            eq(walk, "appointment.department_id", model.department_id, "DEPT-001")

    walk.step(f"book an appointment on {day} 10:00-10:30 (POST /api/v1/appointments)", book)

    # --- availability ---------------------------------------------------------------------------------------
    def availability():
        need(ctx, "doctor_id")
        _, avail = call(walk, api("doctors", "doctor_availability"), 200, ctx["doctor_id"], client=client,
                        start_date=day, end_date=day)
        eq(walk, "availability.doctor_id", avail.doctor_id, ctx["doctor_id"])
        eq(walk, "availability.start_date", avail.start_date, day)
        eq(walk, "availability.end_date", avail.end_date, day)
        eq(walk, "number of slots (09:00-17:00, 30 min)", len(avail.availability), 16)
        slots = {s.start_time: s for s in avail.availability}
        if ctx.get("appointment_id"):
            eq(walk, "slot 10:00:00 available", getattr(slots.get("10:00:00"), "available", None), False)
        eq(walk, "slot 10:30:00 available", getattr(slots.get("10:30:00"), "available", None), True)
        eq(walk, "slot 10:00:00 date", getattr(slots.get("10:00:00"), "date", None), day)

    walk.step(f"read the doctor's availability on {day} (GET /api/v1/doctors/{{id}}/availability)", availability)

    # --- medical record -------------------------------------------------------------------------------------
    visit = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).replace(microsecond=250_000)

    def create_record():
        need(ctx, "patient_id", "doctor_id")
        op = api("medical_records", "create_record")
        body_cls = body_type(op)
        kwargs = dict(
            patient_id=ctx["patient_id"], doctor_id=ctx["doctor_id"], visit_date=visit,
            chief_complaint="Chest pain", diagnosis="Stable angina", symptoms=["chest pain", "fatigue"],
            treatment="Rest; beta blocker",
            prescriptions=[field_type(body_cls, "prescriptions")(medication="Metoprolol", dosage="25 mg",
                                                                   frequency="twice daily", duration="30 days")],
            lab_results=[field_type(body_cls, "lab_results")(test_name="Troponin I", result="0.01 ng/mL",
                                                               normal_range="< 0.04 ng/mL")],
            vital_signs=field_type(body_cls, "vital_signs")(blood_pressure="128/82", heart_rate=72, temperature=36.8,
                                                            weight=70.5, height=172.0),
            notes="Walk-through record", follow_up_date=day + dt.timedelta(days=14),
        )
        if ctx.get("appointment_id"):
            kwargs["appointment_id"] = ctx["appointment_id"]
        model, rid = created_id(walk, op, "recordId", "record_id", client=client, body=body_cls(**kwargs))
        ctx["record_id"] = rid
        if model is not None:
            eq(walk, "record.doctor_name", model.doctor_name, ctx["doctor_name"])
            eq(walk, "record.visit_date (ms, UTC)", model.visit_date, visit.replace(microsecond=250_000))
            eq(walk, "record.vital_signs.heart_rate", model.vital_signs.heart_rate, 72)

    walk.step("create a medical record (POST /api/v1/medical-records)", create_record)

    # --- invoice --------------------------------------------------------------------------------------------
    def create_invoice():
        need(ctx, "patient_id")
        op = api("billing", "create_invoice")
        body_cls = body_type(op)
        item = field_type(body_cls, "items")
        kwargs = dict(patient_id=ctx["patient_id"], invoice_date=today, due_date=today + dt.timedelta(days=30),
                      items=[item(description="Cardiology consultation", quantity=1, unit_price=150.00),
                             item(description="ECG", quantity=2, unit_price=100)],
                      notes="Walk-through invoice")
        if ctx.get("appointment_id"):
            kwargs["appointment_id"] = ctx["appointment_id"]
        model, iid = created_id(walk, op, "invoiceId", "invoice_id", client=client, body=body_cls(**kwargs))
        ctx["invoice_id"] = iid
        if model is not None:
            eq(walk, "invoice.payment_status", model.payment_status, "pending")
            eq(walk, "invoice.subtotal", model.subtotal, 350)
            eq(walk, "invoice.tax_rate", model.tax_rate, 0.08)
            eq(walk, "invoice.tax", model.tax, 28)
            eq(walk, "invoice.total", model.total, 378)
            eq(walk, "invoice.amount_paid", model.amount_paid, 0)
            eq(walk, "invoice.amount_due", model.amount_due, 378)
            eq(walk, "invoice.items[1].amount", model.items[1].amount, 200)
            eq(walk, "invoice.patient_name", model.patient_name, f"Amara {ctx['patient_last']}")

    walk.step("create an invoice (POST /api/v1/billing/invoices)", create_invoice)

    # --- pay it ---------------------------------------------------------------------------------------------
    def pay():
        need(ctx, "invoice_id")
        op = api("billing", "update_payment")
        body_cls = body_type(op)
        kwargs = {"payment_status": wire_enum(body_cls, "payment_status", "paid")}
        try:
            kwargs["payment_method"] = wire_enum(body_cls, "payment_method", "credit_card")
        except Finding as exc:
            walk.fail(f"{exc}; paying without payment_method")
        _, inv = call(walk, op, 200, ctx["invoice_id"], client=client, body=body_cls(**kwargs))
        ctx["paid"] = True
        eq(walk, "invoice.payment_status", inv.payment_status, "paid")
        eq(walk, "invoice.amount_paid", inv.amount_paid, 378)
        eq(walk, "invoice.amount_due", inv.amount_due, 0)
        walk.check(not isinstance(inv.payment_date, Unset) and inv.payment_date is not None,
                   "invoice.payment_date is unset after paying")
        if "payment_method" in kwargs:
            eq(walk, "invoice.payment_method", inv.payment_method, "credit_card")

    walk.step("pay the invoice (PUT /api/v1/billing/invoices/{id}/payment, paymentStatus paid)", pay)

    # --- read everything back -------------------------------------------------------------------------------
    def read_patient():
        need(ctx, "patient_id")
        _, p = call(walk, api("patients", "get_patient"), 200, ctx["patient_id"], client=client)
        sent = ctx["patient_sent"]
        eq(walk, "patient.patient_id", p.patient_id, ctx["patient_id"])
        eq(walk, "patient.last_name", p.last_name, sent["last_name"])
        eq(walk, "patient.status", p.status, "active")
        eq(walk, "patient.address.city", getattr(p.address, "city", None), "Springfield")
        eq(walk, "patient.address.zip_code", getattr(p.address, "zip_code", None), "62701")
        eq(walk, "patient.emergency_contact.name", getattr(p.emergency_contact, "name", None), "Chidi Okafor")
        if "gender" in sent:
            eq(walk, "patient.gender", p.gender, "female")
        if "blood_type" in sent:
            eq(walk, "patient.blood_type", p.blood_type, "O+")
        walk.check(isinstance(p.created_at, dt.datetime) and p.created_at.tzinfo is not None,
                   f"patient.created_at is not an aware datetime: {p.created_at!r}")

    walk.step("read the patient back (GET /api/v1/patients/{id})", read_patient)

    def find_patient():
        need(ctx, "patient_id")
        _, page = call(walk, api("patients", "list_patients"), 200, client=client, email=ctx["patient_email"])
        eq(walk, "patients found by email", [p.patient_id for p in page.data], [ctx["patient_id"]])
        eq(walk, "pagination.total_items", page.pagination.total_items, 1)

    walk.step("find the patient by e-mail (GET /api/v1/patients?email=)", find_patient)

    def read_doctor():
        need(ctx, "doctor_id")
        _, d = call(walk, api("doctors", "get_doctor"), 200, ctx["doctor_id"], client=client)
        eq(walk, "doctor.license_number", d.license_number, ctx["license"])
        eq(walk, "doctor.status", d.status, "active")
        eq(walk, "doctor.department_id", d.department_id, "DEPT-001")

    walk.step("read the doctor back (GET /api/v1/doctors/{id})", read_doctor)

    def list_doctors():
        need(ctx, "doctor_id")
        _, page = call(walk, api("doctors", "list_doctors"), 200, client=client, department_id="DEPT-001",
                       status=wire_enum_param("doctors", "list_doctors", "status", "active"), limit=100)
        walk.check(ctx["doctor_id"] in [d.doctor_id for d in page.data],
                   "the new doctor is not among the active doctors of DEPT-001 (newest first, limit 100)")

    walk.step("list the active doctors of DEPT-001 (GET /api/v1/doctors?departmentId=&status=active)",
              list_doctors)

    def department_doctors():
        need(ctx, "doctor_id")
        _, dd = call(walk, api("departments", "department_doctors"), 200, "DEPT-001", client=client)
        eq(walk, "department_doctors.department_id", dd.department_id, "DEPT-001")
        walk.check(ctx["doctor_id"] in [d.doctor_id for d in dd.doctors],
                   "the new doctor is not listed under DEPT-001")

    walk.step("list DEPT-001's doctors (GET /api/v1/departments/DEPT-001/doctors)", department_doctors)

    def read_appointment():
        need(ctx, "appointment_id")
        _, a = call(walk, api("appointments", "get_appointment"), 200, ctx["appointment_id"], client=client)
        eq(walk, "appointment.status", a.status, "scheduled")
        eq(walk, "appointment.patient_id", a.patient_id, ctx["patient_id"])
        eq(walk, "appointment.doctor_id", a.doctor_id, ctx["doctor_id"])
        eq(walk, "appointment.start_time", a.start_time, "10:00:00")

    walk.step("read the appointment back (GET /api/v1/appointments/{id})", read_appointment)

    def list_appointments():
        need(ctx, "appointment_id")
        _, page = call(walk, api("appointments", "list_appointments"), 200, client=client,
                       patient_id=ctx["patient_id"])
        eq(walk, "the patient's appointments", [a.appointment_id for a in page.data], [ctx["appointment_id"]])

    walk.step("list the patient's appointments (GET /api/v1/appointments?patientId=)", list_appointments)

    def read_record():
        need(ctx, "record_id")
        _, r = call(walk, api("medical_records", "get_record"), 200, ctx["record_id"], client=client)
        eq(walk, "record.patient_id", r.patient_id, ctx["patient_id"])
        eq(walk, "record.chief_complaint", r.chief_complaint, "Chest pain")
        eq(walk, "record.prescriptions[0].medication",
           r.prescriptions[0].medication if r.prescriptions else None, "Metoprolol")
        eq(walk, "record.lab_results[0].normal_range",
           r.lab_results[0].normal_range if r.lab_results else None, "< 0.04 ng/mL")
        eq(walk, "record.vital_signs.blood_pressure", getattr(r.vital_signs, "blood_pressure", None), "128/82")
        eq(walk, "record.vital_signs.temperature", getattr(r.vital_signs, "temperature", None), 36.8)
        eq(walk, "record.follow_up_date", r.follow_up_date, day + dt.timedelta(days=14))
        if ctx.get("appointment_id"):
            eq(walk, "record.appointment_id", r.appointment_id, ctx["appointment_id"])

    walk.step("read the medical record back (GET /api/v1/medical-records/{id})", read_record)

    def list_records():
        need(ctx, "record_id")
        _, lst = call(walk, api("patients", "list_patient_records"), 200, ctx["patient_id"], client=client)
        eq(walk, "records of the patient", [r.record_id for r in lst.records], [ctx["record_id"]])
        eq(walk, "records next_cursor", lst.next_cursor, None)

    walk.step("list the patient's records (GET /api/v1/patients/{id}/medical-records)", list_records)

    def read_invoice():
        need(ctx, "invoice_id")
        _, inv = call(walk, api("billing", "get_invoice"), 200, ctx["invoice_id"], client=client)
        eq(walk, "invoice.patient_id", inv.patient_id, ctx["patient_id"])
        eq(walk, "invoice.total", inv.total, 378)
        eq(walk, "invoice.items", [(i.description, i.quantity, i.unit_price, i.amount) for i in inv.items],
           [("Cardiology consultation", 1, 150, 150), ("ECG", 2, 100, 200)])
        if ctx.get("paid"):
            eq(walk, "invoice.payment_status", inv.payment_status, "paid")
            eq(walk, "invoice.amount_due", inv.amount_due, 0)

    walk.step("read the invoice back (GET /api/v1/billing/invoices/{id})", read_invoice)

    def list_invoices():
        need(ctx, "invoice_id")
        _, lst = call(walk, api("patients", "list_patient_invoices"), 200, ctx["patient_id"], client=client)
        eq(walk, "invoices of the patient", [i.invoice_id for i in lst.invoices], [ctx["invoice_id"]])
        eq(walk, "invoices next_cursor", lst.next_cursor, None)

    walk.step("list the patient's invoices (GET /api/v1/patients/{id}/invoices)", list_invoices)

    return walk.finish()


def check_enums(walk: Walk, doc_path: str) -> None:
    """openapi-python-client names enum members after their values; values that sanitise to one name (`A+` and
    `A-` both become `A`) silently collapse to one member. Compare each component enum with its class."""
    with open(doc_path) as fh:
        doc = json.load(fh)
    models = importlib.import_module("gospital_client.models")
    for name, schema in sorted(doc.get("components", {}).get("schemas", {}).items()):
        if "enum" not in schema:
            continue
        cls = getattr(models, name, None) or getattr(models, "".join(p[:1].upper() + p[1:] for p in name.split("_")), None)
        if cls is None or not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
            walk.fail(f"enum {name}: no generated enum class of that name")
            continue
        want = [v for v in schema["enum"] if v is not None]
        got = {m.value for m in cls}
        lost = [v for v in want if v not in got]
        walk.check(not lost, f"enum {name}: the generated {cls.__name__} lost {lost} (documented {want}, "
                             f"members {[(m.name, m.value) for m in cls]})")


def wire_enum_param(tag: str, operation_id: str, param: str, value: str):
    """The generated enum member for a query parameter's wire value, e.g. list_doctors(status='active')."""
    module = api(tag, operation_id)
    hints = typing.get_type_hints(module.sync_detailed)
    if param not in hints:
        raise Finding(f"{operation_id} has no query parameter '{param}' in the document")
    tp = _concrete(hints[param])
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise Finding(f"{operation_id}?{param}: the document's enum {tp.__name__} has no wire value {value!r} "
                          f"(it lists {[m.value for m in tp]})") from None
    return value


if __name__ == "__main__":
    sys.exit(main())
