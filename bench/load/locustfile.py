"""Locust: coders working charts in the workspace (`make load`, bench/load_bench.py).

Each simulated coder is its own user (load-coder-NN, seeded by bench/load_bench.py with a
signed-in session)
and loops over its charts: search codes, open the chart, add a diagnosis (the workspace POST
with the version it read), check the edits, then save again (remove the code, with the new
version) so every chart stays in the same state however long the run lasts.
"""

import itertools
import json
import os
import random
import re

import gevent
from locust import HttpUser, between, events, task

CODERS = int(os.environ.get("LOAD_CODERS", "50"))
VERSION = re.compile(r'name="version" value="(\d+)"')
DIAGNOSIS_ID = re.compile(r'name="diagnosis_id" value="(\d+)"')
SEARCHES = ["diab neuro", "E11.4", "chf", "pneumonia", "copd exac", "fx radius distal", "I10",
            "htn", "uti", "afib", "ckd 3", "sepsis"]  # fmt: skip
CODES = ["E11.9", "I10", "J18.9", "N39.0", "E78.5", "I48.91", "J44.1", "N18.30"]
_numbers = itertools.count(1)
# A coder's pace: seconds of reading between two clicks (LOAD_THINK="low-high").
THINK = tuple(float(x) for x in os.environ.get("LOAD_THINK", "1-3").split("-"))


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--charts", default="", help="JSON file: username -> encounter ids")


class Coder(HttpUser):
    wait_time = between(*THINK)  # between two charts, and (think()) between two clicks

    def think(self) -> None:
        gevent.sleep(random.uniform(*THINK))

    def on_start(self) -> None:
        # The session was signed in at seed time (bench/load_bench.py): the password hash is a
        # once-a-day cost, not part of the coding loop measured here.
        number = (next(_numbers) - 1) % CODERS + 1
        self.username = f"load-coder-{number:02d}"
        with open(self.environment.parsed_options.charts) as charts:
            mine = json.load(charts)[self.username]
        self.charts = mine["charts"]
        self.client.cookies.set("sessionid", mine["session"])
        home = self.client.get("/", name="home (start)")  # sets the CSRF cookie
        if "load-coder" not in home.text and "Load" not in home.text:
            raise RuntimeError(f"{self.username} is not signed in ({home.status_code})")

    def _csrf(self, extra: dict | None = None) -> dict:
        headers = {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}
        return {**headers, **(extra or {})}

    @task
    def code_a_chart(self) -> None:
        pk = random.choice(self.charts)
        self.client.get(
            "/api/v1/codes/search",
            params={"system": "icd10cm", "q": random.choice(SEARCHES), "limit": 20},
            name="search codes",
        )
        self.think()
        with self.client.get(f"/encounters/{pk}/", name="open chart", catch_response=True) as page:
            match = VERSION.search(page.text)
            if match is None:
                page.failure("no version on the workspace")
                return
        self.think()
        htmx = self._csrf({"HX-Request": "true"})
        code = random.choice(CODES)
        with self.client.post(
            f"/encounters/{pk}/diagnoses/add/",
            {"code": code, "version": match.group(1)},
            headers=htmx,
            name="add diagnosis",
            catch_response=True,
        ) as added:
            if "added as diagnosis" not in added.text:
                added.failure(f"not added: {added.text[:200]}")
                return
        self.think()
        self.client.post(
            "/api/v1/edits/check",
            json={
                "encounter_type": "outpatient",
                "service_date": "2026-05-04",
                "patient": {"birth_date": "1958-03-02", "sex": "F"},
                "diagnoses": [{"code": code}],
            },
            headers=self._csrf(),
            name="check edits",
        )
        self.think()
        version = VERSION.search(added.text)
        diagnosis = DIAGNOSIS_ID.findall(added.text)
        with self.client.post(
            f"/encounters/{pk}/diagnoses/remove/",
            {"diagnosis_id": diagnosis[-1] if diagnosis else "", "version": version.group(1)
             if version else ""},
            headers=htmx,
            name="save (versioned)",
            catch_response=True,
        ) as saved:  # fmt: skip
            if "Diagnosis removed" not in saved.text:
                saved.failure(f"not saved: {saved.text[:200]}")
