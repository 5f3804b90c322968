"""Stable HSDS identifiers: UUIDs derived from the register's own ids (RFC 4122 version 5).

HSDS-UK 3.0 asks for a UUID on every object (``format: uuid``). The register keys its
records on ``external_id`` (``gias:102787``, ``cqc:1-118976357``), so each HSDS id is
``uuid5(NAMESPACE, "<kind>:<key>")``: the same record always gets the same id, in the feed,
in an export and after a re-import, and no id has to be stored.
"""

from __future__ import annotations

import uuid

#: The namespace of every id this register publishes: uuid5(NAMESPACE_URL,
#: "urn:community-asset-mapping:openreferral"), written out so that it can never drift.
NAMESPACE = uuid.UUID("73080733-702c-51fc-9cef-14751dade7af")

#: ``external_identifier_type`` (locations) and ``identifier_type`` (organisations) that
#: carry our own ``external_id``, so that an import of our export finds the same records.
REGISTER_ID_TYPE = "Community asset register external_id"


def hsds_id(kind: str, *key: str) -> str:
    """Give the UUID (text) of one HSDS object: its kind and the keys that make it unique."""
    return str(uuid.uuid5(NAMESPACE, ":".join((kind, *key))))


def service_id(external_id: str) -> str:
    """Give the HSDS service id of the asset with this ``external_id``."""
    return hsds_id("service", external_id)


def location_id(external_id: str) -> str:
    """Give the HSDS location id of the asset with this ``external_id``."""
    return hsds_id("location", external_id)


def service_at_location_id(external_id: str) -> str:
    """Give the HSDS service_at_location id of the asset with this ``external_id``."""
    return hsds_id("service_at_location", external_id)


def organization_id(external_id: str) -> str:
    """Give the HSDS organization id of the organisation with this ``external_id``."""
    return hsds_id("organization", external_id)


def is_uuid(text: str) -> bool:
    """Say whether ``text`` is a UUID in its usual 36-character form."""
    try:
        return len(text) == 36 and str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False
