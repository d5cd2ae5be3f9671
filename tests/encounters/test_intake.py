from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from encounters import services
from encounters.models import Document, Encounter
from tests.factories import EncounterFactory

pytestmark = pytest.mark.django_db


def _pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose text layer says `text` (built by hand: no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_a_junior_creates_patient_encounter_and_document_by_hand(junior):
    patient = services.patient_create(
        by=junior,
        mrn=" M1 ",
        first_name="Ann",
        last_name="Lee",
        birth_date=date(1950, 1, 2),
        sex="F",
    )
    encounter = services.encounter_create(
        by=junior,
        patient=patient,
        type="inpatient",
        admit_date=date(2026, 5, 1),
        discharge_date=date(2026, 5, 3),
        payer="Medicare",
    )
    assert (patient.mrn, encounter.status) == ("M1", Encounter.Status.INTAKE)
    document = services.document_create(
        by=junior,
        encounter=encounter,
        note_type="hp",
        title="",
        written_on=date(2026, 5, 1),
        text="Pneumonia, right lower lobe.",
    )
    assert document.title == "History and physical"
    services.encounter_release_to_queue(encounter=encounter, by=junior)
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.READY
    assert [t.to_status for t in encounter.transitions.all()] == ["intake", "ready"]


def test_intake_checks_dates(junior):
    patient = services.patient_create(
        by=junior, mrn="M2", first_name="A", last_name="B", birth_date=date(1950, 1, 2), sex="M"
    )
    with pytest.raises(ValidationError, match="Discharge is before admission"):
        services.encounter_create(
            by=junior,
            patient=patient,
            type="inpatient",
            admit_date=date(2026, 5, 3),
            discharge_date=date(2026, 5, 1),
        )
    with pytest.raises(ValidationError, match="needs a discharge date"):
        services.encounter_create(
            by=junior, patient=patient, type="inpatient", admit_date=date(2026, 5, 3)
        )
    with pytest.raises(ValidationError, match="in the future"):
        services.patient_create(
            by=junior, mrn="M3", first_name="A", last_name="B", birth_date=date(2999, 1, 1), sex="M"
        )


def test_admins_cannot_do_chart_intake(admin_user):
    with pytest.raises(PermissionDenied):
        services.patient_create(
            by=admin_user,
            mrn="M9",
            first_name="A",
            last_name="B",
            birth_date=date(1950, 1, 2),
            sex="M",
        )


def _upload(junior, name, content, **kw):
    encounter = EncounterFactory()
    return services.document_upload(
        by=junior,
        encounter=encounter,
        note_type="radiology",
        title="",
        written_on=date(2026, 5, 4),
        uploaded=SimpleUploadedFile(name, content),
        **kw,
    )


def test_a_text_upload_keeps_the_original_and_the_text(junior, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    document = _upload(junior, "ct.txt", b"CT abdomen: acute appendicitis.")
    assert document.text == "CT abdomen: acute appendicitis."
    assert document.source == Document.Source.UPLOAD
    assert document.original_file.read() == b"CT abdomen: acute appendicitis."
    assert document.title == "ct.txt"


def test_a_pdf_upload_is_read_for_its_text(junior, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    document = _upload(junior, "path.pdf", _pdf_with_text("Adenocarcinoma of the colon"))
    assert "Adenocarcinoma of the colon" in document.text
    assert document.original_content_type == "application/pdf"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "is empty"),
        ("scan.png", b"\x89PNG\r\n", "only plain text"),
        ("fake.pdf", b"%PDF-1.4 garbage", "not a readable PDF"),
        ("binary.txt", b"\x00\x01\x02", "neither plain text nor PDF"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(junior, settings, tmp_path, name, content, message):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(ValidationError, match=message):
        _upload(junior, name, content)
    assert not Document.objects.exists()


def test_an_oversized_upload_is_refused(junior, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENT_UPLOAD_MAX_BYTES = 10
    with pytest.raises(ValidationError, match="larger than"):
        _upload(junior, "big.txt", b"x" * 11)
