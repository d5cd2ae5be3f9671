"""The research pages' forms: filters (GET, so a report or cohort can be bookmarked), the
export purpose and the risk groups."""

from __future__ import annotations

from typing import Any

from django import forms

from audits.models import RiskGroup
from audits.research import selectors as sel
from audits.research.export import REPORTS
from encounters.models import Encounter, Patient

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FilterForm(forms.Form):
    """Dates, type, payer, age band, sex, provider: the GET names of ResearchFilters.PARAMS."""

    def __init__(self, data: Any = None, *, choices: dict[str, list[str]], **kwargs: Any):
        super().__init__(data, **kwargs)
        self.fields["from"] = forms.DateField(label="Service from", required=False, widget=DATE)
        self.fields["to"] = forms.DateField(label="Service to", required=False, widget=DATE)
        self.fields["type"] = forms.ChoiceField(
            label="Encounter type",
            required=False,
            choices=[("", "All types"), *Encounter.Type.choices],
        )
        self.fields["payer"] = forms.ChoiceField(
            label="Payer",
            required=False,
            choices=[("", "All payers")] + [(p, p) for p in choices["payers"]],
        )
        self.fields["age"] = forms.ChoiceField(
            label="Age band",
            required=False,
            choices=[("", "All ages")] + [(b, b) for b in sel.AGE_BAND_LABELS],
        )
        self.fields["sex"] = forms.ChoiceField(
            label="Sex", required=False, choices=[("", "All"), *Patient.Sex.choices]
        )
        self.fields["provider"] = forms.ChoiceField(
            label="Provider",
            required=False,
            choices=[("", "All providers")] + [(p, p) for p in choices["providers"]],
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        return data

    def filters(self) -> sel.ResearchFilters:
        """The valid filters; with errors, no filters (the page says so)."""
        if not self.is_bound or not self.is_valid():
            return sel.ResearchFilters()
        d = self.cleaned_data
        return sel.ResearchFilters(
            date_from=d.get("from"),
            date_to=d.get("to"),
            encounter_type=d.get("type") or "",
            payer=d.get("payer") or "",
            age_band=d.get("age") or "",
            sex=d.get("sex") or "",
            provider=d.get("provider") or "",
        )


class CohortForm(FilterForm):
    """The cohort builder: code lists, an age range and where "none of" looks, plus the filters
    (the age band filter gives way to the age range)."""

    def __init__(self, data: Any = None, **kwargs: Any):
        super().__init__(data, **kwargs)
        del self.fields["age"]
        self.fields["any"] = forms.CharField(
            label="With any of these codes",
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2, "placeholder": "E11, I50, N18.3"}),
            help_text="Codes, categories or ranges (I10-I16), separated by commas or spaces.",
        )
        self.fields["none"] = forms.CharField(
            label="And none of these",
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2, "placeholder": "C00-C96"}),
        )
        self.fields["scope"] = forms.ChoiceField(
            label="“None of” looks at",
            required=False,
            choices=sel.Cohort.SCOPES,
            initial="encounter",
        )
        self.fields["age_min"] = forms.IntegerField(
            label="Age from", required=False, min_value=0, max_value=130
        )
        self.fields["age_max"] = forms.IntegerField(
            label="Age to", required=False, min_value=0, max_value=130
        )
        self.order_fields(["any", "none", "scope", "age_min", "age_max"])

    def clean_any(self) -> tuple[str, ...]:
        return self._codes("any")

    def clean_none(self) -> tuple[str, ...]:
        return self._codes("none")

    def _codes(self, name: str) -> tuple[str, ...]:
        try:
            return sel.parse_code_list(self.cleaned_data.get(name) or "")
        except sel.CodeListError as error:
            raise forms.ValidationError(str(error)) from error

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lo, hi = data.get("age_min"), data.get("age_max")
        if lo is not None and hi is not None and lo > hi:
            raise forms.ValidationError("The lowest age is above the highest.")
        return data

    def cohort(self) -> sel.Cohort | None:
        """The cohort, or None when the form is empty or has errors."""
        if not self.is_bound or not self.is_valid():
            return None
        d = self.cleaned_data
        cohort = sel.Cohort(
            filters=self.filters(),
            any_codes=d.get("any") or (),
            none_codes=d.get("none") or (),
            age_min=d.get("age_min"),
            age_max=d.get("age_max"),
            scope=d.get("scope") or "encounter",
        )
        return None if cohort.is_empty else cohort

    @staticmethod
    def params(cohort: sel.Cohort) -> dict[str, str]:
        out = cohort.filters.params()
        if cohort.any_codes:
            out["any"] = sel.format_code_list(cohort.any_codes)
        if cohort.none_codes:
            out["none"] = sel.format_code_list(cohort.none_codes)
            out["scope"] = cohort.scope
        if cohort.age_min is not None:
            out["age_min"] = str(cohort.age_min)
        if cohort.age_max is not None:
            out["age_max"] = str(cohort.age_max)
        return out


class RiskForm(FilterForm):
    def __init__(self, data: Any = None, **kwargs: Any):
        super().__init__(data, **kwargs)
        self.fields["min_groups"] = forms.IntegerField(
            label="Flag at (conditions)", required=False, min_value=1, max_value=20, initial=3
        )
        self.fields["unit"] = forms.ChoiceField(
            label="Count",
            required=False,
            choices=[("patient", "Patients"), ("encounter", "Encounters")],
            initial="patient",
        )

    def risk(self) -> tuple[int, str]:
        if self.is_bound and self.is_valid():
            return self.cleaned_data.get("min_groups") or 3, self.cleaned_data.get("unit") or (
                "patient"
            )
        return 3, "patient"


class ExportForm(forms.Form):
    report = forms.ChoiceField(label="Table", choices=list(REPORTS.items()))
    purpose = forms.CharField(
        label="Purpose of this export",
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who will use it and for what, e.g. “Quality committee: diabetes prevalence "
        "2025 for the annual review”. Kept in the export log.",
        error_messages={
            "required": "Say what the export is for: the purpose is kept in the export log."
        },
    )

    def clean_purpose(self) -> str:
        purpose = self.cleaned_data["purpose"].strip()
        if len(purpose) < 5:
            raise forms.ValidationError(
                "Say what the export is for in a few words: the purpose is kept in the export log."
            )
        return purpose


class RiskGroupForm(forms.ModelForm):
    codes = forms.CharField(
        label="Codes",
        max_length=2000,
        widget=forms.TextInput(),
        help_text="ICD-10-CM codes, categories or ranges, e.g. E08-E13 or I50, N18.",
    )

    class Meta:
        model = RiskGroup
        fields = ["name", "description", "is_active"]
        labels = {"is_active": "Counted in high-risk flags"}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["codes"] = sel.format_code_list(self.instance.code_prefixes)

    def clean_codes(self) -> list[str]:
        try:
            codes = sel.parse_code_list(self.cleaned_data["codes"])
        except sel.CodeListError as error:
            raise forms.ValidationError(str(error)) from error
        if not codes:
            raise forms.ValidationError("List at least one code or category.")
        return list(codes)
