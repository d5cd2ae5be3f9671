"""CARC and RARC reason codes: a table of the common ones in plain words, the edit rules
that usually cause each, and the parsing of codes as typed from a remittance."""

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from encounters.models import Claim

GROUP_CODES = {
    "CO": "Contractual obligation (the provider's write-off)",
    "PR": "Patient responsibility",
    "OA": "Other adjustment",
    "PI": "Payer-initiated reduction",
}


@dataclass(frozen=True)
class ReasonCode:
    """One CARC or RARC: a short meaning in plain words, the edit rules that likely caused it
    (exact rule ids, or prefixes ending in "*"), and whether a code correction can fix it."""

    code: str
    meaning: str
    rules: tuple[str, ...] = ()
    hint: str = ""


def _table(*rows: ReasonCode) -> dict[str, ReasonCode]:
    return {row.code: row for row in rows}


_MISSING_INFO = ("INVALID_CODE", "NOT_BILLABLE", "SEVENTH_CHARACTER", "POA_*", "MCE_REQUIRES_SDX")
_INVALID = ("INVALID_CODE", "CODE_TERMINATED", "NOT_BILLABLE", "SEVENTH_CHARACTER")
_COVERAGE = ("COVERAGE", "MCE_NON_COVERED", "MCE_LIMITED_COVERAGE")

# The common codes, summarised in our own words (the official texts are longer).
CARC = _table(
    ReasonCode("1", "Deductible amount (the patient owes it).", hint="Not a coding problem."),
    ReasonCode("2", "Coinsurance amount (the patient owes it).", hint="Not a coding problem."),
    ReasonCode("3", "Co-payment amount (the patient owes it).", hint="Not a coding problem."),
    ReasonCode(
        "4",
        "The procedure code does not fit the modifier used, or a required modifier is missing.",
        ("MODIFIER_*", "NCCI_PTP"),
    ),
    ReasonCode("5", "The procedure code or bill type does not fit the place of service."),
    ReasonCode(
        "6",
        "The procedure does not fit the patient's age.",
        ("MCE_AGE_CONFLICT", "MCE_INVALID_AGE"),
    ),
    ReasonCode(
        "7",
        "The procedure does not fit the patient's sex.",
        ("MCE_SEX_CONFLICT", "MCE_INVALID_SEX"),
    ),
    ReasonCode(
        "9",
        "The diagnosis does not fit the patient's age.",
        ("MCE_AGE_CONFLICT", "MCE_INVALID_AGE"),
    ),
    ReasonCode(
        "10",
        "The diagnosis does not fit the patient's sex.",
        ("MCE_SEX_CONFLICT", "MCE_INVALID_SEX"),
    ),
    ReasonCode(
        "11",
        "The diagnosis does not support the procedure billed.",
        ("COVERAGE", "EXCLUDES1", "CODE_FIRST", "MCE_UNACCEPTABLE_PDX"),
    ),
    ReasonCode(
        "16",
        "The claim lacks information or has billing errors needed to adjudicate it "
        "(a remark code says what).",
        _MISSING_INFO,
    ),
    ReasonCode(
        "18", "Exact duplicate of a claim or service.", ("DUPLICATE_CODE", "MCE_DUPLICATE_*")
    ),
    ReasonCode(
        "22",
        "Another payer may cover this care (coordination of benefits).",
        hint="Bill the primary payer first; not a coding problem.",
    ),
    ReasonCode("26", "Services before the patient's coverage started.", hint="Eligibility."),
    ReasonCode("27", "Services after the patient's coverage ended.", hint="Eligibility."),
    ReasonCode(
        "29",
        "The time limit for filing has expired.",
        hint="Timely filing: appeal only with proof of a timely first submission.",
    ),
    ReasonCode(
        "31", "The patient cannot be identified as the payer's insured.", hint="Eligibility."
    ),
    ReasonCode(
        "45",
        "The charge exceeds the fee schedule or the contracted amount.",
        hint="A contractual adjustment; not a coding problem.",
    ),
    ReasonCode("49", "Not covered: a routine or preventive service.", _COVERAGE),
    ReasonCode(
        "50",
        "Not covered: the payer does not deem the service medically necessary.",
        (*_COVERAGE, "MCE_QUESTIONABLE_ADMISSION"),
    ),
    ReasonCode("55", "Experimental or investigational procedure, treatment or drug.", _COVERAGE),
    ReasonCode("58", "Rendered in an inappropriate or invalid place of service."),
    ReasonCode("59", "Paid under the multiple or concurrent procedure rules.", ("NCCI_PTP", "MUE")),
    ReasonCode("96", "Non-covered charge (a remark code says why).", _COVERAGE),
    ReasonCode(
        "97",
        "The service is included in the payment for another service already adjudicated (bundled).",
        ("NCCI_PTP",),
    ),
    ReasonCode(
        "109",
        "Not covered by this payer: send the claim to the correct payer.",
        hint="Check the payer on the encounter; not a coding problem.",
    ),
    ReasonCode(
        "119",
        "The benefit maximum for this period or occurrence has been reached.",
        ("MUE", "COVERAGE"),
    ),
    ReasonCode("146", "The diagnosis was invalid on the date of service.", _INVALID),
    ReasonCode("150", "The documentation does not support this level of service."),
    ReasonCode(
        "151",
        "The documentation does not support this many services or this frequency.",
        ("MUE", "COVERAGE"),
    ),
    ReasonCode(
        "167",
        "The diagnosis (or diagnoses) is not covered.",
        (*_COVERAGE, "MCE_UNACCEPTABLE_PDX", "MCE_NONSPECIFIC_PDX"),
    ),
    ReasonCode("181", "The procedure code was invalid on the date of service.", _INVALID),
    ReasonCode("182", "The modifier was invalid on the date of service.", ("MODIFIER_INVALID",)),
    ReasonCode(
        "189",
        "An unlisted or 'not otherwise classified' code was billed where a specific code exists.",
        ("NOT_BILLABLE",),
    ),
    ReasonCode(
        "197",
        "Precertification, authorization or notification is missing.",
        hint="Authorization: appeal with the authorization number; not a coding problem.",
    ),
    ReasonCode(
        "198",
        "Precertification or authorization was exceeded.",
        hint="Authorization; not a coding problem.",
    ),
    ReasonCode(
        "204", "The service is not covered under the patient's current benefit plan.", _COVERAGE
    ),
    ReasonCode("226", "Information requested from the provider was not sent or is incomplete."),
    ReasonCode("234", "This procedure is not paid separately.", ("NCCI_PTP",)),
    ReasonCode(
        "236",
        "This procedure, or procedure and modifier, is not compatible with another procedure "
        "on the same day under NCCI.",
        ("NCCI_PTP", "MODIFIER_*"),
    ),
    ReasonCode("252", "An attachment or other documentation is needed to adjudicate the claim."),
    ReasonCode(
        "B7",
        "The provider was not certified or eligible for this service on this date.",
        hint="Credentialing; not a coding problem.",
    ),
    ReasonCode("B9", "The patient is enrolled in a hospice.", hint="Eligibility."),
    ReasonCode(
        "B15",
        "The service needs a qualifying service that has not been received or adjudicated.",
        ("NCCI_PTP",),
    ),
    ReasonCode("B20", "Part or all of the service was furnished by another provider."),
    ReasonCode("B22", "Payment adjusted because of the diagnosis.", ("COVERAGE",)),
)

