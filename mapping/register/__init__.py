"""The register: community assets and organisations, who owns them, and how they get in.

Imports (files, OpenStreetMap, residents' submissions) all pass one validation and write
path, with edit history and optimistic locking; legal forms give the ownership class
(CLES Appendix 1); the directory finds assets for a social worker.
Front door: :func:`import_assets`, :func:`import_organisations`, :func:`export_assets`,
:func:`assets_frame`, :func:`organisations_frame`, :func:`update_record`,
:func:`assets_near`, :func:`classify_legal_form`, :func:`approve`, :func:`reject`, and
:func:`cqc_locations` for the Care Quality Commission's register of care providers.
"""

from mapping.register.cqc import cqc_locations
from mapping.register.directory import assets_near
from mapping.register.importers import export_assets, import_assets, import_organisations
from mapping.register.legal_forms import classify_legal_form
from mapping.register.records import assets_frame, organisations_frame, update_record
from mapping.register.submissions import approve, reject

__all__ = ["approve", "assets_frame", "assets_near", "classify_legal_form", "cqc_locations",
           "export_assets",
           "import_assets", "import_organisations", "organisations_frame", "reject",
           "update_record"]
