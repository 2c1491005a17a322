"""Statistics, fast estimation and status (MODEL.md 4.3) [监测预警].

* Official statistics: annual, per city, with a small relative error,
  published ``stat_lag_quarters`` after the year ends; a publication replaces
  (revises) the fast estimates of that year.
* Fast estimate [碳排放快算, 电-碳模型]: each city-quarter is estimated from
  observed electricity use, industrial output and diffuse-sector GDP (each with
  measurement noise that shrinks with the city's monitoring capacity) by a
  regression fitted by least squares on the official data published so far,
  refitted at every publication, and calibrated to each city's latest
  official year (optionally extrapolating the drift of that calibration
  between the last two official years, and optionally subtracting the
  abatement that the province's project ledger shows was completed since
  that year: abatement lowers emissions but not electricity use).  It is available
  ``fast_lag_quarters`` after the quarter.
* Status against time progress [时序进度]: r = cumulative best-estimate
  emissions / cumulative scheduled budget over the quarters observed so far.
"""

from __future__ import annotations

import numpy as np

STATUS_CODES = ("surplus", "balance", "overrun")
OFFICIAL_STREAM = 1000  # spawn key of the statistics bureau's draws (not a model stream)


def official_noise(seed: int, year_idx: int, n_cities: int) -> np.ndarray:
    """Standard normals of the official statistics' error for run-year ``year_idx``:
    one stream per year, ``SeedSequence(seed, spawn_key=(OFFICIAL_STREAM, year))``,
    so a year's official figure is the same whatever the regime, the publication
    lag or the monitoring setting (it is also the base of the centre's target)."""
    ss = np.random.SeedSequence(seed, spawn_key=(OFFICIAL_STREAM, year_idx))
    return np.random.default_rng(ss).standard_normal(n_cities)


SURPLUS, BALANCE, OVERRUN = 0, 1, 2


