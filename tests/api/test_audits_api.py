"""Audits through /api/v1/audits/: plan, sample, blind re-code, findings, dispute, resolve."""

import pytest

from accounts.models import PhiAccess
from audits.models import AuditItem, AuditPlan, Finding
from tests.audits.plan_factories import coded_encounter

pytestmark = pytest.mark.django_db
A = "/api/v1/audits"


def _plan_body(senior, **extra) -> dict:
    return {
        "name": "API plan",
        "kind": "post_bill",
        "method": "per_coder",
        "per_coder": 1,
        "date_from": "2026-05-01",
        "date_to": "2026-05-31",
        "auditors": [senior.pk],
        "seed": 7,
        **extra,
    }


def test_a_bad_plan_is_a_400_naming_fields_and_nothing_is_saved(senior, api_for):
    response = api_for(senior).post(
        f"{A}/plans",
        _plan_body(senior, method="random_percent", per_coder=None, date_to="2026-04-01"),
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert "percent" in body and "ends before it starts" in body["date_to"][0]
    assert not AuditPlan.objects.exists()
    unknown = api_for(senior).post(
        f"{A}/plans", _plan_body(senior, auditors=[99999]), format="json"
    )
    assert unknown.status_code == 400 and "not an active user" in unknown.json()["auditors"][0]


def test_the_full_audit_through_the_api(senior, junior, api_for):
    encounter = coded_encounter(junior, status="billed", diagnoses=(("E11.9", ""),))
    auditor = api_for(senior)
    created = auditor.post(f"{A}/plans", _plan_body(senior), format="json")
    assert created.status_code == 201, created.json()
    plan_id = created.json()["id"]
    assert [p["id"] for p in auditor.get(f"{A}/plans").json()["results"]] == [plan_id]

    sampled = auditor.post(f"{A}/plans/{plan_id}/sample")
    assert sampled.status_code == 200, sampled.json()
    [row] = sampled.json()["items"]
    assert row["encounter"] == encounter.pk
    again = auditor.post(f"{A}/plans/{plan_id}/sample")
    assert again.status_code == 400 and "already been sampled" in again.json()["detail"]

    item_url = f"{A}/items/{row['id']}"
    opened = auditor.get(item_url).json()
    # Blind: the coder's codes are withheld while re-coding.
    assert opened["original_coding"] is None and opened["findings"] == []
    assert PhiAccess.objects.filter(user=senior, encounter_id=encounter.pk).exists()
    assert auditor.post(f"{item_url}/start").json()["status"] == AuditItem.Status.RECODING
    bad = auditor.post(f"{item_url}/codes", {"kind": "diagnoses", "code": "E11.99"}, format="json")
    assert bad.status_code == 400
    added = auditor.post(
        f"{item_url}/codes", {"kind": "diagnoses", "code": "E11.42"}, format="json"
    )
    assert added.status_code == 200, added.json()
    assert [d["code"] for d in added.json()["audited_coding"]["diagnoses"]] == ["E11.42"]
    done = auditor.post(f"{item_url}/complete")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == AuditItem.Status.COMPARED
    assert done.json()["original_coding"]["diagnoses"][0]["code"] == "E11.9"
    finding_id = done.json()["findings"][0]["id"]

    coder = api_for(junior)
    assert [f["id"] for f in coder.get(f"{A}/my-findings").json()["results"]] == [
        f["id"] for f in done.json()["findings"]
    ]
    no_reason = coder.post(
        f"{A}/findings/{finding_id}/respond", {"response": "disputed"}, format="json"
    )
    assert no_reason.status_code == 400 and "dispute" in no_reason.json()["reason"][0]
    disputed = coder.post(
        f"{A}/findings/{finding_id}/respond",
        {"response": "disputed", "reason": "The note says without complications."},
        format="json",
    )
    assert disputed.status_code == 200 and disputed.json()["response"] == "disputed"
    assert finding_id in {f["id"] for f in auditor.get(f"{A}/disputes").json()["results"]}
    resolved = auditor.post(
        f"{A}/findings/{finding_id}/resolve", {"resolution": "upheld"}, format="json"
    )
    assert resolved.status_code == 200 and resolved.json()["resolution"] == "upheld"
    assert Finding.objects.get(pk=finding_id).resolved_by == senior


def test_a_junior_cannot_use_audits_and_a_coder_answers_only_their_own_findings(
    junior, senior, api_for
):
    api = api_for(junior)
    assert api.get(f"{A}/plans").status_code == 403
    assert api.post(f"{A}/plans", _plan_body(senior), format="json").status_code == 403
    assert api.get(f"{A}/disputes").status_code == 403
    assert api.get(f"{A}/my-findings").status_code == 200
    missing = api.post(f"{A}/findings/999999/respond", {"response": "agreed"}, format="json")
    assert missing.status_code == 404
