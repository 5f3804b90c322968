"""The data contracts: column names, allowed values and the coordinate systems.

Column names are constants here and nowhere else. Assets are points stored in
EPSG:4326 (lon/lat); lengths, areas and buffers are computed in EPSG:27700.
"""

from __future__ import annotations

from typing import Final

STORAGE_CRS: Final = "EPSG:4326"
METRIC_CRS: Final = "EPSG:27700"

# --- asset (a site or a service) -------------------------------------------------
EXTERNAL_ID: Final = "external_id"
NAME: Final = "name"
DESCRIPTION: Final = "description"
CATEGORY: Final = "category"
ORGANISATION_ID: Final = "organisation_external_id"
ADDRESS: Final = "address"
POSTCODE: Final = "postcode"
LON: Final = "lon"
LAT: Final = "lat"
EASTING: Final = "easting"
NORTHING: Final = "northing"
CAPACITY: Final = "capacity"
OPENING_TIMES: Final = "opening_times"
CONTACT: Final = "contact"
WEBSITE: Final = "website"
ACCESSIBILITY: Final = "accessibility"
STATUS: Final = "status"
VERIFIED_BY: Final = "verified_by"
VERIFIED_AT: Final = "verified_at"
SOURCE: Final = "source"
LICENCE: Final = "licence"
ATTRIBUTION: Final = "attribution"
IN_BOROUGH: Final = "in_borough"
#: What placed the point: "postcode (OS Code-Point Open)", "coordinates (lon/lat)", …
LOCATED_BY: Final = "located_by"
#: A care site's CQC location id, its latest overall rating and the rating's date.
CQC_LOCATION_ID: Final = "cqc_location_id"
CQC_RATING_DATE: Final = "cqc_rating_date"
#: When a registered service was registered, and deregistered (closed).
REGISTERED_ON: Final = "registered_on"
DEREGISTERED_ON: Final = "deregistered_on"
CARE_SITE_DATES: Final = ("cqc_rating_date", "registered_on", "deregistered_on")

ASSET_COLUMNS: Final = (
    EXTERNAL_ID, NAME, DESCRIPTION, CATEGORY, ORGANISATION_ID, ADDRESS, POSTCODE, LON, LAT,
    CAPACITY, OPENING_TIMES, CONTACT, WEBSITE, ACCESSIBILITY, STATUS, VERIFIED_BY, VERIFIED_AT,
    SOURCE, LICENCE, ATTRIBUTION, CQC_LOCATION_ID, "cqc_rating", *CARE_SITE_DATES, LOCATED_BY,
)
ASSET_REQUIRED: Final = (EXTERNAL_ID, NAME, CATEGORY)

ASSET_STATUSES: Final = ("active", "proposed", "closed")
#: The largest capacity (places, people a week...) a site may have; more is a typing slip.
MAX_CAPACITY: Final = 100_000
ASSET_SOURCES: Final = ("survey", "import", "osm", "submission")

# --- organisation ------------------------------------------------------------------
LEGAL_FORM: Final = "legal_form"
COMPANY_NUMBER: Final = "company_number"
CHARITY_NUMBER: Final = "charity_number"
OWNERSHIP_MODEL: Final = "ownership_model"
NATIONAL_FOOTPRINT: Final = "national_footprint"
OFFICE_IN_BOROUGH: Final = "office_in_borough"
LIVING_WAGE: Final = "living_wage"
ETHICAL_CARE_CHARTER: Final = "ethical_care_charter"
CQC_PROVIDER_ID: Final = "cqc_provider_id"
CQC_RATING: Final = "cqc_rating"
OWNERSHIP_CLASS: Final = "ownership_class"

ORGANISATION_COLUMNS: Final = (
    EXTERNAL_ID, NAME, LEGAL_FORM, COMPANY_NUMBER, CHARITY_NUMBER, OWNERSHIP_MODEL,
    NATIONAL_FOOTPRINT, OFFICE_IN_BOROUGH, LIVING_WAGE, ETHICAL_CARE_CHARTER, CQC_PROVIDER_ID,
    CQC_RATING, ADDRESS, POSTCODE, WEBSITE, SOURCE, LICENCE, ATTRIBUTION,
)
ORGANISATION_REQUIRED: Final = (EXTERNAL_ID, NAME)
ORGANISATION_FLAGS: Final = (NATIONAL_FOOTPRINT, OFFICE_IN_BOROUGH, LIVING_WAGE, ETHICAL_CARE_CHARTER)

#: Ownership models as CLES sets them out (DESIGN.md).
OWNERSHIP_MODELS: Final = (
    "in-house",
    "municipal enterprise",
    "worker ownership",
    "community ownership",
    "local private triple bottom line",
    "extractive",
)
#: The derived class of an organisation (CLES Appendix 1).
OWNERSHIP_CLASSES: Final = ("generative", "extractive", "in-house", "unknown")
CQC_RATINGS: Final = ("Outstanding", "Good", "Requires improvement", "Inadequate")

# --- areas ---------------------------------------------------------------------------
AREA_CODE: Final = "code"
AREA_NAME: Final = "area_name"
LAYER: Final = "layer"
PATCH: Final = "patch"
GEOMETRY: Final = "geometry"

# UK land and waters, generously: a point outside this box is not in the UK.
UK_BOUNDS_LONLAT: Final = (-8.75, 49.8, 1.96, 60.95)
# Great Britain in British National Grid metres.
GB_BOUNDS_EN: Final = (0.0, 0.0, 700_000.0, 1_300_000.0)

# Area attributes the analyses read (joined from population and deprivation tables).
POPULATION: Final = "population"
POPULATION_65_PLUS: Final = "population_65_plus"
IMD_RANK: Final = "imd_rank"
IMD_DECILE: Final = "imd_decile"
IMD_METHOD: Final = "imd_method"
