"""Bulkhead experiment: staff traffic keeps its latency while public traffic is over its cap.

StaffUser and PublicUser run the same task mix and differ only in the `X-User-Type` header
(`staff` / `public`). The server caps requests in flight per traffic class
(GOSPITAL_STAFF_MAX_IN_FLIGHT / GOSPITAL_PUBLIC_MAX_IN_FLIGHT); a class at its cap is answered
503 SERVICE_UNAVAILABLE at once. Public users are many and impatient, staff users few, so the
public class runs into its cap while staff requests should keep their unloaded latency.

Outcomes (see loadtest_common.judge): 2xx success; 409 TIME_SLOT_NOT_AVAILABLE on a booking is a normal
outcome, named "... (clash)"; 503/504 are rejections, failures named "... (rejected 503)"; anything
else is an unexpected failure, written to unexpected.jsonl beside the reports.

Run through run.sh (creates the virtualenv, writes CSV + HTML reports):
    load_test/run.sh bulkhead --users 50 --time 30s
    load_test/run.sh bulkhead --users 5 --time 20s --class StaffUser      # staff alone, unloaded
Or directly: locust -f load_test/locustfile_bulkhead.py --headless -H http://127.0.0.1:8080 -u 50 -r 50 -t 30s

Knobs (environment): LOADTEST_STAFF_WEIGHT (default 1), LOADTEST_PUBLIC_WEIGHT (9),
LOADTEST_STAFF_WAIT ("0.05-0.15" seconds between a staff user's requests),
LOADTEST_PUBLIC_WAIT ("0.01-0.03"), and the seed sizes of loadtest_common.py.
"""

from __future__ import annotations

import os
import random

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

import loadtest_common as common
from loadtest_common import API, call


def _wait(var: str, default: str):
    lo, hi = (float(x) for x in os.environ.get(var, default).split("-"))
    return between(lo, hi)


class _ClinicUser(FastHttpUser):
    """The task mix both classes share; only `user_type` differs."""

    abstract = True
    cls = "?"
    user_type = "public"

    def on_start(self):
        common.seed_or_stop(self.host)  # no-op once the test_start listener has seeded

    @task(20)
    def read_patient(self):
        call(self, "GET", f"{API}/patients/{random.choice(common.PATIENT_IDS)}", "read patient")

    @task(15)
    def list_patients(self):
        call(self, "GET", f"{API}/patients", "list patients", params={"page": random.randint(1, 2), "limit": 20})

    @task(15)
    def list_doctors(self):
        params = {"limit": 20}
        if random.random() < 0.5:
            params["departmentId"] = random.choice(common.DEPARTMENTS)
        call(self, "GET", f"{API}/doctors", "list doctors", params=params)

    @task(10)
    def book_appointment(self):
        body = common.appointment_body(random.choice(common.PATIENT_IDS), random.choice(common.DOCTOR_IDS))
        call(self, "POST", f"{API}/appointments", "book appointment", json_body=body, clash_ok=True)

    @task(15)
    def read_medical_record(self):
        call(self, "GET", f"{API}/medical-records/{random.choice(common.RECORD_IDS)}", "read medical record")

    @task(10)
    def read_invoice(self):
        call(self, "GET", f"{API}/billing/invoices/{random.choice(common.INVOICE_IDS)}", "read invoice")

    @task(15)
    def doctor_availability(self):
        doctor = random.choice(common.DOCTOR_IDS)
        call(self, "GET", f"{API}/doctors/{doctor}/availability", "doctor availability",
             params=common.availability_params())


class StaffUser(_ClinicUser):
    """Hospital staff: few users, `X-User-Type: staff`."""

    cls = "staff"
    user_type = "staff"
    weight = int(os.environ.get("LOADTEST_STAFF_WEIGHT", "1"))
    wait_time = _wait("LOADTEST_STAFF_WAIT", "0.05-0.15")


class PublicUser(_ClinicUser):
    """The public: many users, `X-User-Type: public`, little think time."""

    cls = "public"
    user_type = "public"
    weight = int(os.environ.get("LOADTEST_PUBLIC_WEIGHT", "9"))
    wait_time = _wait("LOADTEST_PUBLIC_WAIT", "0.01-0.03")
