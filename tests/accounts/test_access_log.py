"""The PHI access log: hash chain, `accesslog verify`, and the review page's flags and export."""

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from accounts.models import PhiAccess, Role, User
from accounts.services import phi_access_hash, phi_access_record
from audits.access_review import chain_verify
from encounters.models import Encounter
from tests.factories import EncounterFactory

pytestmark = pytest.mark.django_db


def user_make(username: str, role: str = Role.JUNIOR) -> User:
    return User.objects.create(username=username, role=role, first_name=username.title())


@pytest.fixture
def coder(db):
    return user_make("cora")


@pytest.fixture
def reviewer(client, db):
    user = user_make("privacy", Role.SENIOR)
    client.force_login(user)
    return user


def record(user, encounter=None, **extra) -> PhiAccess:
    return phi_access_record(
        user=user,
        action=PhiAccess.Action.VIEW_ENCOUNTER,
        patient_id=encounter.patient_id if encounter else None,
        encounter_id=encounter.pk if encounter else None,
        ip_address="10.0.0.7",
        user_agent="pytest",
        **extra,
    )


def at_local(row: PhiAccess, hour: int, minute: int = 0, day_offset: int = 0) -> None:
    """Move a row's time (tests only: this is exactly the tampering verify must catch)."""
    when = timezone.localtime(row.at).replace(hour=hour, minute=minute) + timedelta(days=day_offset)
    PhiAccess.objects.filter(pk=row.pk).update(at=when)


def test_each_row_is_chained_to_the_one_before(coder):
    encounter = EncounterFactory(assignee=coder)
    rows = [record(coder, encounter) for _ in range(3)]
    stored = list(PhiAccess.objects.order_by("pk"))
    assert stored[0].previous_hash == ""
    assert stored[1].previous_hash == stored[0].row_hash
    assert stored[2].previous_hash == stored[1].row_hash
    assert len({r.row_hash for r in stored}) == 3 and all(len(r.row_hash) == 64 for r in stored)
    # The hash is the documented one: sha256(previous hash + canonical content).
    values = PhiAccess.objects.values().get(pk=rows[1].pk)
    assert phi_access_hash(previous_hash=stored[0].row_hash, row=values) == stored[1].row_hash


def test_verify_is_ok_on_an_intact_log(coder, capsys):
    encounter = EncounterFactory(assignee=coder)
    for _ in range(4):
        record(coder, encounter)
    report = chain_verify()
    assert (report.ok, report.rows) == (True, 4)
    call_command("accesslog", "verify")
    assert "OK: 4 rows" in capsys.readouterr().out


def test_an_edited_row_is_found_with_its_id(coder, capsys):
    encounter = EncounterFactory(assignee=coder)
    rows = [record(coder, encounter) for _ in range(5)]
    PhiAccess.objects.filter(pk=rows[2].pk).update(reason="nothing to see")
    report = chain_verify()
    assert not report.ok
    assert report.broken_id == rows[2].pk
    assert report.rows == 3
    assert "content" in report.problem
    with pytest.raises(CommandError) as failed:
        call_command("accesslog", "verify", "--json")
    assert failed.value.returncode == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["broken_id"] == rows[2].pk and out["broken_at"]


def test_a_deleted_row_breaks_the_next_link(coder):
    encounter = EncounterFactory(assignee=coder)
    rows = [record(coder, encounter) for _ in range(4)]
    PhiAccess.objects.filter(pk=rows[1].pk).delete()
    report = chain_verify()
    assert (report.ok, report.broken_id) == (False, rows[2].pk)
    assert "previous_hash" in report.problem


def test_a_rehashed_row_still_breaks_the_chain_after_it(coder):
    """Editing a row and recomputing its own hash is caught by the next row's link."""
    encounter = EncounterFactory(assignee=coder)
    rows = [record(coder, encounter) for _ in range(3)]
    PhiAccess.objects.filter(pk=rows[1].pk).update(patient_id=999999)
    values = PhiAccess.objects.values().get(pk=rows[1].pk)
    forged = phi_access_hash(previous_hash=values["previous_hash"], row=values)
    PhiAccess.objects.filter(pk=rows[1].pk).update(row_hash=forged)
    assert chain_verify().broken_id == rows[2].pk


def test_command_exits_non_zero_from_the_shell(coder):
    """The exit code a cron job sees (the command run as a process would take too long here;
    CommandError with returncode=1 is what manage.py turns into exit status 1)."""
    record(coder)
    PhiAccess.objects.update(user_agent="edited")
    with pytest.raises(CommandError) as failed:
        call_command("accesslog", "verify")
    assert failed.value.returncode == 1


# -- the review page -------------------------------------------------------------------------


