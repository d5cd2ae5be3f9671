"""Data protection: identifiers encrypted at rest (and rotatable), shown masked; originals
outside the web root; no PHI in logs, Celery task arguments or error pages."""

import ast
import inspect
import io
import json
import logging
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import RequestFactory
from django.urls import URLPattern, get_resolver, reverse
from django.views import static as static_views

from encounters import phi
from encounters.fhir import fhir_bundle_import
from encounters.models import Patient
from tests.conftest import PASSWORD
from tests.factories import EncounterFactory, PatientFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(django_settings.BASE_DIR)
OUR_PACKAGES = ["accounts", "audits", "codesets", "coding_bench", "encounters"]
# Built at run time so that the source lines a traceback quotes do not contain them.
SECRET_MRN = "-".join(["MRN", "SECRET", "77"])
SECRET_NAME = " ".join(["Ngozi", "Okafor"])
IDENTIFIERS = {
    "member_id": "MBR-44719023",
    "ssn": "999-28-4417",
    "phone": "555-301-7788",
    "address": "12 Elm Street\nSpringfield MA 01101",
}


@pytest.fixture(autouse=True)
def _fresh_keys():
    """The fields cache their derived keys; tests that change the keys start and end clean."""
    phi.reset_key_cache()
    yield
    phi.reset_key_cache()


def _raw(patient: Patient) -> dict[str, str | None]:
    columns = ", ".join(phi.ENCRYPTED_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM encounters_patient WHERE id = %s",
            [patient.pk],
        )
        return dict(zip(phi.ENCRYPTED_FIELDS, cursor.fetchone(), strict=True))


def fhir_bundle(mrn: str = "FHIR-PHI-1") -> dict:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "value": mrn,
            },
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": IDENTIFIERS["ssn"]},
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}
                    ]
                },
                "system": "urn:example:payer",
                "value": IDENTIFIERS["member_id"],
            },
        ],
        "name": [{"use": "official", "family": "Okafor", "given": ["Ngozi"]}],
        "telecom": [
            {"system": "email", "value": "n@example.org"},
            {"system": "phone", "value": IDENTIFIERS["phone"]},
        ],
        "gender": "female",
        "birthDate": "1958-03-14",
        "address": [
            {"line": ["12 Elm Street"], "city": "Springfield", "state": "MA", "postalCode": "01101"}
        ],
    }
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T10:00:00Z"},
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in (patient, encounter)],
    }


