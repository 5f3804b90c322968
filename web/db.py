"""The store and a per-request session, opened lazily on ``g`` (as in Flask's tutorial app)."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mapping.boroughs.settings import Borough, borough_for
from mapping.config import Settings
from mapping.places.postcode_store import stored_index
from mapping.places.postcodes import PostcodeIndex
from mapping.places.roles import LayerRoles, layer_roles
from mapping.store.database import Store
from mapping.store.models import StoredPostcode


def get_store() -> Store:
    """Give the app's store."""
    store: Store = current_app.extensions["mapping_store"]
    return store


def get_session() -> Session:
    """Give this request's session, opening it on first use; closed when the request ends.

    Raises :class:`mapping.store.database.StoreNotReadyError` when the schema is not the newest.
    """
    if "db_session" not in g:
        store = get_store()
        store.check_ready()  # an un-migrated store is a 503 with the fix, never a 500
        g.db_session = store.session()
    session: Session = g.db_session
    return session


def get_settings() -> Settings:
    """Give the app's settings."""
    settings: Settings = current_app.config["MAPPING_SETTINGS"]
    return settings


def get_borough() -> Borough | None:
    """Give the borough the store was loaded for (read once per request), or ``None``."""
    if "borough" not in g:
        g.borough = borough_for(get_session(), get_settings())
    borough: Borough | None = g.borough
    return borough


def borough_label() -> str:
    """Give the borough's name for pages: the store's, else the setting, else "the borough"."""
    borough = get_borough()
    return borough.name if borough is not None else (get_settings().borough_name or "the borough")


def get_roles() -> LayerRoles:
    """Give which layer plays which part (small areas, wards, outline), read once per request."""
    if "layer_roles" not in g:
        g.layer_roles = layer_roles(get_session())
    roles: LayerRoles = g.layer_roles
    return roles


def get_postcode_index() -> PostcodeIndex:
    """Give OS Code-Point Open with the store's own ONSPD rows after it (built once per copy).

    The index is kept while the stored postcodes stay the same (their number and last id),
    so an ``import-postcodes`` run while the app serves is picked up at the next request.
    """
    session = get_session()
    stamp = (get_store().url, *session.execute(
        select(func.count(StoredPostcode.id), func.max(StoredPostcode.id))).one())
    cached = current_app.extensions.get("postcode_index")
    if cached is None or cached[0] != stamp:
        cached = (stamp, stored_index(session))
        current_app.extensions["postcode_index"] = cached
    index: PostcodeIndex = cached[1]
    return index
