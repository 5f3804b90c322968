"""Benchmarking spend by ownership: CLES figure 2, top extractive suppliers, local spend policy.

Method (CLES (2020), *Community wealth building through adult social care in
Knowsley*, figure 2 and Appendix 1): take each payment, put it in a subsector
through the editable ``data/subsectors.csv`` (department and service patterns),
class its supplier by legal form (generative, extractive, in-house, unknown;
see :mod:`mapping.spend.suppliers`) and give each subsector's total and the shares
of each class. National-footprint charities are generative but shown
separately. Local spend policy (Knowsley): payments under £5,000 (low value)
and from £5,000 up to £181,000 (intermediate, below the old OJEU threshold)
that went to suppliers without an office in the borough are what a local spend
policy could redirect. The bands are per payment, as published; a contract
paid in instalments appears as several payments.

Every figure is a sum of pence over a filter (:class:`Cell`), and
:func:`drill_down` gives the payment rows behind any figure, so a drill-down
always adds up to the figure it came from. Everything here is pure: frames in,
new frames out.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from mapping.config import REFERENCE_DIR
from mapping.errors import DataMissingError, Problem, ValidationError

SUBSECTORS_PATH: Final = REFERENCE_DIR / "subsectors.csv"
#: Subsector of a payment no row of ``data/subsectors.csv`` matches.
OTHER: Final = "other"
#: The report's segments, in the order CLES figure 2 stacks them.
SEGMENTS: Final = ("generative", "national charity", "extractive", "in-house", "unknown")
SEGMENT_COLOURS: Final = {"generative": "#1b7837", "national charity": "#7fbf7b",
                          "extractive": "#b2182b", "in-house": "#2166ac", "unknown": "#bdbdbd"}
LOW_VALUE_PENCE: Final = 5_000_00
INTERMEDIATE_PENCE: Final = 181_000_00
#: Local spend policy bands (Knowsley), per payment.
BANDS: Final = ("under £5k", "£5k to £181k", "over £181k", "credit")
LOCALITY: Final = ("local", "not local", "not known")
#: Adult care (every subsector but ``other``) and the rest.
SECTORS: Final = ("adult care", "other")
FILTERS: Final = ("subsector", "sector", "segment", "band", "locality", "supplier_key")
#: What a person reads for each filter (the codes stay in URLs and CSV files).
FILTER_LABELS: Final = {"subsector": "subsector", "sector": "spend", "segment": "class",
                        "band": "policy band", "locality": "local", "supplier_key": "supplier"}


@lru_cache(maxsize=8)
def _subsector_rules(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataMissingError(f"subsector table not found: {path}")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("department", "service", "subsector") if c not in table]
    if missing:
        raise ValidationError([Problem(f"missing column '{c}'", field=c, file=path.name)
                               for c in missing])
    return table


def assign_subsectors(payments: pd.DataFrame, *, path: Path | None = None) -> pd.Series:
    """Give each payment's subsector from its department and service (first matching row wins).

    ``data/subsectors.csv`` holds ``department, service, subsector`` with
    case-insensitive regular expressions (blank matches anything). Each distinct
    department/service pair is tried once. No match gives ``other``.
    """
    rules = _subsector_rules((path or SUBSECTORS_PATH).resolve())
    pairs = payments[["department", "service"]].astype("string").fillna("")
    distinct = pairs.drop_duplicates().reset_index(drop=True)
    answer = pd.Series(OTHER, index=distinct.index, dtype=object)
    done = pd.Series(False, index=distinct.index)
    for rule in rules.itertuples(index=False):
        hit = ~done
        for column, pattern in (("department", rule.department), ("service", rule.service)):
            if pattern:
                with warnings.catch_warnings():
                    # Groups in an officer's pattern are fine: only whether it matches counts.
                    warnings.filterwarnings("ignore", "This pattern is interpreted",
                                            UserWarning)
                    hit &= distinct[column].str.contains(pattern, case=False, regex=True)
        answer[hit] = rule.subsector
        done |= hit
    keyed = distinct.assign(subsector=answer)
    return pairs.merge(keyed, on=["department", "service"], how="left")["subsector"].set_axis(
        payments.index)


def policy_band(amount_pence: pd.Series) -> pd.Series:
    """Give each payment's local spend policy band.

    ``under £5k``: 0 ≤ amount < £5,000; ``£5k to £181k``: £5,000 ≤ amount ≤
    £181,000; ``over £181k``: above £181,000; ``credit``: below zero.
    """
    amount = amount_pence.to_numpy()
    band = np.select([amount < 0, amount < LOW_VALUE_PENCE, amount <= INTERMEDIATE_PENCE],
                     [BANDS[3], BANDS[0], BANDS[1]],
                     default=BANDS[2])
    return pd.Series(band, index=amount_pence.index, name="band")


def classify_payments(payments: pd.DataFrame, matches: pd.DataFrame, *,
                      subsectors_path: Path | None = None) -> pd.DataFrame:
    """Give the payments with subsector, class, segment, local flag and policy band.

    Parameters
    ----------
    payments
        ``id, supplier_key, supplier_name, department, service, amount_pence``.
    matches
        Remembered supplier matches: ``supplier_key, ownership_class,
        national_charity, office_in_borough`` (see :mod:`mapping.spend.suppliers`).
    """
    out = payments.copy()
    keyed = matches.drop_duplicates("supplier_key").set_index("supplier_key")
    out["subsector"] = assign_subsectors(out, path=subsectors_path)
    out["sector"] = np.where(out["subsector"] == OTHER, SECTORS[1], SECTORS[0])
    klass = out["supplier_key"].map(keyed["ownership_class"]).fillna("unknown")
    national = out["supplier_key"].map(keyed["national_charity"]).fillna(False).astype(bool)
    out["ownership_class"] = klass
    out["segment"] = klass.where(~(national & (klass == "generative")), "national charity")
    local = out["supplier_key"].map(keyed["office_in_borough"]) if "office_in_borough" in keyed \
        else pd.Series(None, index=out.index)
    out["locality"] = np.select([local.eq(True).fillna(False).to_numpy(dtype=bool),
                                 local.eq(False).fillna(False).to_numpy(dtype=bool)],
                                ["local", "not local"], default="not known")
    out["band"] = policy_band(out["amount_pence"])
    return out


@dataclass(frozen=True)
class Cell:
    """Which payments one figure adds up: each filter left ``None`` is not applied."""

    subsector: str | None = None
    sector: str | None = None
    segment: str | None = None
    band: str | None = None
    locality: str | None = None
    supplier_key: str | None = None

    def query(self) -> dict[str, str]:
        """Give the filters that are set, e.g. for a drill-down link."""
        return {k: v for k in FILTERS if (v := getattr(self, k)) is not None}


def drill_down(classified: pd.DataFrame, cell: Cell) -> pd.DataFrame:
    """Give the payment rows behind one figure, in file order."""
    mask = np.ones(len(classified), dtype=bool)
    for column, value in cell.query().items():
        mask &= (classified[column] == value).to_numpy()
    return classified[mask]


def _pivot(frame: pd.DataFrame, index: str, columns: str, order: tuple[str, ...]) -> pd.DataFrame:
    table = frame.pivot_table(index=index, columns=columns, values="amount_pence", aggfunc="sum",
                              fill_value=0, observed=True)
    return table.reindex(columns=list(order), fill_value=0).astype("int64")


def subsector_shares(classified: pd.DataFrame) -> pd.DataFrame:
    """Give per subsector: total, payments, pence per segment and share per segment (CLES figure 2).

    Also the local share (pence to organisations with an office in the borough,
    and the share of the total). Subsectors are ordered by total, ``other`` last.
    """
    if classified.empty:
        return pd.DataFrame(columns=["subsector", "total_pence", "payments", *SEGMENTS,
                                     *[f"{s} share" for s in SEGMENTS], "local_pence",
                                     "local share"])
    segments = _pivot(classified, "subsector", "segment", SEGMENTS)
    local = _pivot(classified, "subsector", "locality", LOCALITY)
    out = segments.copy()
    out.insert(0, "payments", classified.groupby("subsector").size())
    out.insert(0, "total_pence", segments.sum(axis=1))
    for segment in SEGMENTS:
        out[f"{segment} share"] = (segments[segment] / out["total_pence"].where(
            out["total_pence"] != 0)).fillna(0.0)
    out["local_pence"] = local["local"]
    out["local share"] = (local["local"] / out["total_pence"].where(out["total_pence"] != 0)
                          ).fillna(0.0)
    out = out.reset_index()
    out["_other"] = out["subsector"] == OTHER
    out = out.sort_values(["_other", "total_pence"], ascending=[True, False]).drop(columns="_other")
    return out.reset_index(drop=True)


def top_extractive(classified: pd.DataFrame, *, n: int = 10,
                   within: str | None = None) -> pd.DataFrame:
    """Give the ``n`` extractive suppliers paid most: key, name, total, payments, subsectors.

    ``within`` narrows it to one sector (``adult care``: every subsector but
    ``other``) or one subsector; ``None`` is all spend.
    """
    rows = classified[classified["segment"] == "extractive"]
    if within in SECTORS:
        rows = rows[rows["sector"] == within]
    elif within is not None:
        rows = rows[rows["subsector"] == within]
    if rows.empty:
        return pd.DataFrame(columns=["supplier_key", "supplier_name", "total_pence", "payments",
                                     "subsectors"])
    grouped = rows.groupby("supplier_key").agg(
        supplier_name=("supplier_name", lambda s: s.mode().iloc[0]),
        total_pence=("amount_pence", "sum"), payments=("amount_pence", "size"),
        subsectors=("subsector", lambda s: ", ".join(sorted(set(s)))))
    return grouped.sort_values("total_pence", ascending=False).head(n).reset_index()


def policy_bands(classified: pd.DataFrame) -> pd.DataFrame:
    """Give pence and payment counts per policy band and locality; ``redirectable`` = not local."""
    pence = _pivot(classified, "band", "locality", LOCALITY).reindex(list(BANDS), fill_value=0)
    counts = classified.groupby(["band", "locality"]).size().unstack(fill_value=0).reindex(
        index=list(BANDS), columns=list(LOCALITY), fill_value=0)
    out = pence.add_suffix(" pence").join(counts.add_suffix(" payments"))
    out["total pence"] = pence.sum(axis=1)
    out["redirectable"] = out.index.isin(BANDS[:2])
    return out.reset_index()


@dataclass(frozen=True)
class LocalityCoverage:
    """How much of a dataset's locality is known, to say why "local" is what it is.

    Locality is known only for suppliers matched to an organisation in the
    register that records whether it has an office in the borough.
    """

    suppliers: int
    """Suppliers paid in the dataset."""
    matched: int
    """Of those, matched to an organisation in the register."""
    located: int
    """Of those, matched to an organisation whose office location the register records."""
    local: int
    """Of those, with an office in the borough."""
    total_pence: int
    unknown_pence: int
    """Spend whose locality is not known."""

    @property
    def unknown_share(self) -> float:
        """Give the share of spend whose locality is not known (0 when nothing was spent)."""
        return self.unknown_pence / self.total_pence if self.total_pence else 0.0


def locality_coverage(classified: pd.DataFrame, matches: pd.DataFrame) -> LocalityCoverage:
    """Give how many suppliers are matched and located, and the spend of unknown locality."""
    keys = classified["supplier_key"].drop_duplicates()
    found = matches[matches["supplier_key"].isin(keys)].drop_duplicates("supplier_key")
    matched = found[found["organisation_id"].notna()] if "organisation_id" in found else found[:0]
    office = matched["office_in_borough"] if "office_in_borough" in matched else \
        pd.Series(dtype=object)
    located = office.notna()
    money = classified["amount_pence"]
    return LocalityCoverage(
        suppliers=int(len(keys)), matched=int(len(matched)), located=int(located.sum()),
        local=int(office[located].astype(bool).sum()), total_pence=int(money.sum()),
        unknown_pence=int(money[classified["locality"] == "not known"].sum()))


def compare_shares(first: pd.DataFrame, second: pd.DataFrame, *,
                   labels: tuple[str, str]) -> pd.DataFrame:
    """Give two :func:`subsector_shares` tables side by side, by subsector, with the changes."""
    if labels[0] == labels[1]:
        raise ValidationError([Problem(f"'{labels[0]}' compared with itself: choose two "
                                       "different datasets", field="compare")])
    keep = ["subsector", "total_pence", *[f"{s} share" for s in SEGMENTS], "local share"]
    a = first[keep].set_index("subsector").add_prefix(f"{labels[0]}: ")
    b = second[keep].set_index("subsector").add_prefix(f"{labels[1]}: ")
    out = a.join(b, how="outer").fillna(0)
    for column in ("generative share", "extractive share", "in-house share"):
        out[f"change in {column}"] = out[f"{labels[1]}: {column}"] - out[f"{labels[0]}: {column}"]
    return out.reset_index()


def _literal(text: str) -> str:
    """Give text for a chart label as written: ``$...$`` would otherwise be read as mathtext."""
    return text.replace("$", r"\$")


#: Segments narrower than this share get no £ label inside (the table has every figure).
LABEL_MIN_SHARE: Final = 0.14
#: Segments whose colour is light enough for black text (the rest get white).
_LIGHT: Final = ("national charity", "unknown")


def shares_chart(tables: list[tuple[str, pd.DataFrame]], *, fmt: str = "svg") -> bytes:
    """Draw CLES figure 2 with its £ scale: one 100% bar per subsector; give SVG or PNG.

    Each bar is split by supplier class (its share of the subsector's spend) and
    carries the subsector's total in whole pounds at its end; a segment wide
    enough to hold it is labelled with its own £ figure. Several ``(label,
    subsector_shares table)`` pairs draw the datasets side by side, one bar each
    per subsector. SVG text is kept as text, so the figures can be read and found.
    """
    if fmt not in ("svg", "png"):
        raise ValidationError([Problem(f"chart format must be svg or png, not {fmt}",
                                       field="format")])
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from mapping.spend.reading import whole_pounds

    names: list[str] = []
    for _label, table in tables:
        names += [s for s in table["subsector"] if s not in names]
    bars: list[tuple[str, pd.Series]] = []
    for name in names:
        for label, table in tables:
            row = table[table["subsector"] == name]
            tag = f"{name} ({label})" if len(tables) > 1 else str(name)
            bars.append((_literal(tag), row.iloc[0] if len(row) else pd.Series(dtype=float)))
    height = 1.5 + 0.42 * max(len(bars), 1)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "spend"}):
        figure = Figure(figsize=(9.5, height), dpi=100)
        axes = figure.subplots()
        y = np.arange(len(bars))[::-1]
        left = np.zeros(len(bars))
        for segment in SEGMENTS:
            shares = np.array([float(row.get(f"{segment} share", 0.0)) for _t, row in bars])
            widths = 100 * shares
            axes.barh(y, widths, left=left, color=SEGMENT_COLOURS[segment], label=segment,
                      edgecolor="white", linewidth=0.5)
            for (_tag, row), at, share, start, width in zip(bars, y, shares, left, widths,
                                                             strict=True):
                if share >= LABEL_MIN_SHARE:
                    axes.text(start + width / 2, at, _literal(whole_pounds(int(row[segment]))),
                              ha="center", va="center", fontsize=7,
                              color="black" if segment in _LIGHT else "white")
            left += widths
        for (_tag, row), at in zip(bars, y, strict=True):
            total = int(row.get("total_pence", 0) or 0)
            axes.text(101.5, at, _literal(whole_pounds(total)), ha="left", va="center",
                      fontsize=8, fontweight="bold", clip_on=False)
        axes.text(101.5, (y.max() if len(y) else 0) + 0.75, _literal("total (£)"), ha="left",
                  va="bottom", fontsize=8, clip_on=False)
        axes.set_yticks(y, [tag for tag, _row in bars], fontsize=8)
        axes.set_xlim(0, 100)
        axes.set_ylim(-0.6, (y.max() if len(y) else 0) + 0.6)
        axes.set_xlabel("share of the subsector's spend (%), by supplier class; "
                        "£ figures in whole pounds")
        axes.set_title("Spend by supplier ownership, per subsector (CLES figure 2 method)",
                       fontsize=10, pad=22)
        axes.spines[["top", "right"]].set_visible(False)
        # Above the bars, under the title: next to the bars however many there are.
        axes.legend(ncols=len(SEGMENTS), fontsize=8, loc="lower center",
                    bbox_to_anchor=(0.5, 1.0), frameon=False, borderaxespad=0.2)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return out.getvalue()
