"""The store: the database behind one URL, its tables, and the Alembic migrations that make them.

SQLite in the instance folder is the embedded default; any SQLAlchemy URL can be given.
Front door: :class:`Store` (transactions, ``upgrade``, ``check_ready``); the tables are in
:mod:`mapping.store.models`, the migrations in ``mapping/store/migrations``.
"""

from mapping.store.database import Store, StoreNotReadyError

__all__ = ["Store", "StoreNotReadyError"]
