"""The shared code database: systems, releases and everything a release brings.

A release is immutable once imported: its rows never change, so anything derived from them
(the search index, diffs) can be cached by release id.
"""

from django.conf import settings
from django.db import models


class CodeSystem(models.Model):
    class Kind(models.TextChoices):
        CODES = "codes", "Code set"
        EDITS = "edits", "Edit table"
        TABLE = "table", "Reference table"

    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CODES)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Release(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        BUNDLED = "bundled", "Bundled package"
        UPLOAD = "upload", "Uploaded file"
        URL = "url", "Downloaded from URL"
        FILE = "file", "File on the server"

    class Setting(models.TextChoices):
        """Care setting, for the NCCI tables that CMS publishes per setting."""

        NONE = "", "—"
        PRACTITIONER = "practitioner", "Practitioner"
        HOSPITAL = "hospital", "Outpatient hospital"
        DME = "dme", "DME supplier"

    system = models.ForeignKey(CodeSystem, on_delete=models.PROTECT, related_name="releases")
    setting = models.CharField(max_length=16, choices=Setting.choices, blank=True, default="")
    label = models.CharField(max_length=120)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Last day in force.")
    source = models.CharField(max_length=8, choices=Source.choices)
    source_name = models.CharField(max_length=300, help_text="Package or file name.")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the source.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    row_count = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows per section/chapter/kind.")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    activate_on = models.DateField(
        null=True, blank=True, help_text="Scheduled activation: Celery beat activates it then."
    )
    source_url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["system__slug", "setting", "-effective_from"]
        constraints = [
            # Importing the same file twice is a no-op: the checksum finds the first release.
            models.UniqueConstraint(
                fields=["system", "setting", "checksum"], name="release_unique_source_per_system"
            ),
            models.UniqueConstraint(
                fields=["system", "setting", "label"], name="release_unique_label_per_system"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status in (self.Status.IMPORTED, self.Status.ACTIVE) else 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class Code(models.Model):
    """One code (or header: chapter, block, category) of one release."""

    class Kind(models.TextChoices):
        CHAPTER = "chapter", "Chapter"
        BLOCK = "block", "Block"
        CATEGORY = "category", "Category"
        SUBCATEGORY = "subcategory", "Subcategory"
        CODE = "code", "Code"
        MODIFIER = "modifier", "Modifier"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=16, help_text="Normalised: upper case, no dot.")
    display = models.CharField(max_length=16, help_text="As coders write it (dot for ICD-10).")
    description = models.TextField()
    short_description = models.CharField(max_length=120, blank=True)
    billable = models.BooleanField(default=False)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CODE)
    parent = models.CharField(max_length=16, blank=True, help_text="Parent's display form.")
    depth = models.PositiveSmallIntegerField(default=0)
    # Chapter for ICD-10, section for PCS, first letter for HCPCS: what import counts group by.
    group = models.CharField(max_length=64, blank=True)
    sort_key = models.PositiveIntegerField(default=0, help_text="Order within the release.")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True, help_text="Termination date, if any.")
    # Words a search matches besides the description (inclusion terms, index terms).
    search_terms = models.TextField(blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["release", "sort_key"]
        constraints = [
            models.UniqueConstraint(fields=["release", "code"], name="code_unique_per_release"),
        ]
        indexes = [models.Index(fields=["code"], name="code_code_idx")]

    def __str__(self) -> str:
        return f"{self.display} {self.description}"


class CodeNote(models.Model):
    """A tabular instruction attached to a code (or a header above it)."""

    class Kind(models.TextChoices):
        INCLUDES = "includes", "Includes"
        INCLUSION_TERM = "inclusion_term", "Inclusion term"
        EXCLUDES1 = "excludes1", "Excludes1"
        EXCLUDES2 = "excludes2", "Excludes2"
        CODE_FIRST = "code_first", "Code first"
        USE_ADDITIONAL = "use_additional", "Use additional code"
        CODE_ALSO = "code_also", "Code also"
        NOTE = "note", "Note"
        SEVENTH_CHARACTER = "seventh_character", "7th character note"

    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField()
    sequence = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["code", "kind", "sequence"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text}"


class NoteReference(models.Model):
    """A code range named inside a note, so rules can be checked by machine.

    "type 1 diabetes mellitus (E10.-)" gives first=E10, last=E10: every code starting E10.
    "(E00-E07, E15-E16)" gives two references. A code X falls in a reference when
    X[:len(first)] >= first and X[:len(last)] <= last (codes without dots).
    """

    note = models.ForeignKey(CodeNote, on_delete=models.CASCADE, related_name="references")
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="+")
    first = models.CharField(max_length=16)
    last = models.CharField(max_length=16)
    text = models.CharField(max_length=40, help_text="As written in the note, e.g. E10.-")

    class Meta:
        indexes = [models.Index(fields=["release", "first"], name="noteref_release_first_idx")]

    def covers(self, code: str) -> bool:
        code = code.replace(".", "").upper()
        return code[: len(self.first)] >= self.first and code[: len(self.last)] <= self.last


class SeventhCharacter(models.Model):
    """A 7th-character value allowed below a code (ICD-10-CM)."""

    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="seventh_characters")
    character = models.CharField(max_length=1)
    meaning = models.CharField(max_length=300)

    class Meta:
        ordering = ["code", "character"]
        constraints = [
            models.UniqueConstraint(fields=["code", "character"], name="seventh_unique_per_code")
        ]


