"""Which releases are in force for one check, read in a single query.

`selectors.release_in_force` asks the database once per system; a check needs up to eight
(ICD-10-CM, PCS, HCPCS, CPT, modifiers, PTP, MUE per setting), so the list of active releases
is read in one query and picked from in memory. The list is kept for RELEASES_TTL seconds:
an activation takes effect on checks within that time, and a busy worker does not ask the
database the same question hundreds of times a second.
"""

import time
from dataclasses import dataclass
from datetime import date

from codesets.models import Release


@dataclass(frozen=True)
class ReleaseRef:
    id: int
    system: str
    setting: str
    label: str
    effective_from: date
    effective_to: date | None

    @property
    def span(self) -> str:
        until = self.effective_to.isoformat() if self.effective_to else "until replaced"
        return f"{self.label} (in force {self.effective_from.isoformat()} – {until})"


RELEASES_TTL = 5.0
_cached: tuple[float, list["ReleaseRef"]] | None = None


def _active_releases() -> list["ReleaseRef"]:
    global _cached
    now = time.monotonic()
    if _cached is None or now - _cached[0] > RELEASES_TTL:
        _cached = (now, _read_active())
    return _cached[1]


def forget_active_releases() -> None:
    """Tests activate releases and check at once: drop the kept list."""
    global _cached
    _cached = None


def _read_active() -> list[ReleaseRef]:
    return [
        ReleaseRef(
            id=row["id"],
            system=row["system__slug"],
            setting=row["setting"],
            label=row["label"],
            effective_from=row["effective_from"],
            effective_to=row["effective_to"],
        )
        for row in Release.objects.filter(status=Release.Status.ACTIVE).values(
            "id", "system__slug", "setting", "label", "effective_from", "effective_to"
        )
    ]


class ActiveReleases:
    def __init__(self) -> None:
        self._all = _active_releases()

    def in_force(self, system: str, on: date, setting: str = "") -> ReleaseRef | None:
        """Same choice as selectors.release_in_force: the latest start on or before `on`."""
        candidates = [
            r
            for r in self._all
            if r.system == system
            and r.setting == setting
            and r.effective_from <= on
            and (r.effective_to is None or r.effective_to >= on)
        ]
        return max(candidates, key=lambda r: r.effective_from, default=None)

    def of_system(self, system: str) -> list[ReleaseRef]:
        return [r for r in self._all if r.system == system]