RARC = _table(
    ReasonCode(
        "M15",
        "Separately billed services were bundled as parts of the same "
        "procedure; no separate payment.",
        ("NCCI_PTP",),
    ),
    ReasonCode("M20", "Missing, incomplete or invalid HCPCS code.", _INVALID),
    ReasonCode("M25", "The documentation does not support the need for this level of service."),
    ReasonCode("M51", "Missing, incomplete or invalid procedure code.", _INVALID),
    ReasonCode(
        "M76",
        "Missing, incomplete or invalid diagnosis or condition.",
        (*_INVALID, "MCE_UNACCEPTABLE_PDX"),
    ),
    ReasonCode(
        "M80",
        "Not covered when done in the same session or on the same date as a "
        "service already processed.",
        ("NCCI_PTP",),
    ),
    ReasonCode(
        "M86",
        "Denied: payment was already made for the same or a similar procedure within a set time.",
        ("MUE", "COVERAGE", "DUPLICATE_CODE"),
    ),
    ReasonCode(
        "M127",
        "Missing the patient's medical record for this service.",
        hint="Send the documentation (an appeal letter with the records).",
    ),
    ReasonCode(
        "MA63",
        "Missing, incomplete or invalid principal diagnosis.",
        (*_INVALID, "MCE_UNACCEPTABLE_PDX", "CODE_FIRST"),
    ),
    ReasonCode("MA66", "Missing, incomplete or invalid principal procedure code.", _INVALID),
    ReasonCode(
        "MA130",
        "The claim is incomplete or invalid and cannot be processed (no appeal "
        "rights): send a new, corrected claim.",
        _MISSING_INFO,
    ),
    ReasonCode("N19", "The procedure code is incidental to the primary procedure.", ("NCCI_PTP",)),
    ReasonCode("N20", "Not payable with another service given on the same date.", ("NCCI_PTP",)),
    ReasonCode(
        "N29",
        "Missing documentation, orders, notes or report.",
        hint="Send the documentation (an appeal letter with the records).",
    ),
    ReasonCode(
        "N56",
        "The procedure code is not correct or valid for the services or the "
        "date of service billed.",
        (*_INVALID, "MODIFIER_*"),
    ),
    ReasonCode(
        "N115", "The decision is based on a Local Coverage Determination (LCD).", ("COVERAGE",)
    ),
    ReasonCode(
        "N130", "See the plan's benefit documents for the limits on this service.", ("COVERAGE",)
    ),
    ReasonCode(
        "N362", "The days or units of service exceed the payer's maximum.", ("MUE", "COVERAGE")
    ),
    ReasonCode(
        "N386", "The decision is based on a National Coverage Determination (NCD).", ("COVERAGE",)
    ),
    ReasonCode(
        "N525", "Not covered when done within the global period of another service.", ("NCCI_PTP",)
    ),
    ReasonCode(
        "N640", "Exceeds the number or frequency allowed within a period.", ("MUE", "COVERAGE")
    ),
    ReasonCode("N657", "Bill this with the appropriate code for these services.", _INVALID),
)