class TestIdentifiersAreCaptured:
    def test_fhir_import_stores_member_id_ssn_phone_and_address_encrypted(self, junior):
        result = fhir_bundle_import(by=junior, raw=json.dumps(fhir_bundle()))
        patient = Patient.objects.get(pk=result.patient.pk)
        assert patient.member_id == IDENTIFIERS["member_id"]
        assert patient.ssn == IDENTIFIERS["ssn"]
        assert patient.phone == IDENTIFIERS["phone"]
        assert patient.address == "12 Elm Street, Springfield, MA 01101"
        raw = _raw(patient)
        for name, value in raw.items():
            assert value and value.startswith("gAAAA"), name  # a Fernet token
            assert getattr(patient, name) not in value

    def test_a_real_synthea_patient_brings_ssn_phone_and_address(self, cms_data, junior):
        from tests.encounters.test_fhir_import import synthea_bundle

        bundle = synthea_bundle(cms_data / "notes" / "synthea_fhir_10patients", encounters=1)
        source = bundle["entry"][0]["resource"]
        ssn = next(i["value"] for i in source["identifier"] if "us-ssn" in i.get("system", ""))
        patient = Patient.objects.get(pk=fhir_bundle_import(by=junior, raw=bundle).patient.pk)
        assert patient.ssn == ssn
        assert patient.phone == source["telecom"][0]["value"]
        assert source["address"][0]["city"] in patient.address
        assert patient.member_id is None  # Synthea sends no member id
        assert ssn not in json.dumps(_raw(patient))

    def test_the_intake_form_takes_optional_identifiers(self, client, junior):
        client.login(username=junior.username, password=PASSWORD)
        form = {
            "mrn": "INT-PHI-1",
            "last_name": "Reyes",
            "first_name": "Ana",
            "birth_date": "1971-02-03",
            "sex": "F",
            "type": "outpatient",
            "admit_date": "2026-05-04",
        }
        bad = client.post(reverse("encounters:intake_new"), {**form, "ssn": "12-345"})
        assert bad.status_code == 200
        assert "Enter the SSN as 9 digits" in bad.content.decode()
        assert not Patient.objects.filter(mrn="INT-PHI-1").exists()
        response = client.post(reverse("encounters:intake_new"), {**form, **IDENTIFIERS})
        assert response.status_code == 302
        patient = Patient.objects.get(mrn="INT-PHI-1")
        assert (patient.ssn, patient.member_id, patient.phone) == (
            IDENTIFIERS["ssn"],
            IDENTIFIERS["member_id"],
            IDENTIFIERS["phone"],
        )
        assert IDENTIFIERS["ssn"] not in json.dumps(_raw(patient))
        # Without identifiers the form works as before: nothing stored.
        client.post(reverse("encounters:intake_new"), {**form, "mrn": "INT-PHI-2"})
        assert Patient.objects.get(mrn="INT-PHI-2").ssn is None

    def test_the_chart_header_shows_identifiers_masked_only(self, client, junior):
        patient = PatientFactory(**IDENTIFIERS)
        encounter = EncounterFactory(patient=patient, assignee=junior, status="coding")
        client.login(username=junior.username, password=PASSWORD)
        page = client.get(reverse("encounters:workspace", args=[encounter.pk])).content.decode()
        assert "•••• 4417" in page and "•••• 9023" in page and "•••• 7788" in page
        for value in IDENTIFIERS.values():
            assert value not in page
        assert "12 Elm" not in page

    def test_mask(self):
        assert phi.mask("999-28-4417") == "•••• 4417"
        assert phi.mask("123") == "••••"
        assert phi.mask(None) == ""


class TestEncryptionAtRest:
    def test_rotation_re_encrypts_with_the_newest_key_and_check_reports(self, settings):
        settings.SALT_KEY = ["old-key"]
        phi.reset_key_cache()
        patients = [PatientFactory(**IDENTIFIERS) for _ in range(3)]
        PatientFactory()  # no identifiers: nothing to rotate
        before = _raw(patients[0])
        assert IDENTIFIERS["ssn"] not in before["ssn"]

        # A new key in front; the old one stays until every row is rotated.
        settings.SALT_KEY = ["new-key", "old-key"]
        out = io.StringIO()
        call_command("phi", "rotate-keys", "--batch-size", "2", stdout=out)
        assert "3 patients re-encrypted" in out.getvalue()
        assert _raw(patients[0])["ssn"] != before["ssn"]

        settings.SALT_KEY = ["new-key"]  # the old key is gone
        out = io.StringIO()
        call_command("phi", "check", stdout=out)
        assert "All encrypted identifiers are readable" in out.getvalue()
        phi.reset_key_cache()
        fresh = Patient.objects.get(pk=patients[2].pk)
        assert (fresh.ssn, fresh.address) == (IDENTIFIERS["ssn"], IDENTIFIERS["address"])

    def test_check_names_the_rows_no_key_can_read(self, settings):
        settings.SALT_KEY = ["first-key"]
        phi.reset_key_cache()
        patient = PatientFactory(ssn=IDENTIFIERS["ssn"])
        settings.SALT_KEY = ["unrelated-key"]
        with pytest.raises(CommandError, match=rf"patient ids: {patient.pk}\b"):
            call_command("phi", "check", stdout=io.StringIO())
        # Rotation leaves an unreadable value as it is rather than encrypting the ciphertext.
        before = _raw(patient)
        with pytest.raises(CommandError):
            call_command("phi", "rotate-keys", stdout=io.StringIO())
        assert _raw(patient) == before


