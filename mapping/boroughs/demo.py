"""The Newham demo: the manifest ``data/boroughs/newham.toml``, loaded from the data folder.

It names the real open files (read in place): the 24 current wards, the 185 Census 2021
LSOAs with population by age band, the 164 2011 LSOAs with mid-2020 population and IMD
2019 (carried onto the 2021 LSOAs), the borough outline, and the asset files as the
first asset and organisation records, each with its source, licence and attribution.
Nothing here invents a patch layout: Newham's ward → community-neighbourhood list is not
published, so no patches are loaded.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from mapping.boroughs.loader import BoroughReport, Progress, load_areas, load_borough
from mapping.boroughs.manifest import read_manifest
from mapping.boroughs.settings import save_borough
from mapping.config import REFERENCE_DIR
from mapping.store.database import Store

DEMO_MANIFEST = REFERENCE_DIR / "boroughs" / "newham.toml"


def load_demo_areas(session: Session, data_dir: Path, *, progress: Progress = print
                    ) -> BoroughReport:
    """Load the Newham layers and their population and IMD tables (in the caller's transaction)."""
    manifest = read_manifest(DEMO_MANIFEST)
    save_borough(session, manifest.borough)
    return load_areas(session, manifest, data_dir, progress=progress)


def load_demo(store: Store, data_dir: Path, *, progress: Progress = print) -> BoroughReport:
    """Load the whole Newham demo (areas, then register) in one transaction; give what was written.

    All or nothing: a problem in any file leaves the store as it was.
    """
    return load_borough(store, DEMO_MANIFEST, data_dir, progress=progress)
