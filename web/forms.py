"""WTForms forms for officers' editing of assets and organisations (CSRF through Flask-WTF).

The forms check only what a browser form needs (a name is there, a choice is one on offer,
text is not absurdly long). Every rule about the data itself — categories, postcodes,
swapped coordinates, company and charity numbers, flags — lives in
:func:`mapping.register.importers.prepare_assets` and
:func:`mapping.register.importers.prepare_organisations`,
which imports use too; :meth:`RecordForm.show_problems` puts their problems on the fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from mapping import schema as S
from mapping.errors import Problem
from mapping.register.taxonomy import CATEGORY_GROUPS, load_categories

#: The choices of a yes/no/unknown flag; the values are what ``parse_flags`` reads.
FLAG_CHOICES = [SelectChoice("", "Not known"), SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
#: What each organisation flag (``schema.ORGANISATION_FLAGS``) means, in plain words. Newham's
#: patch-based homecare asks providers for the first three (DESIGN.md); the last marks a
#: national charity, generative by legal form but less locally generative.
FLAG_LABELS = {
    S.LIVING_WAGE: "Pays the Living Wage",
    S.ETHICAL_CARE_CHARTER: "Follows UNISON's ethical care charter",
    S.OFFICE_IN_BOROUGH: "Has an office in the borough",
    S.NATIONAL_FOOTPRINT: "Operates nationally",
}
#: Form fields that one problem field of ``prepare_assets`` stands for.
_PROBLEM_FIELDS = {f"{S.LON}/{S.LAT}": S.LON, f"{S.EASTING}/{S.NORTHING}": S.LON}


def category_choices(*, blank: str | None = None, grouped: bool = False) -> list[SelectChoice]:
    """Give the service categories (``data/categories.csv``) as choices for a ``SelectField``.

    Values are category codes and labels the category labels. ``blank`` adds a first,
    empty choice with that label (e.g. "Choose a category"); ``grouped`` puts the
    categories in optgroups by their group (care subsector, community alternative,
    community asset), in that order.
    """
    table = load_categories()
    out = [SelectChoice("", blank)] if blank is not None else []
    for group in CATEGORY_GROUPS:
        rows = table[table["group"] == group]
        out += [SelectChoice(code, label, optgroup=group.capitalize() if grouped else None)
                for code, label in zip(rows["code"], rows["label"], strict=True)]
    return out


def _choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def flag_value(value: bool | None) -> str:
    """Give the form value of a stored flag: ``yes``, ``no`` or ``""`` (unknown)."""
    return "" if value is None else ("yes" if value else "no")


def _text(max_length: int) -> list[Any]:
    return [Optional(), Length(max=max_length)]


class RecordForm(FlaskForm):
    """A form whose fields are named after register columns."""

    #: Fields that are not register columns.
    not_columns: tuple[str, ...] = ("csrf_token", "version")

    def as_row(self) -> dict[str, str]:
        """Give the submitted values by column name, as stripped text (blank for none)."""
        return {f.name: (f.data or "").strip() if isinstance(f.data, str) else
                ("" if f.data is None else str(f.data))
                for f in self if f.name not in self.not_columns}

    def show_problems(self, problems: Iterable[Problem]) -> list[str]:
        """Put each problem on its field; give the reasons that belong to no field here."""
        left = []
        for problem in problems:
            name = _PROBLEM_FIELDS.get(problem.field or "", problem.field or "")
            field = self._fields.get(name)
            if field is None or name in self.not_columns:
                left.append(problem.reason)
            else:
                field.errors = [*field.errors, problem.reason]
        return left


class VersionMixin:
    """The version the edit started from, for optimistic locking (a hidden field)."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class AssetForm(RecordForm):
    """Create an asset; the same fields as an asset import."""

    name = StringField("Name", validators=[DataRequired(), Length(max=300)])
    description = TextAreaField("Description", validators=_text(5000))
    category = SelectField("Category", validators=[DataRequired("Choose a category.")])
    organisation_external_id = SelectField(
        "Organisation that runs it", default="",
        description="Optional. Leave as “Not known” if nobody is recorded.")
    address = TextAreaField("Address", validators=_text(1000))
    postcode = StringField("Postcode", validators=_text(10),
                           description="Used to place the asset on the map when no "
                                       "coordinates are given.")
    lon = StringField("Longitude", validators=_text(40),
                      description="Optional, in degrees (e.g. 0.0005). Coordinates win over "
                                  "the postcode.")
    lat = StringField("Latitude", validators=_text(40), description="Optional (e.g. 51.5415).")
    capacity = StringField("Capacity", validators=_text(40),
                           description="How many people it can serve at once; blank if not known.")
    opening_times = StringField("Opening times", validators=_text(500))
    contact = StringField("Contact", validators=_text(300),
                          description="A public phone number or email address.")
    website = URLField("Website", validators=_text(500))
    accessibility = TextAreaField("Accessibility", validators=_text(2000),
                                  description="Step-free access, hearing loop, toilets …")
    status = SelectField("Status", default="active",
                         choices=_choices((s, s.capitalize()) for s in S.ASSET_STATUSES))

    def __init__(self, *args: Any, organisations: Iterable[tuple[str, str]] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = category_choices(blank="Choose a category", grouped=True)
        self.organisation_external_id.choices = _choices([("", "Not known"), *organisations])


class AssetEditForm(VersionMixin, AssetForm):
    """Edit an asset, refused if someone saved it since the form was loaded."""


class VersionForm(VersionMixin, FlaskForm):
    """An action on a record (verify) that names the version it was taken on."""


class CloseForm(VersionMixin, FlaskForm):
    """Close an asset, saying why (kept in its history)."""

    reason = TextAreaField("Why is it closing?", validators=[DataRequired("Say why it is closing."),
                                                             Length(max=1000)],
                           description="For example: the group has stopped meeting.")


class OrganisationForm(RecordForm):
    """Create an organisation (a provider); the same fields as an organisation import."""

    name = StringField("Name", validators=[DataRequired(), Length(max=300)])
    legal_form = StringField("Legal form", validators=_text(200),
                             description="As written, e.g. Community Interest Company, Ltd, "
                                         "Charity, Co-operative. It decides the ownership class "
                                         "(CLES Appendix 1).")
    company_number = StringField("Companies House number", validators=_text(20))
    charity_number = StringField("Charity number", validators=_text(20))
    ownership_model = SelectField(
        "Ownership model", default="", choices=_choices([("", "Not known"),
                                             *((m, m.capitalize()) for m in S.OWNERSHIP_MODELS)]),
        description="Used for the ownership class when the legal form does not decide it.")
    living_wage = SelectField(FLAG_LABELS[S.LIVING_WAGE], default="", choices=FLAG_CHOICES)
    ethical_care_charter = SelectField(FLAG_LABELS[S.ETHICAL_CARE_CHARTER], default="", choices=FLAG_CHOICES)
    office_in_borough = SelectField(FLAG_LABELS[S.OFFICE_IN_BOROUGH], default="", choices=FLAG_CHOICES)
    national_footprint = SelectField(FLAG_LABELS[S.NATIONAL_FOOTPRINT], default="", choices=FLAG_CHOICES,
                                     description="A national charity is generative by legal "
                                                 "form but less locally generative.")
    cqc_provider_id = StringField("CQC provider ID", validators=_text(40))
    cqc_rating = SelectField("CQC rating", default="",
                             choices=_choices([("", "Not rated, or not known"),
                                               *((r, r) for r in S.CQC_RATINGS)]))
    address = TextAreaField("Address", validators=_text(1000))
    postcode = StringField("Postcode", validators=_text(10))
    website = URLField("Website", validators=_text(500))


class OrganisationEditForm(VersionMixin, OrganisationForm):
    """Edit an organisation, refused if someone saved it since the form was loaded."""
