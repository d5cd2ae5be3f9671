"""Parse the code references written inside ICD-10-CM tabular notes.

Notes cite codes in parentheses: "type 1 diabetes mellitus (E10.-)", "neoplasm (C00-D49)",
"endocrine disease (E00-E07, E15-E16, E20-E34)". Each citation becomes a (first, last) pair of
dot-less code prefixes; a code is covered when its own prefixes fall between them.
"""

import re
from typing import NamedTuple

_CODE = r"[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_CITATION = re.compile(
    rf"(?P<first>{_CODE})\s*-\s*(?P<last>{_CODE})(?:\.?-)?"  # a range: E00-E07
    rf"|(?P<single>{_CODE})(?:\.?-)?"  # one code or category: E10.- , O24.4- , Z79.4
)
_PARENTHESES = re.compile(r"\(([^()]*)\)")


class CodeRange(NamedTuple):
    first: str
    last: str
    text: str


def _plain(code: str) -> str:
    return code.replace(".", "").upper()


def parse_code_references(note: str) -> list[CodeRange]:
    """The code ranges a note cites, in order, without duplicates."""
    found: list[CodeRange] = []
    seen: set[tuple[str, str]] = set()
    for group in _PARENTHESES.findall(note):
        for match in _CITATION.finditer(group):
            if match.group("single"):
                first = last = _plain(match.group("single"))
            else:
                first, last = _plain(match.group("first")), _plain(match.group("last"))
            if (first, last) in seen:
                continue
            seen.add((first, last))
            found.append(CodeRange(first, last, match.group(0).strip()))
    return found


def range_covers(first: str, last: str, code: str) -> bool:
    code = _plain(code)
    return code[: len(first)] >= first and code[: len(last)] <= last
