"""The event log: every warning, package switch, approval and rejection,
listed-quota grant, adjustment and trade, stored column-wise so that bulk
decisions (thousands of project approvals) cost one append each."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("t", "year", "quarter", "kind", "city", "firm", "amount", "value", "detail")


class EventLog:
    def __init__(self, first_year: int, city_names: list[str]) -> None:
        self.first_year = first_year
        self.city_names = city_names
        self._chunks: list[dict[str, np.ndarray]] = []

    def add(self, t: int, kind: str, city: int = -1, firm: int = -1, amount: float = np.nan,
            value: float = np.nan, detail: str = "") -> None:  # fmt: skip
        """One event.  city -1 means the province; firm -1 means none."""
        self.add_many(t, kind, np.array([city]), np.array([firm]), np.array([amount], dtype=float),
                      np.array([value], dtype=float), [detail])  # fmt: skip

    def add_many(self, t: int, kind: str, city: np.ndarray, firm: np.ndarray | None = None,
                 amount: np.ndarray | None = None, value: np.ndarray | None = None,
                 detail: list[str] | str = "") -> None:  # fmt: skip
        n = len(city)
        if n == 0:
            return
        self._chunks.append({
            "t": np.full(n, t, dtype=np.int64),
            "kind": np.full(n, kind, dtype=object),
            "city": np.asarray(city, dtype=np.int64),
            "firm": np.full(n, -1, dtype=np.int64) if firm is None else np.asarray(firm, dtype=np.int64),
            "amount": np.full(n, np.nan) if amount is None else np.asarray(amount, dtype=float),
            "value": np.full(n, np.nan) if value is None else np.asarray(value, dtype=float),
            "detail": np.full(n, detail, dtype=object) if isinstance(detail, str) else np.asarray(detail, dtype=object),
        })  # fmt: skip

    def chunks(self, kinds: tuple[str, ...], t0: int, t1: int) -> list[dict[str, np.ndarray]]:
        """The logged column chunks of the given kinds in quarters t0..t1 (each
        ``add``/``add_many`` call is one chunk: one kind, one quarter)."""
        return [c for c in self._chunks if c["kind"][0] in kinds and t0 <= int(c["t"][0]) <= t1]

    def __len__(self) -> int:
        return sum(len(c["t"]) for c in self._chunks)

    def to_frame(self) -> pd.DataFrame:
        if not self._chunks:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
        cols = {k: np.concatenate([c[k] for c in self._chunks]) for k in self._chunks[0]}
        names = np.array([*self.city_names, "province"], dtype=object)
        df = pd.DataFrame({
            "t": cols["t"],
            "year": self.first_year + cols["t"] // 4,
            "quarter": cols["t"] % 4 + 1,
            # object arrays of str straight to pandas' string dtype (no numpy unicode copy)
            "kind": pd.array(cols["kind"], dtype="str"),
            "city": pd.array(names[np.where(cols["city"] < 0, len(self.city_names), cols["city"])],
                             dtype="str"),  # fmt: skip
            "firm": cols["firm"],
            "amount": cols["amount"],
            "value": cols["value"],
            "detail": pd.array(cols["detail"], dtype="str"),
        })  # fmt: skip
        return df