def test_review_page_flags_a_chart_with_no_relationship(client, reviewer, coder):
    mine = EncounterFactory(assignee=coder, status=Encounter.Status.CODING)
    stranger = EncounterFactory(assignee=user_make("other"), status=Encounter.Status.CODING)
    ok_row = record(coder, mine)
    bad_row = record(coder, stranger)
    for row in (ok_row, bad_row):
        at_local(row, 10)
    response = client.get(reverse("audits:access_review"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-flag="no_relationship"') == 1
    flagged = client.get(reverse("audits:access_review"), {"flagged": "on"}).content.decode()
    assert f'data-access="{bad_row.pk}"' in flagged
    assert f'data-access="{ok_row.pk}"' not in flagged


def test_open_queue_and_audit_work_are_not_flagged(client, reviewer, coder):
    from audits.models import AuditItem, AuditPlan

    pool = EncounterFactory(status=Encounter.Status.READY, assignee=None)
    audited = EncounterFactory(status=Encounter.Status.CODED, assignee=user_make("someone"))
    plan = AuditPlan.objects.create(
        name="p",
        kind=AuditPlan.Kind.POST_BILL,
        method=AuditPlan.Method.PER_CODER,
        per_coder=1,
        date_from=timezone.localdate(),
        date_to=timezone.localdate(),
        seed=1,
        created_by=reviewer,
    )
    AuditItem.objects.create(plan=plan, encounter=audited, auditor=coder, selection_reason="x")
    for encounter in (pool, audited):
        at_local(record(coder, encounter), 9)
    html = client.get(reverse("audits:access_review")).content.decode()
    assert 'data-flag="no_relationship"' not in html


def test_review_page_flags_after_hours_with_the_reason(client, reviewer, coder):
    encounter = EncounterFactory(assignee=coder)
    late = record(coder, encounter)
    at_local(late, 22, 15)
    html = client.get(reverse("audits:access_review")).content.decode()
    assert 'data-flag="after_hours"' in html
    assert "At 22:15, outside the working day 07:00–19:00." in html
    # A longer working day on the page itself clears it.
    wide = client.get(
        reverse("audits:access_review"), {"work_start": "06:00", "work_end": "23:00"}
    ).content.decode()
    assert 'data-flag="after_hours"' not in wide


def test_review_page_flags_many_charts_in_a_short_time(client, reviewer, coder):
    encounters = [EncounterFactory(assignee=coder) for _ in range(5)]
    rows = [record(coder, e) for e in encounters]
    base = timezone.make_aware(datetime.combine(timezone.localdate(), datetime.min.time()))
    for i, row in enumerate(rows):
        PhiAccess.objects.filter(pk=row.pk).update(at=base + timedelta(hours=10, minutes=i))
    html = client.get(
        reverse("audits:access_review"), {"burst_patients": "3", "burst_minutes": "10"}
    ).content.decode()
    # the 4th and 5th distinct patients within 10 minutes go over 3
    assert html.count('data-flag="burst"') == 2
    assert "4 distinct patients in the 10 minutes up to this access (more than 3)." in html


def test_filters_by_user_patient_and_date(client, reviewer, coder):
    other = user_make("otto")
    e1, e2 = EncounterFactory(assignee=coder), EncounterFactory(assignee=other)
    r1, r2 = record(coder, e1), record(other, e2)
    by_user = client.get(reverse("audits:access_review"), {"user": other.pk}).content.decode()
    assert f'data-access="{r2.pk}"' in by_user and f'data-access="{r1.pk}"' not in by_user
    by_mrn = client.get(reverse("audits:access_review"), {"patient": e1.patient.mrn})
    assert f'data-access="{r1.pk}"' in by_mrn.content.decode()
    unknown = client.get(reverse("audits:access_review"), {"patient": "NOPE"}).content.decode()
    assert "No patient has the MRN NOPE." in unknown
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    later = client.get(reverse("audits:access_review"), {"date_from": tomorrow}).content.decode()
    assert "data-access=" not in later


def test_export_writes_its_own_access_record_and_keeps_the_chain(client, reviewer, coder):
    encounter = EncounterFactory(assignee=coder)
    record(coder, encounter)
    response = client.get(reverse("audits:access_export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "time", "user", "action"]
    exported = PhiAccess.objects.get(user=reviewer, action=PhiAccess.Action.EXPORT)
    assert str(exported.pk) in [r[0] for r in rows[1:]]  # the export is in its own file
    assert chain_verify().ok


def test_review_page_needs_the_capability(client, coder):
    client.force_login(coder)
    assert client.get(reverse("audits:access_review")).status_code == 403
    assert client.get(reverse("audits:access_export")).status_code == 403


def test_review_page_queries_do_not_grow_with_rows(
    client, reviewer, coder, django_assert_num_queries
):
    encounters = [EncounterFactory(assignee=coder) for _ in range(3)]
    for encounter in encounters:
        record(coder, encounter)
    client.get(reverse("audits:access_review"))
    # session + user, users for the filter, count, the page with its flag subqueries, the
    # page's MRNs, the break-the-glass accesses waiting for review, session save (3)
    with django_assert_num_queries(10) as few:
        client.get(reverse("audits:access_review"))
    for encounter in [EncounterFactory(assignee=user_make(f"u{i}")) for i in range(20)]:
        record(coder, encounter)
    with django_assert_num_queries(len(few.captured_queries)):
        html = client.get(reverse("audits:access_review")).content.decode()
    assert html.count("data-access=") == 23