_CARC_FORM = re.compile(r"^(?:(CO|PR|OA|PI)\s*-?\s*)?([A-Z]?\d{1,3})$")
_RARC_FORM = re.compile(r"^(MA|M|N)\d{1,3}$")
_SPLIT = re.compile(r"[\s,;]+")


def _tokens(value: str | list[str] | None) -> list[str]:
    """Codes as typed: one string ("CO-50, N115") or a list; group codes stay with their number."""
    if value is None:
        return []
    text = value if isinstance(value, str) else " ".join(value)
    # Join "CO 50" and "CO- 50" into one token before splitting on spaces.
    text = re.sub(r"\b(CO|PR|OA|PI)\s*-\s*|\b(CO|PR|OA|PI)\s+", r"\1\2-", text.upper())
    return [t for t in _SPLIT.split(text) if t]


def carc_parse(value: str | list[str] | None) -> list[dict[str, str]]:
    """[{"group": "CO", "code": "50"}, ...]; a malformed or unknown code is a ValidationError."""
    parsed: list[dict[str, str]] = []
    for token in _tokens(value):
        match = _CARC_FORM.match(token)
        if not match:
            raise ValidationError(
                {
                    "carc_codes": f"“{token}” is not a claim adjustment reason code. Write the "
                    "group code and the number, e.g. CO-50 (groups: CO, PR, OA, PI)."
                }
            )
        group, code = match.group(1) or "", match.group(2).lstrip("0") or "0"
        if code not in CARC and token in RARC:
            raise ValidationError(
                {"carc_codes": f"{token} is a remark code (RARC): put it with the RARC codes."}
            )
        if code not in CARC:
            raise ValidationError(
                {
                    "carc_codes": f"CARC {code} is not in the table of common reason codes this "
                    "workbench knows; check the remittance, or put the code and its text in "
                    "the payer's note."
                }
            )
        item = {"group": group, "code": code}
        if item not in parsed:
            parsed.append(item)
    return parsed


def rarc_parse(value: str | list[str] | None) -> list[str]:
    parsed: list[str] = []
    for token in _tokens(value):
        if not _RARC_FORM.match(token):
            raise ValidationError(
                {
                    "rarc_codes": f"“{token}” is not a remittance advice remark code (RARC): "
                    "they start with M, MA or N and a number, e.g. N115."
                }
            )
        if token not in RARC:
            raise ValidationError(
                {
                    "rarc_codes": f"RARC {token} is not in the table of common remark codes "
                    "this workbench knows; check the remittance, or put it in the payer's note."
                }
            )
        if token not in parsed:
            parsed.append(token)
    return parsed


def carc_label(item: dict[str, str]) -> str:
    return f"{item['group']}-{item['code']}" if item.get("group") else item["code"]


def denial_codes(claim: Claim) -> list[dict[str, Any]]:
    """The claim's CARC and RARC codes, each with its meaning and likely edit rules."""
    rows = []
    for item in claim.carc_codes:
        reason = CARC.get(item["code"])
        rows.append(
            {
                "kind": "CARC",
                "code": carc_label(item),
                "group": GROUP_CODES.get(item.get("group", ""), ""),
                "meaning": reason.meaning if reason else "",
                "rules": list(reason.rules) if reason else [],
                "hint": reason.hint if reason else "",
            }
        )
    for code in claim.rarc_codes:
        reason = RARC.get(code)
        rows.append(
            {
                "kind": "RARC",
                "code": code,
                "group": "",
                "meaning": reason.meaning if reason else "",
                "rules": list(reason.rules) if reason else [],
                "hint": reason.hint if reason else "",
            }
        )
    return rows


def rule_matches(rule: str, patterns: list[str] | tuple[str, ...]) -> bool:
    return any(rule == p or (p.endswith("*") and rule.startswith(p[:-1])) for p in patterns)
