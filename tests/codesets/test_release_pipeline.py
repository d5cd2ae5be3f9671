"""The release pipeline: register, import (one Celery task), activate, diff — with the real
bundled releases, and with a small test file format where a failure must be provoked."""

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from codesets import selectors, services
from codesets.importers import base
from codesets.importers.base import FileFormat, ImportFormatError
from codesets.models import Code, Release

pytestmark = pytest.mark.django_db


def _csv_sniff(path):
    return base.head_bytes(path, 64).startswith(b"code,description")


def _csv_load(ctx, path):
    with base.open_text(path) as fh:
        next(fh)
        rows = []
        for line_number, line in enumerate(fh, start=2):
            code, _, description = line.rstrip("\n").partition(",")
            if not description:
                raise ValueError(f"Line {line_number} has no description.")
            rows.append(
                Code(
                    release=ctx.release,
                    code=code,
                    display=code,
                    description=description,
                    billable=True,
                )
            )
        ctx.bulk_create(Code, rows, batch_size=2)


@pytest.fixture
def tiny_format(monkeypatch):
    """A two-column CSV format for the `cpt` system (customer-licensed: none is bundled)."""
    fmt = FileFormat(
        system="cpt",
        name="a CSV with the header 'code,description'",
        sniff=_csv_sniff,
        load=_csv_load,
    )
    monkeypatch.setattr(base, "FILE_FORMATS", [*base.FILE_FORMATS, fmt])
    return fmt


def _import(path, label="CPT test", when=date(2026, 1, 1)):
    release, _ = services.release_register_file(
        system="cpt", path=path, label=label, effective_from=when
    )
    return services.release_import_now(release=release)


def test_bootstrap_is_idempotent():
    before = {r.pk: r.row_count for r in Release.objects.all()}
    lines = []
    services.codesets_bootstrap(include_cms=False, report=lines.append)
    after = {r.pk: r.row_count for r in Release.objects.all()}
    assert before == after
    assert all(line.startswith("present") for line in lines)


def test_bundled_releases_hold_the_complete_code_sets():
    cm = selectors.release_get_by_label(system="icd10cm", label="ICD-10-CM FY2026 April update")
    assert cm.counts["billable codes"] > 74_000
    assert cm.counts["notes"] > 20_000
    assert cm.counts["note references"] > 10_000
    assert cm.counts["Chapter 19"] > 40_000  # injuries carry the 7th characters
    pcs = selectors.release_get_by_label(system="icd10pcs", label="ICD-10-PCS FY2026")
    assert pcs.counts["codes"] > 78_000
    sections = {key.split()[1] for key in pcs.counts if key.startswith("section ")}
    assert sections >= set("0123456789BCDFGHX")
    assert Code.objects.filter(release__system__slug="icd10who").count() > 12_000


def test_one_release_in_force_per_date_and_timeline_closes():
    old = selectors.release_get_by_label(system="icd10cm", label="ICD-10-CM FY2025")
    new = selectors.release_get_by_label(system="icd10cm", label="ICD-10-CM FY2026 April update")
    assert old.effective_to == date(2026, 3, 31)
    assert new.effective_to is None
    assert selectors.release_in_force(system="icd10cm", on=date(2026, 3, 31)) == old
    assert selectors.release_in_force(system="icd10cm", on=date(2026, 4, 1)) == new


def test_a_file_import_counts_rows_and_reimport_is_a_no_op(tiny_format, tmp_path):
    path = tmp_path / "cpt.csv"
    path.write_text("code,description\n99213,Office visit\n99214,Office visit\n99215,Visit\n")
    release = _import(path)
    assert release.status == Release.Status.IMPORTED
    assert release.row_count == 3
    again, needs_import = services.release_register_file(
        system="cpt", path=path, label="another label", effective_from=date(2026, 1, 1)
    )
    assert (again.pk, needs_import) == (release.pk, False)
    assert Release.objects.filter(system__slug="cpt").count() == 1


def test_a_failed_import_leaves_no_rows_and_says_why(tiny_format, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("code,description\n99213,Office visit\n99214,Visit\n99215,Visit\n99216\n")
    release = _import(path)
    assert release.status == Release.Status.FAILED
    assert release.error == "Line 5 has no description."
    assert not Code.objects.filter(release=release).exists()
    with pytest.raises(services.ReleaseError, match="Only an imported release"):
        services.release_activate(release=release)


def test_a_file_in_the_wrong_format_is_refused_before_anything_is_written(tiny_format, tmp_path):
    path = tmp_path / "wrong.txt"
    path.write_text("HCPC,SEQNUM,RECID\n")
    count = Release.objects.count()
    with pytest.raises(ImportFormatError, match="Expected a CSV with the header"):
        services.release_register_file(
            system="cpt", path=path, label="x", effective_from=date(2026, 1, 1)
        )
    assert Release.objects.count() == count


def test_empty_and_missing_files_are_refused(tiny_format, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(services.ReleaseError, match="is empty"):
        _import(empty)
    with pytest.raises(services.ReleaseError, match="No file at"):
        _import(tmp_path / "missing.csv")


def test_import_command_prints_release_json_and_activates(tiny_format, tmp_path):
    path = tmp_path / "cpt.csv"
    path.write_text("code,description\n99213,Office visit\n")
    out = StringIO()
    call_command(
        "codesets",
        "import",
        "--system",
        "cpt",
        "--label",
        "CPT 2026",
        "--effective-from",
        "2026-01-01",
        "--json",
        str(path),
        stdout=out,
    )
    body = json.loads(out.getvalue())
    assert body["label"] == "CPT 2026"
    assert body["status"] == "active"
    assert body["row_count"] == 1
    assert isinstance(body["id"], int)


def test_import_command_explains_a_wrong_file(tiny_format, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("nothing,like,it\n")
    with pytest.raises(CommandError, match="is not a CPT"):
        call_command(
            "codesets",
            "import",
            "--system",
            "cpt",
            "--label",
            "x",
            "--effective-from",
            "2026-01-01",
            str(path),
        )


def test_list_command_json_lists_every_release():
    out = StringIO()
    call_command("codesets", "list", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert {r["label"] for r in rows} >= {
        "ICD-10-CM FY2026 April update",
        "ICD-10-CM FY2025",
        "ICD-10-PCS FY2026",
        "WHO ICD-10 2019",
    }
    assert {"id", "system", "label", "status", "effective_from", "row_count"} <= set(rows[0])


def test_diff_command_between_fy2025_and_april_2026():
    out = StringIO()
    call_command(
        "codesets",
        "diff",
        "--system",
        "icd10cm",
        "--json",
        "ICD-10-CM FY2025",
        "ICD-10-CM FY2026 April update",
        stdout=out,
    )
    diff = json.loads(out.getvalue())
    assert set(diff) == {"added", "deleted", "revised"}
    assert all(isinstance(code, str) for code in diff["added"][:10])
    # FY2026 added new codes (e.g. the E11.A remission code) and the lists are non-trivial.
    assert "E11.A" in diff["added"]
    assert len(diff["added"]) > 100
    assert len(diff["revised"]) > 10


def test_diff_command_names_an_unknown_label():
    with pytest.raises(CommandError, match="No icd10cm release labelled 'nope'"):
        call_command("codesets", "diff", "--system", "icd10cm", "nope", "ICD-10-CM FY2025")