def fit_fast_model(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative least-squares coefficients of y = X beta (no intercept).

    X: rows of annual regressors (electricity TWh, industrial output bn CNY,
    diffuse GDP bn CNY); y: official emissions Mt.  Coefficients are physical
    emission factors, so they are constrained to be >= 0 (plain OLS swings to
    opposite signs on the few, collinear points of a small province).
    Columns are scaled before solving for conditioning.
    """
    from scipy.optimize import nnls

    scale = np.abs(X).max(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    beta, _ = nnls(X / scale, y)
    return beta / scale


def classify(
    r: np.ndarray, surplus_threshold: float, overrun_threshold: float, red_threshold: float
):
    """Status code and warning level (0 green, 1 orange, 2 red) from the time-progress ratio r.

    Surplus if r < 1 - surplus_threshold; overrun if r > 1 + overrun_threshold
    (orange), red if r > 1 + red_threshold; balance otherwise.  NaN (nothing
    observed yet) is balance/green.
    """
    r = np.asarray(r, dtype=float)
    status = np.full(r.shape, BALANCE, dtype=np.int8)
    status[r < 1.0 - surplus_threshold] = SURPLUS
    over = r > 1.0 + overrun_threshold
    status[over] = OVERRUN
    warning = np.zeros(r.shape, dtype=np.int8)
    warning[over] = 1
    warning[r > 1.0 + red_threshold] = 2
    return status, warning


class Statistics:
    """History of true and observed city data and the official/fast estimates.

    Arrays are (quarters x cities) over the whole run; annual arrays are
    (years x cities).  Quarter ``t`` belongs to year ``t // 4`` of the run.
    """

    def __init__(self, n_quarters: int, n_cities: int, stat_lag: int, fast_lag: int, stat_error: float,
                 fast_noise: np.ndarray, trend_correction: bool = False, ledger: bool = False,
                 seed: int = 0) -> None:  # fmt: skip
        T, C = n_quarters, n_cities
        self.seed = seed
        self.T, self.C = T, C
        self.stat_lag = stat_lag
        self.fast_lag = fast_lag
        self.stat_error = stat_error
        self.fast_noise = fast_noise  # per city relative s.d.
        self.trend_correction = trend_correction
        self.drift = np.ones(C)  # yearly drift of the calibration factor
        self.use_ledger = ledger
        # abatement ledger: cumulative abatement completed (Mt/yr rate) by each quarter
        self.ledger = np.zeros((T, C))
        self.ledger_ref = np.zeros(C)  # its mean over the latest official year
        # closures of outdated capacity (phase-out, replacement, offset plans): the
        # regressors (electricity, output; C x 3, per year) of the capacity closed by
        # each quarter; its emissions are in ``ledger`` with the abatement
        self.closed = np.zeros((T, C, 3))
        self.closed_ref = np.zeros((C, 3))
        nan = np.full((T, C), np.nan)
        self.emissions = nan.copy()  # true, Mt per quarter
        self.electricity = nan.copy()
        self.industry = nan.copy()  # industrial (key-firm) output, bn CNY per quarter
        self.gdp = nan.copy()  # bn CNY per quarter
        self.diffuse_gdp = nan.copy()
        self.obs = np.full((T, C, 3), np.nan)  # observed regressors
        self.fast = nan.copy()  # fast estimate of each quarter (as first produced)
        self.fast_made_at = np.full((T, C), -1, dtype=np.int64)
        Y = T // 4 + 1
        self.official = np.full((Y, C), np.nan)
        self.published_at = np.full(Y, 10**9, dtype=np.int64)
        self.n_published = 0
        self.beta: np.ndarray | None = None
        self.calib = np.ones(C)
        self.refits: list[tuple[int, np.ndarray]] = []

    # ------------------------------------------------------------ record --
    def record(
        self, t: int, emissions, electricity, industry, gdp, diffuse_gdp, noise: np.ndarray,
        abatement: np.ndarray | None = None, closed_mt: np.ndarray | None = None,
        closed_x: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        """Store quarter ``t``'s truth and its noisy observation (noise: C x 3
        standard normals) and what the province's ledger knows of the quarter:
        abatement completed (Mt/yr) and outdated capacity closed (its emissions
        ``closed_mt``, Mt/yr, and its regressors ``closed_x``, C x 3 per year)."""
        prev = self.ledger[t - 1] if t > 0 else 0.0
        self.ledger[t] = prev + (0.0 if abatement is None else abatement)
        self.ledger[t] += 0.0 if closed_mt is None else closed_mt
        self.closed[t] = (self.closed[t - 1] if t > 0 else 0.0) + (
            0.0 if closed_x is None else closed_x
        )
        self.emissions[t] = emissions
        self.electricity[t] = electricity
        self.industry[t] = industry
        self.gdp[t] = gdp
        self.diffuse_gdp[t] = diffuse_gdp
        truth = np.stack([electricity, industry, diffuse_gdp], axis=1)
        # observed regressors carry measurement noise scaled by monitoring capacity;
        # diffuse GDP is taken from the (fast, accurate) GDP accounts
        rel = noise * self.fast_noise[:, None]
        rel[:, 2] = 0.0
        self.obs[t] = truth * np.maximum(1.0 + rel, 0.0)  # a measurement is never negative

    def publish(self, t: int) -> int | None:
        """Publish the official statistics whose lag has elapsed at the end of quarter ``t``
        (truth x (1 + stat_error x z), z from :func:`official_noise`).

        Returns the run-year index published, or None.
        """
        y = (t - self.stat_lag - 3) / 4
        if y < 0 or y != int(y):
            return None
        yi = int(y)
        true_year = self.emissions[4 * yi : 4 * yi + 4].sum(axis=0)
        self.official[yi] = true_year * (
            1.0 + self.stat_error * official_noise(self.seed, yi, self.C)
        )
        self.published_at[yi] = t
        self.n_published = yi + 1
        self._refit(t)
        return yi

    def _ledger_gap(self, n: int) -> np.ndarray:
        """Per year (n x cities): the year's emissions would have been this much
        lower at the abatement level of the latest official year (quarterly
        ledger minus that year's mean, summed over the year's quarters)."""
        if not self.use_ledger:
            return np.zeros((n, self.C))
        L = self.ledger[: 4 * n].reshape(n, 4, self.C)
        self.ledger_ref = L[n - 1].mean(axis=0)
        self.closed_ref = self.closed[4 * (n - 1) : 4 * n].mean(axis=0)
        return ((L - self.ledger_ref) / 4).sum(axis=1)

    def _closed_gap(self, n: int) -> np.ndarray:
        """Per year (n x cities x 3): the year's regressors at the closures of the
        latest official year (what closing the capacity took out of them)."""
        if not self.use_ledger:
            return np.zeros((n, self.C, 3))
        K = self.closed[: 4 * n].reshape(n, 4, self.C, 3)
        return ((K - self.closed_ref) / 4).sum(axis=1)

    def _refit(self, t: int) -> None:
        n = self.n_published
        # official figures restated at the latest year's abatement and closures (abatement
        # lowers emissions but not electricity use, which the regression cannot see; a
        # closure lowers both, but not at the regression's average factor) and the
        # regressors at the latest year's closures
        official = self.official[:n] + self._ledger_gap(n)
        Xy = self.obs[: 4 * n].reshape(n, 4, self.C, 3).sum(axis=1) + self._closed_gap(n)
        X = Xy.reshape(n * self.C, 3)
        self.beta = fit_fast_model(X, official.reshape(n * self.C))
        last = Xy[n - 1] @ self.beta
        self.calib = np.divide(official[n - 1], last, out=np.ones(self.C), where=last > 0)
        if self.trend_correction and n >= 2:
            prev = Xy[n - 2] @ self.beta
            k_prev = np.divide(official[n - 2], prev, out=np.ones(self.C), where=prev > 0)
            self.drift = np.clip(
                np.divide(self.calib, k_prev, out=np.ones(self.C), where=k_prev > 0), 0.95, 1.05
            )
        self.refits.append((t, self.beta.copy()))

    def fast_estimate(self, t: int) -> int | None:
        """Produce the fast estimate of quarter t - fast_lag at the end of quarter t."""
        q = t - self.fast_lag
        if q < 0 or self.beta is None:
            return None
        years_since = (q - (4 * (self.n_published - 1) + 1.5)) / 4.0  # from mid last official year
        x = self.obs[q]
        if self.use_ledger:  # regressors as if nothing had closed since the calibration year
            x = x + (self.closed[q] - self.closed_ref) / 4
        model = self.calib * self.drift**years_since * (x @ self.beta)
        # abatement completed and capacity closed since the calibration year, from the ledger
        est = model - (self.ledger[q] - self.ledger_ref) / 4 if self.use_ledger else model
        # the ledger (Mt/yr when completed) overstates abatement once output has fallen:
        # it never removes more than the largest reachable abatement share (<= 0.95)
        self.fast[q] = np.maximum(est, 0.05 * np.maximum(model, 0.0))
        self.fast_made_at[q] = t
        return q

    # --------------------------------------------------------- estimates --
    def known(self, t: int, use_fast: bool) -> tuple[np.ndarray, int]:
        """Best estimate of every quarter's emissions as known at the end of quarter t.

        Published years use the official figure spread over the year's quarters
        in proportion to their fast estimates (equally where there are none);
        later quarters use fast estimates when ``use_fast``.  Returns the
        (quarters x cities) matrix (NaN where unknown) and the last quarter
        known for every city (-1 if none).
        """
        est = np.full((self.T, self.C), np.nan)
        n_pub = int(np.sum(self.published_at <= t))
        if n_pub:
            q = 4 * n_pub
            f = self.fast[:q].reshape(n_pub, 4, self.C)
            tot = np.nansum(f, axis=1, keepdims=True)
            share = np.where(
                np.isnan(f).any(axis=1, keepdims=True) | (tot <= 0),  # none, or all zero: equal
                0.25,
                np.divide(f, tot, out=np.full_like(f, 0.25), where=tot > 0),
            )
            est[:q] = (share * self.official[:n_pub, None, :]).reshape(q, self.C)
        last = 4 * n_pub - 1
        if use_fast:
            upto = min(t - self.fast_lag, self.T - 1)
            if upto > last:
                rows = slice(last + 1, upto + 1)
                made = self.fast_made_at[rows]
                avail = (made >= 0) & (made <= t)
                est[rows] = np.where(avail, self.fast[rows], np.nan)
                # the last quarter known is the end of the run of quarters estimated for every city
                full = avail.all(axis=1)
                n_full = int(np.argmin(full)) if not full.all() else full.size
                last += n_full
        return est, last

    def fast_error(self, q0: int = 0, q1: int | None = None) -> dict[str, np.ndarray | float]:
        """MAPE per city and overall, and mean bias, of the fast estimates of
        quarters ``q0 <= q < q1`` (default: the whole run) against truth."""
        import warnings

        fast = self.fast[q0:q1]
        truth = self.emissions[q0:q1]
        ok = ~np.isnan(fast)
        err = np.where(ok, (fast - truth) / np.where(ok & (truth != 0), truth, 1.0), np.nan)
        with warnings.catch_warnings():  # cities or periods without estimates give NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mape_city = np.nanmean(np.abs(err), axis=0)
            return {
                "mape_city": mape_city,
                "mape": float(np.nanmean(np.abs(err))),
                "bias": float(np.nanmean(err)),
            }
