"""One call for the CLI and the web pages: a stored spend dataset, classified and summarised."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapping.errors import NotFoundError
from mapping.spend.report import (
    LocalityCoverage,
    classify_payments,
    compare_shares,
    locality_coverage,
    policy_bands,
    subsector_shares,
    top_extractive,
)
from mapping.spend.store import get_dataset, payments_frame
from mapping.spend.suppliers import supplier_matches_frame
from mapping.store.models import SpendDataset


@dataclass
class SpendReport:
    """A dataset's payments classified, with the matches they were classified by."""

    dataset: SpendDataset
    classified: pd.DataFrame
    matches: pd.DataFrame

    @cached_property
    def shares(self) -> pd.DataFrame:
        """Give the per-subsector table (:func:`mapping.spend.report.subsector_shares`)."""
        return subsector_shares(self.classified)

    @cached_property
    def bands(self) -> pd.DataFrame:
        """Give the local spend policy bands (:func:`mapping.spend.report.policy_bands`)."""
        return policy_bands(self.classified)

    @cached_property
    def coverage(self) -> LocalityCoverage:
        """Give how much locality is known (:func:`mapping.spend.report.locality_coverage`)."""
        return locality_coverage(self.classified, self.matches)

    def top_extractive(self, n: int = 10, *, within: str | None = None) -> pd.DataFrame:
        """Give the extractive suppliers paid most, optionally within a sector or subsector."""
        return top_extractive(self.classified, n=n, within=within)

    def compare(self, other: SpendReport) -> pd.DataFrame:
        """Give this report's subsector table beside ``other``'s."""
        return compare_shares(self.shares, other.shares,
                              labels=(self.dataset.name, other.dataset.name))


def report_for(session: Session, dataset_id: int) -> SpendReport:
    """Give the report of one stored dataset (its suppliers as currently matched)."""
    dataset = get_dataset(session, dataset_id)
    payments = payments_frame(session, dataset_id)
    matches = supplier_matches_frame(session)
    matches = matches[matches["supplier_key"].isin(payments["supplier_key"].unique())]
    return SpendReport(dataset, classify_payments(payments, matches), matches)


def report_for_name(session: Session, name: str) -> SpendReport:
    """Give the report of the dataset called ``name``."""
    found = session.scalar(select(SpendDataset.id).where(SpendDataset.name == name))
    if found is None:
        raise NotFoundError(f"no spend dataset called '{name}': import it with "
                            "'mapping import-spend FILE --name NAME'")
    return report_for(session, found)