class TestOriginalsOutsideTheWebRoot:
    def test_media_root_is_under_var_and_not_served_by_any_url(self):
        media = Path(django_settings.MEDIA_ROOT).resolve()
        assert (BASE_DIR / "var").resolve() in media.parents or media == (
            BASE_DIR / "var" / "media"
        ).resolve()
        assert Path(django_settings.STATIC_ROOT).resolve() not in [media, *media.parents]
        assert (BASE_DIR / "static").resolve() not in [media, *media.parents]

        def walk(resolver):
            for entry in resolver.url_patterns:
                if isinstance(entry, URLPattern):
                    yield entry
                else:
                    yield from walk(entry)

        serving = [p for p in walk(get_resolver()) if p.callback is static_views.serve]
        assert serving == []

    def test_a_media_path_is_not_reachable(self, client, junior):
        client.login(username=junior.username, password=PASSWORD)
        url = (django_settings.MEDIA_URL or "/media/") + "documents/note.txt"
        assert client.get(url).status_code == 404


class TestNoPhiInLogs:
    def test_every_handler_carries_the_redacting_filter(self):
        from coding_bench.logging_filters import PhiRedactingFilter

        loggers = [logging.getLogger(), logging.getLogger("django")]
        loggers.append(logging.getLogger("django.server"))
        # pytest's own capture handlers are not ours.
        handlers = [
            h for lg in loggers for h in lg.handlers if not type(h).__module__.startswith("_pytest")
        ]
        assert handlers
        for handler in handlers:
            assert any(isinstance(f, PhiRedactingFilter) for f in handler.filters), handler

    def test_a_request_error_logs_and_mails_no_request_data(self, settings):
        settings.ADMINS = [("Ops", "ops@example.org")]
        settings.DEBUG = False
        request = RequestFactory().post(
            f"/encounters/1/notes/?patient={SECRET_MRN}",
            {"text": f"{SECRET_NAME} has {IDENTIFIERS['ssn']}"},
        )
        stream = io.StringIO()
        console = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
        server = logging.getLogger("django.server").handlers[0]
        previous = console.setStream(stream), server.setStream(stream)
        try:
            try:
                raise ValueError(f"lookup failed for {SECRET_NAME}")
            except ValueError:
                logging.getLogger("django.request").error(
                    "Internal Server Error: %s",
                    request.path,
                    exc_info=sys.exc_info(),
                    extra={"status_code": 500, "request": request},
                )
            logging.getLogger("django.server").info(
                f'"GET /audits/quality/access/?patient={SECRET_MRN} HTTP/1.1" 200 10',
                extra={"server_time": "now"},
            )
        finally:
            console.setStream(previous[0])
            server.setStream(previous[1])
        logged = stream.getvalue()
        assert "Internal Server Error: /encounters/1/notes/" in logged
        assert "[query hidden]" in logged
        for secret in (SECRET_MRN, SECRET_NAME, IDENTIFIERS["ssn"]):
            assert secret not in logged
            for message in mail.outbox:
                assert secret not in message.body
                assert all(secret not in str(a[0]) for a in message.alternatives)
        assert mail.outbox, "the error is mailed to ADMINS"

    def test_the_filter_masks_identifiers_and_query_strings(self):
        from coding_bench.logging_filters import PhiRedactingFilter

        record = logging.LogRecord(
            "x",
            logging.INFO,
            __file__,
            1,
            "call %s about %s",
            ("555-301-7788", "999-28-4417"),
            None,
        )
        PhiRedactingFilter().filter(record)
        assert record.getMessage() == "call [phone] about [ssn]"

    def test_our_log_calls_name_records_by_id_only(self):
        """No logger call in our code passes a patient's name, MRN, birth date, identifiers
        or document text."""
        phi_attributes = {
            "first_name",
            "last_name",
            "mrn",
            "birth_date",
            "ssn",
            "member_id",
            "phone",
            "address",
            "text",
            "reason",
            "patient",
        }
        offenders = []
        for package in OUR_PACKAGES:
            for path in (BASE_DIR / package).rglob("*.py"):
                if "migrations" in path.parts:
                    continue
                tree = ast.parse(path.read_text())
                for node in ast.walk(tree):
                    if not (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr in {"debug", "info", "warning", "error", "exception"}
                        and isinstance(node.func.value, ast.Name)
                        and node.func.value.id in {"logger", "log", "logging"}
                    ):
                        continue
                    for arg in ast.walk(node):
                        if isinstance(arg, ast.Attribute) and arg.attr in phi_attributes:
                            offenders.append(f"{path.relative_to(BASE_DIR)}:{node.lineno}")
        assert offenders == []