class PcsAxisValue(models.Model):
    """One value of one axis of an ICD-10-PCS table.

    `prefix` is what fixes the table: "" for the section axis (position 1), the section for
    the body system (position 2), the first three characters for positions 3–7.
    """

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="pcs_axes")
    prefix = models.CharField(max_length=3)
    position = models.PositiveSmallIntegerField()
    value = models.CharField(max_length=1)
    axis = models.CharField(max_length=40, help_text="Section, Body System, Root Operation, ...")
    label = models.CharField(max_length=200)
    definition = models.TextField(blank=True)

    class Meta:
        ordering = ["release", "prefix", "position", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "prefix", "position", "value", "label"],
                name="pcs_axis_value_unique",
            )
        ]


class PtpEdit(models.Model):
    """An NCCI procedure-to-procedure edit: column 2 is not paid with column 1."""

    class ModifierIndicator(models.TextChoices):
        NOT_ALLOWED = "0", "0 — no modifier bypasses this edit"
        ALLOWED = "1", "1 — an NCCI-associated modifier may bypass it"
        NOT_APPLICABLE = "9", "9 — not applicable (edit deleted)"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="ptp_edits")
    column1 = models.CharField(max_length=5)
    column2 = models.CharField(max_length=5)
    effective_date = models.DateField(null=True, blank=True)
    deletion_date = models.DateField(null=True, blank=True)
    modifier_indicator = models.CharField(max_length=1, choices=ModifierIndicator.choices)
    prior_1996 = models.BooleanField(default=False)
    rationale = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["release", "column1", "column2"], name="ptp_pair_idx")]


class MueEdit(models.Model):
    """A medically unlikely edit: the most units of a code one patient gets per day/line."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="mue_edits")
    code = models.CharField(max_length=5)
    value = models.PositiveIntegerField()
    adjudication_indicator = models.PositiveSmallIntegerField(
        help_text="1 claim line, 2 date of service (policy), 3 date of service (clinical)."
    )
    rationale = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "code"], name="mue_unique_per_release")
        ]


class AddOnCodeEdit(models.Model):
    """An NCCI add-on code edit: the add-on code is paid only with one of its primaries."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="addon_edits")
    primary_code = models.CharField(max_length=5, help_text="CCCCC: see CMS/CPT instructions.")
    addon_code = models.CharField(max_length=5)
    edit_type = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["release", "addon_code"], name="aoc_addon_idx")]


class DrgWeight(models.Model):
    """One MS-DRG row of the CMS Table 5 (relative weight and mean length of stay)."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="drg_weights")
    drg = models.CharField(max_length=3)
    mdc = models.CharField(max_length=4)
    drg_type = models.CharField(max_length=4, help_text="SURG or MED")
    title = models.CharField(max_length=200)
    weight = models.DecimalField(max_digits=8, decimal_places=4)
    geometric_mean_los = models.DecimalField(max_digits=6, decimal_places=1, null=True)
    arithmetic_mean_los = models.DecimalField(max_digits=6, decimal_places=1, null=True)
    post_acute = models.BooleanField(default=False)
    special_pay = models.BooleanField(default=False)

    class Meta:
        ordering = ["release", "drg"]
        constraints = [
            models.UniqueConstraint(fields=["release", "drg"], name="drg_weight_unique_per_release")
        ]


class IndexEntry(models.Model):
    """A line of the ICD-10-CM Table of Drugs, Neoplasm Table or External Cause Index.

    `path` is the term with its parents ("Acetaminophen"; "Neoplasm > bone > femur"); `column`
    the table column ("Poisoning, Accidental (unintentional)"); `code` as printed (T39.1X1-).
    """

    class Table(models.TextChoices):
        DRUG = "drug", "Table of Drugs and Chemicals"
        NEOPLASM = "neoplasm", "Neoplasm Table"
        EXTERNAL_CAUSE = "eindex", "External Cause of Injuries Index"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="index_entries")
    table = models.CharField(max_length=10, choices=Table.choices)
    path = models.CharField(max_length=500)
    column = models.CharField(max_length=80, blank=True)
    code = models.CharField(max_length=16)
    sort_key = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["release", "sort_key"]


class CoverageRule(models.Model):
    """A payer's medical-necessity rule for one procedure code, maintained by admins.

    Checked by the edits engine as rule COVERAGE: the procedure needs one of the supporting
    diagnoses (a code, or a prefix ending in "*"), and at most `frequency_limit` services in
    `frequency_days` days.
    """

    payer = models.CharField(max_length=120)
    procedure_system = models.CharField(max_length=8, default="hcpcs")
    procedure_code = models.CharField(max_length=10)
    supporting_diagnoses = models.JSONField(default=list, blank=True)
    frequency_limit = models.PositiveSmallIntegerField(null=True, blank=True)
    frequency_days = models.PositiveIntegerField(null=True, blank=True)
    policy = models.CharField(max_length=200, blank=True, help_text="e.g. the LCD or policy id.")
    note = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["payer", "procedure_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["payer", "procedure_system", "procedure_code"],
                name="coverage_rule_unique_per_payer_code",
            )
        ]

    def __str__(self) -> str:
        return f"{self.payer}: {self.procedure_code}"


class ReleaseFeed(models.Model):
    """A URL an admin registered; a beat task checks it and creates pending releases."""

    system = models.ForeignKey(CodeSystem, on_delete=models.PROTECT, related_name="feeds")
    setting = models.CharField(max_length=16, choices=Release.Setting.choices, blank=True)
    url = models.URLField(max_length=500)
    label = models.CharField(max_length=120, help_text="Label prefix for releases it creates.")
    active = models.BooleanField(default=True)
    interval_hours = models.PositiveIntegerField(default=24)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)
    last_checksum = models.CharField(max_length=64, blank=True)
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["system__slug", "url"]
        constraints = [
            models.UniqueConstraint(fields=["url"], name="release_feed_unique_url"),
        ]

    def __str__(self) -> str:
        return self.url
