"""APC for outpatient hospital claims with pyoce (the CMS Integrated Outpatient Code Editor).

    from codesets.apc import apc_group
    result = apc_group(encounter_from_json(data))   # ApcResult: lines and claim disposition

Per line: the payment APC, the status and payment indicators, the packaging and discounting
flags, each with the IOCE's own words; for the claim: its disposition. The claim sent to the
IOCE is the one the edits engine builds (codesets.edits.engines._oce_claim: revenue codes
inferred from the code), and the process-wide IOCE object is shared with the edits engine.
"""

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from codesets.edits.encounter import EncounterInput, Procedure
from codesets.edits.engines import _oce_claim, oce_engine

DISPOSITION_WORDS = {
    "0": "No edits: the claim processes normally.",
    "1": "The claim is rejected.",
    "2": "The claim is denied.",
    "3": "The claim is returned to the provider.",
    "4": "The claim is returned to the provider.",
    "5": "The claim is suspended.",
}


class ApcError(ValueError):
    """The encounter cannot be sent to the IOCE for APC (not outpatient hospital, no lines)."""


@lru_cache(maxsize=1024)
def _words(table: str, value: str) -> str:
    from pyoce.dao.desc.description_provider import DescriptionProvider

    if value in ("", None):
        return ""
    return getattr(DescriptionProvider.get_instance(), table)().get_latest_description(value)


@dataclass(frozen=True)
class ApcLine:
    code: str
    modifiers: tuple[str, ...]
    apc: str
    status_indicator: str
    status_words: str
    payment_indicator: str
    payment_words: str
    packaged: bool
    packaging_words: str
    discounting_formula: str
    denied_or_rejected: bool
    payment_method_words: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "modifiers": list(self.modifiers),
            "apc": self.apc,
            "status_indicator": self.status_indicator,
            "status_words": self.status_words,
            "payment_indicator": self.payment_indicator,
            "payment_words": self.payment_words,
            "packaged": self.packaged,
            "packaging_words": self.packaging_words,
            "discounting_formula": self.discounting_formula,
            "denied_or_rejected": self.denied_or_rejected,
            "payment_method_words": self.payment_method_words,
        }


@dataclass(frozen=True)
class ApcResult:
    lines: tuple[ApcLine, ...]
    disposition: str
    disposition_words: str
    version: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": [line.as_dict() for line in self.lines],
            "disposition": self.disposition,
            "disposition_words": self.disposition_words,
            "version": self.version,
        }


@lru_cache(maxsize=1024)
def _process(claim_json: str) -> dict[str, Any]:
    return oce_engine().process(json.loads(claim_json))


def apc_group(encounter: EncounterInput) -> ApcResult:
    if not encounter.is_outpatient_hospital:
        raise ApcError(
            f"APC is for outpatient hospital claims; this encounter is {encounter.encounter_type}."
        )
    claim = _oce_claim(encounter)
    if not claim["lineItemList"]:
        raise ApcError("procedures: add a HCPCS or CPT line to see its APC.")
    out = _process(json.dumps(claim, sort_keys=True))
    lines = []
    for line in out.get("lineItemList", []):
        apc = line.get("paymentApc") or line.get("hcpcsApc") or ""
        lines.append(
            ApcLine(
                code=line.get("hcpcs", ""),
                modifiers=tuple(m["hcpcsModifier"] for m in line.get("hcpcsModifierInputList", [])),
                apc="" if apc.strip("0") == "" else apc,
                status_indicator=line.get("statusIndicator", ""),
                status_words=_words("get_dsc_status_indicator_table", line.get("statusIndicator")),
                payment_indicator=line.get("paymentIndicator", ""),
                payment_words=_words(
                    "get_dsc_payment_indicator_table", line.get("paymentIndicator")
                ),
                packaged=line.get("packagingFlag", "0") != "0",
                packaging_words=_words("get_dsc_pkg_table", line.get("packagingFlag")),
                discounting_formula=line.get("discountingFormula", ""),
                denied_or_rejected=line.get("rejectionDenialFlag", "0") != "0",
                payment_method_words=_words("get_dsc_pmf_table", line.get("paymentMethodFlag")),
            )
        )
    disposition = str(out.get("claimDisposition", ""))
    words = _words("get_dsc_claim_disposition_table", disposition) or DISPOSITION_WORDS.get(
        disposition, ""
    )
    version = str((out.get("processingInformation") or {}).get("version") or "")
    return ApcResult(tuple(lines), disposition, words, version)


def apc_what_if(
    encounter: EncounterInput, *, drop: tuple[str, ...] = (), add: tuple[str, ...] = ()
) -> tuple[ApcResult, ApcResult]:
    """The claim as coded and with lines left out (by code) or added (HCPCS/CPT codes)."""
    wanted = {code.upper() for code in drop}
    lines = [p for p in encounter.procedures if p.code.upper() not in wanted]
    for code in add:
        system = "cpt" if code[:5].isdigit() else "hcpcs"
        lines.append(Procedure(system=system, code=code.strip().upper()))
    return apc_group(encounter), apc_group(replace(encounter, procedures=tuple(lines)))
