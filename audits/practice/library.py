"""A starting library of practice cases: the demo charts (with answer keys written here) and
the CodiEsp train split (English text, gold codes).

CodiEsp codes are the 2018 ICD-10-CM/PCS editions: each is kept when it is a billable code in
the release in force, mapped to a billable code when one exists (the assistant's GoldMapper:
the unspecified child, or the parent), else skipped, and the counts are reported. CodiEsp lists
codes without sequencing or POA, so its keys mark the principal as unknown and neither is
scored. CodiEsp v4, CC BY 4.0 (Miranda-Escalada et al., CLEF eHealth 2020).
"""

import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability
from audits.models import PracticeCase
from audits.practice.services import (
    _age,
    _require,
    fictional_patient_create,
    practice_case_create,
)
from codesets.selectors import code_lookup
from encounters.models import Document, Encounter

# Answer keys of the demo charts (encounters.demo.DEMO_CHARTS), by account number.
DEMO_KEYS: dict[str, dict] = {
    "ACC-50001": {
        "title": "Heart failure with hypertension and CKD (inpatient)",
        "diagnoses": [
            ("I13.0", "Y"),
            ("I50.33", "Y"),
            ("N18.31", "Y"),
            ("E11.42", "Y"),
            ("Z79.4", "1"),
        ],
        "note": (
            "Hypertension with heart disease and CKD is presumed linked (guideline I.C.9.a.3):"
            " the combination code I13.0 is sequenced first, with I50.33 for the type of heart"
            " failure and N18.31 for the CKD stage. Long-term insulin use is added (Z79.4;"
            " POA exempt)."
        ),
    },
    "ACC-50002": {
        "title": "Distal radius fracture after a fall from a ladder (ED)",
        "diagnoses": [("S52.531A", ""), ("W11.XXXA", ""), ("Y92.009", "")],
        "note": "A Colles' fracture has its own subcategory (S52.53-); the 7th character A is the"
        " initial encounter for a closed fracture. External cause codes follow: the fall from a"
        " ladder (W11) and the place of occurrence (home, Y92.00-).",
    },
    "ACC-50003": {
        "title": "Laparoscopic cholecystectomy: pathology adds chronic cholecystitis",
        "diagnoses": [("K80.10", "")],
        "note": "The pathology report confirms chronic cholecystitis with the stones: code the"
        " combination K80.10 (calculus of gallbladder with chronic cholecystitis without"
        " obstruction) rather than K80.20 from the operative note alone.",
    },
    "ACC-50004": {
        "title": "COPD and hypertension follow-up (office visit)",
        "diagnoses": [("J44.9", ""), ("I10", ""), ("Z87.891", "")],
        "note": "Stable COPD without exacerbation is J44.9; essential hypertension I10. A former"
        " smoker gets Z87.891 (personal history of nicotine dependence).",
    },
}


@dataclass
class ImportReport:
    created: int = 0
    existing: int = 0
    cases_without_codes: int = 0
    codes: Counter = field(default_factory=Counter)  # kept, mapped, skipped
    skipped_codes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "existing": self.existing,
            "cases_without_codes": self.cases_without_codes,
            "codes_kept": self.codes["kept"],
            "codes_mapped": self.codes["mapped"],
            "codes_skipped": self.codes["skipped"],
            "skipped_codes": sorted(set(self.skipped_codes)),
        }

    def summary(self) -> str:
        d = self.as_dict()
        return (
            f"{d['created']} case(s) added, {d['existing']} already in the library"
            + (
                f"; codes: {d['codes_kept']} kept, {d['codes_mapped']} mapped to today's "
                f"release, {d['codes_skipped']} skipped (not valid today)"
                if sum(self.codes.values())
                else ""
            )
            + (
                f"; {d['cases_without_codes']} case(s) left out (no valid code)"
                if self.cases_without_codes
                else ""
            )
            + "."
        )


def _template(*, kind: str, sex: str, age: int, days: int) -> Encounter:
    """A practice chart whose stay ended three days ago (codes valid in today's release)."""
    today = timezone.localdate()
    patient = fictional_patient_create(sex=sex, age=age, on=today)
    discharged = today - timedelta(days=3)
    return Encounter.with_practice.create(
        patient=patient,
        account_number=f"PRACTICE-{patient.mrn.rsplit('-', 1)[-1]}",
        type=kind,
        admit_date=discharged - timedelta(days=days),
        discharge_date=discharged,
        provider="Attending physician",
        payer="Practice",
        status=Encounter.Status.CODED,  # the template is read-only; attempts are copies
        is_practice=True,
    )


def _key_line(code: str, poa: str, on: date) -> dict:
    row = code_lookup(system="icd10cm", code=code, on=on)
    return {"code": row.display if row else code, "poa": poa, "description": _desc(row)}


def _desc(row) -> str:
    return row.description[:300] if row is not None else ""


@transaction.atomic
def practice_demo_import(*, by: User | None) -> ImportReport:
    """The demo charts as practice cases (once each), on fictional practice patients."""
    from encounters.demo import DEMO_CHARTS

    if by is not None:
        _require(by, Capability.MANAGE_PRACTICE_CASES)
    report = ImportReport()
    for chart in DEMO_CHARTS:
        key = DEMO_KEYS.get(chart["account"])
        if key is None:
            continue
        if PracticeCase.objects.filter(
            source=PracticeCase.Source.DEMO, source_ref=chart["account"]
        ).exists():
            report.existing += 1
            continue
        _last, _first, born, sex, _coverage = chart["patient"]
        today = timezone.localdate()
        template = _template(kind=chart["type"], sex=sex, age=_age(born, today), days=chart["days"])
        for note_type, title, text in chart["documents"]:
            Document.objects.create(
                encounter=template,
                note_type=note_type,
                title=title,
                author=chart["provider"],
                written_on=template.discharge_date,
                text=text,
            )
        on = template.date_of_service
        practice_case_create(
            by=by,
            title=key["title"],
            source=PracticeCase.Source.DEMO,
            source_ref=chart["account"],
            template=template,
            answer_key={
                "diagnoses": [_key_line(code, poa, on) for code, poa in key["diagnoses"]],
                "procedures": [],
                "principal_known": True,
            },
            teaching_note=key["note"],
        )
        report.created += 1
    return report