class TestNoPhiInTasks:
    PRIMITIVES = (int, str, bool, float, type(None))

    def test_every_task_takes_only_ids_and_primitives(self):
        from coding_bench.celery import app

        app.loader.import_default_modules()
        ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
        assert ours, "the project's tasks are registered"
        for name, task in ours.items():
            signature = inspect.signature(task.run)
            for parameter in signature.parameters.values():
                annotation = parameter.annotation
                assert annotation in self.PRIMITIVES, (name, parameter.name, annotation)
                assert parameter.name.endswith("_id") or parameter.name in {
                    "after_id",
                    "done_before",
                    "limit",  # how many practice cases to import: a count
                }, (name, parameter.name)

    def test_every_call_site_passes_ids(self):
        """.delay / .apply_async / send_task get ids, counters or constants: never a model
        or its text fields."""
        offenders = []
        for package in OUR_PACKAGES:
            for path in (BASE_DIR / package).rglob("*.py"):
                tree = ast.parse(path.read_text())
                for node in ast.walk(tree):
                    if not (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr in {"delay", "apply_async", "send_task"}
                    ):
                        continue
                    args = list(node.args) + [k.value for k in node.keywords]
                    for arg in args:
                        if not _id_like(arg):
                            offenders.append(
                                f"{path.relative_to(BASE_DIR)}:{node.lineno} {ast.unparse(arg)}"
                            )
        assert offenders == []


def _id_like(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Attribute):  # obj.pk, obj.release_id, module.BATCH_SIZE
        return node.attr in {"pk", "id"} or node.attr.endswith("_id") or node.attr.isupper()
    if isinstance(node, ast.Name):
        return node.id in {"last", "done_before", "limit"} or node.id.endswith(
            ("_id", "_ids", "pk")
        )
    if isinstance(node, ast.BinOp):
        return _id_like(node.left) and _id_like(node.right)
    if isinstance(node, ast.List | ast.Tuple):
        return all(_id_like(e) for e in node.elts)
    return False


class TestNoPhiOnErrorPages:
    def _boom(self, request):
        patient_name = SECRET_NAME  # a local the report must not show
        raise ValueError(f"cannot code the chart of {patient_name}")

    @pytest.mark.parametrize("debug", [True, False])
    def test_the_500_report_shows_no_request_data_locals_or_settings(self, settings, debug):
        from django.views.debug import technical_500_response

        settings.DEBUG = debug
        request = RequestFactory().post(
            f"/encounters/1/?mrn={SECRET_MRN}", {"text": f"{SECRET_NAME}, {IDENTIFIERS['ssn']}"}
        )
        try:
            self._boom(request)
        except ValueError:
            response = technical_500_response(request, *sys.exc_info())
        body = response.content.decode()
        assert "ValueError" in body
        for secret in (SECRET_MRN, SECRET_NAME, IDENTIFIERS["ssn"], django_settings.SECRET_KEY):
            assert secret not in body

    def test_the_production_500_page_is_plain(self, client, junior, settings):
        settings.DEBUG = False
        client.raise_request_exception = False
        client.login(username=junior.username, password=PASSWORD)
        # A chart id too large for the database makes the view fail inside the ORM.
        response = client.get(f"/encounters/99999999999999999999/?mrn={SECRET_MRN}")
        assert response.status_code in (404, 500)
        assert SECRET_MRN not in response.content.decode()
