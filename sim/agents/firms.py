"""Key firms [重点用能/排放单位]: array-backed state, vectorised behaviour.

All firms live in one :class:`FirmPopulation` of NumPy arrays (one row per
firm, MODEL.md section 8); every behaviour is one vectorised operation over
all rows, so cost grows linearly with the number of firms.  A Mesa
:class:`Firm` agent is a read-only view of one row, for inspection, the UI
and tests.

Units: output ``Q`` and capacity ``K`` in bn CNY/yr; intensity ``I`` in
Mt CO2 per bn CNY (x10 = t per 10,000 CNY); electricity intensity ``el`` in
TWh per bn CNY.  Quarterly emissions are ``Q * I / 4`` (Mt) and electricity
``Q * el / 4`` (TWh), as in MODEL.md 4.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.params import SECTORS

N_SECTORS = len(SECTORS)


def mac_share(price: np.ndarray, scale: np.ndarray, x_max: np.ndarray) -> np.ndarray:
    """Abatement share x where MAC(x) = c x / (x_max - x) equals ``price``:
    x = price x_max / (c + price)."""
    p = np.clip(price, 0.0, None)
    return p * x_max / (scale + p)


def mac_cost(x: np.ndarray, scale: np.ndarray, x_max: np.ndarray) -> np.ndarray:
    """Integral of MAC from 0 to x per tonne of baseline emissions (CNY/t):
    c (x_max ln(x_max / (x_max - x)) - x)."""
    x = np.minimum(x, x_max * (1 - 1e-9))
    return scale * (x_max * np.log(x_max / (x_max - x)) - x)


@dataclass
class SectorArrays:
    """Per-sector parameters as arrays indexed by sector id."""

    trend: np.ndarray
    beta: np.ndarray
    noise: np.ndarray
    improve: np.ndarray
    drift: np.ndarray
    mac_scale: np.ndarray
    mac_max: np.ndarray
    proj_prob: np.ndarray
    proj_size: np.ndarray
    vintage: np.ndarray
    base_price: np.ndarray

    @classmethod
    def from_values(cls, v: dict) -> SectorArrays:
        def arr(field: str) -> np.ndarray:
            return np.array([v[f"sector.{s}.{field}"] for s in SECTORS], dtype=float)

        return cls(arr("trend_growth"), arr("cyclicality"), arr("noise"), arr("autonomous_improvement"),
                   arr("electrification_drift"), arr("mac_scale"), arr("mac_max_share"), arr("project_prob"),
                   arr("project_size"), arr("vintage_improvement"), arr("base_carbon_price"))  # fmt: skip


class FirmPopulation:
    """State of all key firms as arrays, and their vectorised behaviours."""

    def __init__(self, city: np.ndarray, sector: np.ndarray, Q: np.ndarray, K: np.ndarray, I: np.ndarray,
                 el: np.ndarray, active: np.ndarray, outdated: np.ndarray, sectors: SectorArrays,
                 n_cities: int, utilisation: float = 0.85) -> None:  # fmt: skip
        self.n = city.size
        self.n_cities = n_cities
        self.utilisation = utilisation
        self.city = city.astype(np.int64)
        self.sector = sector.astype(np.int64)
        self.Qp = Q.astype(float)  # unrestricted (potential) output, bn CNY/yr
        self.Q = self.Qp.copy()  # actual output this quarter (after restriction)
        self.K = K.astype(float)
        self.I = I.astype(float)
        self.el = el.astype(float)
        self.active = active.astype(bool)
        self.outdated = outdated.astype(bool)
        self.targeted = np.zeros(self.n, dtype=bool)
        self.allocation = np.full(self.n, np.nan)  # firm quota, Mt/yr (firm-mode cities)
        self.restriction = np.zeros(self.n)
        self.sp = sectors
        # abatement: cumulative share realised / pending (relative to the firm's baseline path)
        self.x_done = mac_share(sectors.base_price[self.sector], sectors.mac_scale[self.sector],
                                sectors.mac_max[self.sector])  # fmt: skip
        self.x_pending = np.zeros(self.n)
        self._abatement_queue: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._capacity_queue: dict[
            int, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
        ] = {}
        self.emissions = np.zeros(self.n)
        self.electricity = np.zeros(self.n)
        # outdated capacity closed since the model last reset them (each quarter)
        self.retired_output = np.zeros(n_cities)  # bn CNY/yr
        self.retired_emissions = np.zeros(n_cities)  # Mt/yr
        self.retired_electricity = np.zeros(n_cities)  # TWh/yr
        self.update_flows()

    # ----------------------------------------------------------- flows ----
    def update_flows(self) -> None:
        """Quarterly emissions (Mt) and electricity (TWh) of the current output."""
        self.Q = np.where(self.active, self.Qp * (1.0 - self.restriction), 0.0)
        self.emissions = self.Q * self.I / 4.0
        self.electricity = self.Q * self.el / 4.0

    def by_city(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        w = values if mask is None else np.where(mask, values, 0.0)
        return np.bincount(self.city, weights=w, minlength=self.n_cities)

    def potential_emissions(self) -> np.ndarray:
        """Emissions at potential output of every firm (Mt/yr; 0 if inactive)."""
        return np.where(self.active, self.Qp * self.I, 0.0)

    def potential_output(self) -> np.ndarray:
        """Output at full utilisation of every firm (bn CNY/yr; 0 if inactive)."""
        return np.where(self.active, self.Qp, 0.0)

    def baseline_emissions(self) -> np.ndarray:
        """Emissions at potential output without the abatement done (Mt/yr, the
        base abatement shares apply to; 0 if inactive)."""
        return np.where(self.active, self.Qp * self.I / np.clip(1.0 - self.x_done, 1e-6, None), 0.0)

    def abatable(self, price: float) -> np.ndarray:
        """Emissions (Mt/yr at potential output) each firm could still abate at
        a carbon price ``price`` beyond what it has abated (its MAC curve)."""
        s = self.sector
        x = mac_share(np.full(self.n, price), self.sp.mac_scale[s], self.sp.mac_max[s])
        return np.clip(x - self.x_done, 0, None) * self.potential_emissions()

    def by_city_sector(self, values: np.ndarray) -> np.ndarray:
        idx = self.city * N_SECTORS + self.sector
        return np.bincount(idx, weights=values, minlength=self.n_cities * N_SECTORS).reshape(
            self.n_cities, N_SECTORS
        )

    # ----------------------------------------------------------- growth ---
    def grow(self, macro: float, eps: np.ndarray, shock: np.ndarray) -> None:
        """Output growth: Qp <- min(K, Qp (1 + g_s/4 + beta_s m_t + sigma_s eps + shock_s));
        intensity falls by a_s/4 and electricity intensity drifts up (MODEL.md 4.1)."""
        s = self.sector
        sp = self.sp
        growth = sp.trend[s] / 4.0 + sp.beta[s] * macro + sp.noise[s] * eps + shock[s]
        self.Qp = np.minimum(self.K, self.Qp * np.clip(1.0 + growth, 0.0, None))
        self.I *= 1.0 - sp.improve[s] / 4.0
        self.el *= 1.0 + sp.drift[s] / 4.0

    # ---------------------------------------------------------- projects --
    def propose(self, u: np.ndarray, z: np.ndarray, utilisation: float) -> dict[str, np.ndarray]:
        """Yearly capacity-expansion proposals: a firm proposes with probability
        pi_s an expansion of lognormal size (median ``project_size`` x K); the
        new vintage has lower intensity.  ``u`` and ``z`` are drawn for every
        firm every year so that random numbers stay common across policies."""
        s = self.sector
        sp = self.sp
        mask = self.active & (u < sp.proj_prob[s])
        idx = np.flatnonzero(mask)
        dK = self.K[idx] * sp.proj_size[s[idx]] * np.exp(0.5 * z[idx])
        I_new = self.I[idx] * (1.0 - sp.vintage[s[idx]])
        el_new = self.el[idx]
        return {
            "firm": idx,
            "dK": dK,
            "I": I_new,
            "el": el_new,
            "emissions": dK * utilisation * I_new,
        }

    def schedule_capacity(self, t_online: int, firm: np.ndarray, dK: np.ndarray, I_new: np.ndarray,
                          el_new: np.ndarray) -> None:  # fmt: skip
        if firm.size:
            self._capacity_queue.setdefault(t_online, []).append((firm, dK, I_new, el_new))

    def complete_capacity(self, t: int) -> np.ndarray:
        """Bring projects due at ``t`` online; intensities become capacity-weighted
        averages of the old stock and the new vintage.  Returns the firms touched."""
        touched = []
        for firm, dK, I_new, el_new in self._capacity_queue.pop(t, []):
            # several projects may hit the same firm: accumulate with np.add.at
            K_old = self.K.copy()
            addK = np.zeros(self.n)
            addI = np.zeros(self.n)
            addel = np.zeros(self.n)
            np.add.at(addK, firm, dK)
            np.add.at(addI, firm, dK * I_new)
            np.add.at(addel, firm, dK * el_new)
            hit = addK > 0
            newK = K_old + addK
            self.I = np.where(hit, (self.I * K_old + addI) / np.where(hit, newK, 1), self.I)
            self.el = np.where(hit, (self.el * K_old + addel) / np.where(hit, newK, 1), self.el)
            self.K = newK
            # a new plant (scheduled major project) starts at normal utilisation
            new_plant = hit & ~self.active
            self.Qp = np.where(new_plant, self.utilisation * newK, self.Qp)
            self.active |= hit
            touched.append(firm)
        return np.concatenate(touched) if touched else np.zeros(0, dtype=np.int64)

    # --------------------------------------------------------- abatement --
    def decide_abatement(self, price: np.ndarray, t_done: int) -> tuple[np.ndarray, np.ndarray]:
        """Abate to where MAC equals the effective carbon cost (a ratchet: a firm
        adds abatement when its cost rises, it never undoes it).  Returns
        (annual abatement cost capitalised later by the caller, Mt/yr abated) per firm."""
        sp = self.sp
        s = self.sector
        target = mac_share(price, sp.mac_scale[s], sp.mac_max[s])
        have = self.x_done + self.x_pending
        dx = np.where(self.active, np.clip(target - have, 0.0, None), 0.0)
        dx = np.where(dx > 1e-4, dx, 0.0)
        base = self.baseline_emissions()  # baseline-path emissions, Mt/yr
        cost_per_t = mac_cost(have + dx, sp.mac_scale[s], sp.mac_max[s]) - mac_cost(
            have, sp.mac_scale[s], sp.mac_max[s]
        )
        annual_cost_bn = base * cost_per_t * 1e-3  # Mt * CNY/t = 1e6 CNY -> bn: 1e-3
        idx = np.flatnonzero(dx)
        if idx.size:
            self.x_pending[idx] += dx[idx]
            self._abatement_queue.setdefault(t_done, []).append((idx, dx[idx]))
        return annual_cost_bn, base * dx

    def complete_abatement(self, t: int) -> np.ndarray:
        """Abatement decided ``lag`` quarters ago takes effect; returns Mt/yr abated per firm."""
        abated = np.zeros(self.n)
        for idx, dx in self._abatement_queue.pop(t, []):
            factor = 1.0 - dx / np.clip(1.0 - self.x_done[idx], 1e-6, None)
            abated[idx] += self.Qp[idx] * self.I[idx] * (1.0 - factor)
            np.multiply.at(self.I, idx, factor)
            np.add.at(self.x_done, idx, dx)
            np.subtract.at(self.x_pending, idx, dx)
        return abated

    # ------------------------------------------------------ retirement ----
    def retire_outdated(self, city_amount_mt: np.ndarray) -> np.ndarray:
        """Close outdated capacity in each city whose annual emissions add up to
        ``city_amount_mt`` (Mt/yr), pro rata over the city's outdated firms.
        Returns the emissions actually retired per city (limited by what exists)."""
        mask = self.active & self.outdated
        e_annual = np.where(mask, self.Qp * self.I, 0.0)
        avail = self.by_city(e_annual)
        take = np.minimum(np.clip(city_amount_mt, 0, None), avail)
        share = np.divide(take, avail, out=np.zeros_like(take), where=avail > 0)
        f = np.where(mask, 1.0 - share[self.city], 1.0)
        self.retired_output += self.by_city(self.Qp * (1.0 - f))
        self.retired_electricity += self.by_city(self.Qp * (1.0 - f) * self.el)
        self.retired_emissions += take
        self.Qp *= f
        self.K *= f
        return take


class Firm(mesa.Agent):
    """A key firm: a read-only Mesa view of one row of the firm population."""

    def __init__(self, model: mesa.Model, population: FirmPopulation, row: int) -> None:
        super().__init__(model)
        self._pop = population
        self.row = row

    @property
    def city(self) -> int:
        return int(self._pop.city[self.row])

    @property
    def sector(self) -> str:
        return SECTORS[int(self._pop.sector[self.row])]

    @property
    def output(self) -> float:
        return float(self._pop.Q[self.row])

    @property
    def capacity(self) -> float:
        return float(self._pop.K[self.row])

    @property
    def intensity(self) -> float:
        return float(self._pop.I[self.row])

    @property
    def electricity_intensity(self) -> float:
        return float(self._pop.el[self.row])

    @property
    def emissions(self) -> float:
        """This quarter's emissions, Mt."""
        return float(self._pop.emissions[self.row])

    @property
    def active(self) -> bool:
        return bool(self._pop.active[self.row])

    @property
    def outdated(self) -> bool:
        return bool(self._pop.outdated[self.row])

    def __repr__(self) -> str:
        return (f"Firm(row={self.row}, city={self.city}, sector={self.sector}, Q={self.output:.3g}, "
                f"I={self.intensity:.3g}, active={self.active})")  # fmt: skip
