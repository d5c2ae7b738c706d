"""Database experiment: load on one store, and what it does to the other.

The Go original's MySQL-heavy and DynamoDB-heavy users, mapped onto the Rust service's two store ports:

- RelationalUser works the relational store R (patients, doctors, appointments: MySQL or SQLite).
- RecordsUser works the records store D (medical records and invoices: DynamoDB or SQL). Creating a
  record or an invoice and listing a patient's records/invoices also read the patient from R.

Each store sits behind its own circuit breaker, bulkhead (GOSPITAL_CLINIC_BULKHEAD /
GOSPITAL_RECORDS_BULKHEAD) and per-call timeout: a saturated store answers 503 SERVICE_UNAVAILABLE
(504 REQUEST_TIMEOUT at the request deadline) instead of queueing without bound, and the other
class's latency shows whether the stores are isolated. Both classes send `X-User-Type: staff`, so
the per-class in-flight caps are not what is measured here.

Outcomes (see loadtest_common.judge): 2xx success; 409 TIME_SLOT_NOT_AVAILABLE on a booking is a
normal outcome ("... (clash)"); 503/504 are rejections ("... (rejected 503)"); anything else is an
unexpected failure, written to unexpected.jsonl beside the reports.

Run through run.sh:
    load_test/run.sh database --users 50 --time 60s
    load_test/run.sh database --users 25 --time 30s --class RecordsUser     # records store alone
Knobs (environment): LOADTEST_RELATIONAL_WEIGHT (1), LOADTEST_RECORDS_WEIGHT (1),
LOADTEST_DB_WAIT ("0-0.1" seconds between a user's requests), and the seed sizes of loadtest_common.py.
"""

from __future__ import annotations

import os
import random

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

import loadtest_common as common
from loadtest_common import API, call, remember


def _wait():
    lo, hi = (float(x) for x in os.environ.get("LOADTEST_DB_WAIT", "0-0.1").split("-"))
    return between(lo, hi)


class _StoreUser(FastHttpUser):
    abstract = True
    user_type = "staff"
    wait_time = _wait()

    def on_start(self):
        common.seed_or_stop(self.host)  # no-op once the test_start listener has seeded


class RelationalUser(_StoreUser):
    """Patients, doctors and appointments: relational store R (the original's MySQL user)."""

    cls = "relational"
    weight = int(os.environ.get("LOADTEST_RELATIONAL_WEIGHT", "1"))

    @task(5)
    def register_patient(self):
        body = call(self, "POST", f"{API}/patients", "register patient", json_body=common.patient_body())
        if body:
            remember(common.PATIENT_IDS, body.get("patientId"))

    @task(20)
    def read_patient(self):
        call(self, "GET", f"{API}/patients/{random.choice(common.PATIENT_IDS)}", "read patient")

    @task(15)
    def search_patients(self):
        params = {"page": random.randint(1, 3), "limit": 20}
        if random.random() < 0.3:
            params["name"] = random.choice(common.LAST)[:4]
        call(self, "GET", f"{API}/patients", "search patients", params=params)

    @task(10)
    def read_doctor(self):
        call(self, "GET", f"{API}/doctors/{random.choice(common.DOCTOR_IDS)}", "read doctor")

    @task(10)
    def list_doctors(self):
        params = {"limit": 20}
        if random.random() < 0.5:
            params["departmentId"] = random.choice(common.DEPARTMENTS)
        call(self, "GET", f"{API}/doctors", "list doctors", params=params)

    @task(10)
    def doctor_availability(self):
        call(self, "GET", f"{API}/doctors/{random.choice(common.DOCTOR_IDS)}/availability",
             "doctor availability", params=common.availability_params())

    @task(10)
    def book_appointment(self):
        body = common.appointment_body(random.choice(common.PATIENT_IDS), random.choice(common.DOCTOR_IDS))
        call(self, "POST", f"{API}/appointments", "book appointment", json_body=body, clash_ok=True)

    @task(10)
    def list_appointments(self):
        call(self, "GET", f"{API}/appointments", "list appointments",
             params={"doctorId": random.choice(common.DOCTOR_IDS), "limit": 20})


class RecordsUser(_StoreUser):
    """Medical records and invoices: records store D (the original's DynamoDB user)."""

    cls = "records"
    weight = int(os.environ.get("LOADTEST_RECORDS_WEIGHT", "1"))

    @task(10)
    def create_medical_record(self):
        body = common.record_body(random.choice(common.PATIENT_IDS), random.choice(common.DOCTOR_IDS))
        created = call(self, "POST", f"{API}/medical-records", "create medical record", json_body=body)
        if created:
            remember(common.RECORD_IDS, created.get("recordId"))

    @task(20)
    def read_medical_record(self):
        call(self, "GET", f"{API}/medical-records/{random.choice(common.RECORD_IDS)}", "read medical record")

    @task(5)
    def amend_medical_record(self):
        body = {"diagnosis": f"Reviewed {random.randint(1000, 9999)}", "treatment": "Rest and fluids"}
        call(self, "PUT", f"{API}/medical-records/{random.choice(common.RECORD_IDS)}", "amend medical record",
             json_body=body)

    @task(10)
    def create_invoice(self):
        created = call(self, "POST", f"{API}/billing/invoices", "create invoice",
                       json_body=common.invoice_body(random.choice(common.PATIENT_IDS)))
        if created:
            remember(common.INVOICE_IDS, created.get("invoiceId"))

    @task(20)
    def read_invoice(self):
        call(self, "GET", f"{API}/billing/invoices/{random.choice(common.INVOICE_IDS)}", "read invoice")

    @task(10)
    def patient_medical_records(self):
        call(self, "GET", f"{API}/patients/{random.choice(common.PATIENT_IDS)}/medical-records",
             "patient's medical records", params={"limit": 20})

    @task(10)
    def patient_invoices(self):
        call(self, "GET", f"{API}/patients/{random.choice(common.PATIENT_IDS)}/invoices",
             "patient's invoices", params={"limit": 20})