# --- CodiEsp ----------------------------------------------------------------------------------


def codiesp_path(split: str = "train") -> Path:
    from encounters.assist.evaluation import DATA_DIR

    return DATA_DIR / f"codiesp_v4_{split}.jsonl.gz"


def codiesp_cases(split: str = "train", path: Path | None = None) -> list[dict]:
    """[{"id", "text", "codes", "procedures"}]: the assistant's loader, plus the procedure
    codes it leaves out (read from the same file)."""
    from encounters.assist.evaluation import load_split

    path = path or codiesp_path(split)
    cases = load_split(split, path)
    procedures: dict[str, list[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                procedures[row["id"]] = row.get("procedure_codes") or []
    for case in cases:
        case["procedures"] = procedures.get(case["id"], [])
    return cases


AGE_SEX = re.compile(
    r"\b(\d{1,3})[- ]years?[- ]old (man|male|boy|gentleman|woman|female|girl|lady)\b", re.I
)


def _age_sex(text: str) -> tuple[int, str]:
    found = AGE_SEX.search(text)
    if found is None:
        return 50, "U"
    male = found.group(2).lower() in ("man", "male", "boy", "gentleman")
    return min(int(found.group(1)), 110), "M" if male else "F"


def _title(text: str) -> str:
    """The case report's first sentence, cut at a word near 90 characters."""
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0].rstrip(".")
    if len(first) <= 90:
        return first
    return first[:90].rsplit(" ", 1)[0] + "…"


CODIESP_NOTE = (
    "Gold codes from the CodiEsp corpus (CLEF eHealth 2020, CC BY 4.0; English machine "
    "translation of a Spanish clinical case report). CodiEsp lists codes without a principal "
    "or POA: only which codes you chose is scored, not their order. Codes are the 2018 "
    "edition mapped to today's release."
)


def practice_codiesp_import(
    *, by: User | None, limit: int, split: str = "train", path: Path | None = None
) -> ImportReport:
    """Up to `limit` CodiEsp cases not yet in the library, as inpatient practice charts."""
    from encounters.assist.candidates import matcher_for
    from encounters.assist.evaluation import GoldMapper

    if by is not None:
        _require(by, Capability.MANAGE_PRACTICE_CASES)
    report = ImportReport()
    done = set(
        PracticeCase.objects.filter(source=PracticeCase.Source.CODIESP).values_list(
            "source_ref", flat=True
        )
    )
    mapper = GoldMapper(matcher_for("icd10cm", None))
    for case in codiesp_cases(split, path):
        if report.created >= limit:
            break
        if case["id"] in done:
            report.existing += 1
            continue
        with transaction.atomic():
            if _codiesp_case(case, by, mapper, report):
                report.created += 1
            else:
                report.cases_without_codes += 1
    report.codes.update(mapper.counts)
    return report


def practice_codiesp_import_queue(*, by: User, limit: int) -> None:
    """Queue the CodiEsp import as a Celery task (too slow for a web request)."""
    from audits.tasks import practice_import_codiesp_task

    _require(by, Capability.MANAGE_PRACTICE_CASES)
    transaction.on_commit(lambda: practice_import_codiesp_task.delay(by.pk, limit))


def _codiesp_case(case: dict, by: User | None, mapper, report: ImportReport) -> bool:
    on = timezone.localdate() - timedelta(days=3)
    dx: list[dict] = []
    for code in case["codes"]:
        mapped = mapper.map(code)
        if mapped is None:
            report.skipped_codes.append(code)
            continue
        line = _key_line(mapped, "", on)
        if all(comparison_plain(line["code"]) != comparison_plain(d["code"]) for d in dx):
            dx.append(line)
    px: list[dict] = []
    for code in case["procedures"]:
        row = code_lookup(system="icd10pcs", code=code, on=on)
        if row is None or not row.billable:  # 4-character CodiEsp codes are not full codes
            report.codes["skipped"] += 1
            report.skipped_codes.append(code)
            continue
        report.codes["kept"] += 1
        if all(p["code"] != row.display for p in px):
            px.append(
                {
                    "system": "icd10pcs",
                    "code": row.display,
                    "modifiers": [],
                    "units": 1,
                    "description": _desc(row),
                }
            )
    if not dx:
        return False
    age, sex = _age_sex(case["text"])
    template = _template(kind=Encounter.Type.INPATIENT, sex=sex, age=age, days=5)
    Document.objects.create(
        encounter=template,
        note_type=Document.NoteType.DISCHARGE_SUMMARY,
        title="Clinical case report",
        author="CodiEsp (CC BY 4.0)",
        written_on=template.discharge_date,
        text=case["text"],
    )
    practice_case_create(
        by=by,
        title=_title(case["text"]),
        source=PracticeCase.Source.CODIESP,
        source_ref=case["id"],
        template=template,
        answer_key={"diagnoses": dx, "procedures": px, "principal_known": False},
        teaching_note=CODIESP_NOTE,
    )
    return True


def comparison_plain(code: str) -> str:
    from audits.comparison import plain

    return plain(code)
