"""MS-DRG on stored encounters: group the coding as saved, and keep the grouping at a save.

Reads go through codesets.drg (msdrg); the only write is `encounter_drg_save`, which stores
the grouping into Encounter.drg_at_save so the workspace can show what changed since.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from codesets.drg import Changes, DrgResult, WhatIf, group, what_if
from codesets.edits import EncounterInput, encounter_from_json
from encounters.coding import encounter_as_json
from encounters.models import Encounter


def encounter_drg_input(*, encounter: Encounter) -> EncounterInput:
    return encounter_from_json(encounter_as_json(encounter))


def encounter_drg(*, encounter: Encounter) -> DrgResult:
    """The MS-DRG of the encounter's codes as saved (DrgError if it cannot be grouped)."""
    return group(encounter_drg_input(encounter=encounter))


def encounter_drg_what_if(*, encounter: Encounter, changes: Changes) -> WhatIf:
    return what_if(encounter_drg_input(encounter=encounter), changes)


@transaction.atomic
def encounter_drg_save(*, encounter: Encounter, by: User) -> dict[str, Any]:
    """Group the saved coding and keep it as the encounter's DRG at save."""
    locked = Encounter.with_practice.select_for_update().get(pk=encounter.pk)  # practice too
    saved = {
        **encounter_drg(encounter=locked).as_dict(),
        "saved_at": timezone.now().isoformat(),
        "saved_by": by.get_username(),
    }
    locked.drg_at_save = saved
    locked.save(update_fields=["drg_at_save"])
    encounter.drg_at_save = saved
    return saved
