"""Inter-city budget trading [碳预算指标交易] (MODEL.md 4.7).

After the annual account, cities in surplus offer quota and cities in deficit
bid for it.  Reservation prices: a seller asks its marginal abatement cost
(what keeping the quota saves it), a buyer bids the expected cost of an
uncovered overrun.  The market clears at one uniform price where the stepwise
supply and demand curves cross; volumes are capped by a share of each city's
target; quota is conserved exactly: traded amounts are whole multiples of
``QUANTUM`` (2^-20 Mt, about a tonne), whose sums are exact in floating point,
so the trades sum to exactly zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUANTUM = 2.0**-20  # Mt (about one tonne): trades are whole multiples of it


@dataclass
class TradeResult:
    traded: np.ndarray  # + bought, - sold (Mt), sums to zero
    price: float  # CNY/t, nan when nothing trades
    volume: float  # Mt
    buyer_gain: float  # bn CNY
    seller_gain: float  # bn CNY


def clear(position: np.ndarray, ask: np.ndarray, bid: np.ndarray, cap: np.ndarray) -> TradeResult:
    """Clear a uniform-price call market.

    position: surplus (>0) or deficit (<0) per city, Mt; ask/bid: reservation
    prices CNY/t (ask used for sellers, bid for buyers); cap: most each city may
    trade, Mt.
    """
    n = position.size
    # quantities are whole multiples of QUANTUM, so every sum below is exact in
    # binary floating point and quota is conserved to the last bit
    supply = np.floor(np.clip(np.minimum(position, cap), 0, None) / QUANTUM) * QUANTUM
    demand = np.floor(np.clip(np.minimum(-position, cap), 0, None) / QUANTUM) * QUANTUM
    sellers = np.flatnonzero(supply > 0)
    buyers = np.flatnonzero(demand > 0)
    zero = TradeResult(np.zeros(n), float("nan"), 0.0, 0.0, 0.0)
    if sellers.size == 0 or buyers.size == 0:
        return zero
    s_order = sellers[np.argsort(ask[sellers], kind="stable")]
    b_order = buyers[np.argsort(-bid[buyers], kind="stable")]
    s_cum = np.cumsum(supply[s_order])
    b_cum = np.cumsum(demand[b_order])
    # walk both curves: quantity q trades while the marginal bid >= marginal ask
    i = j = 0
    q = 0.0
    last_ask = last_bid = float("nan")
    while i < s_order.size and j < b_order.size:
        a, b = ask[s_order[i]], bid[b_order[j]]
        if b < a:
            break
        nxt = min(s_cum[i], b_cum[j])
        q = nxt
        last_ask, last_bid = a, b
        if s_cum[i] <= nxt:
            i += 1
        if b_cum[j] <= nxt:
            j += 1
    if q <= 0:
        return zero
    price = 0.5 * (last_ask + last_bid)
    sold = _fill(supply[s_order], q)
    bought = _fill(demand[b_order], q)
    traded = np.zeros(n)
    traded[s_order] -= sold
    traded[b_order] += bought
    mask_b = traded > 0
    mask_s = traded < 0
    buyer_gain = float(np.sum((bid[mask_b] - price) * traded[mask_b])) * 1e-3
    seller_gain = float(np.sum((price - ask[mask_s]) * -traded[mask_s])) * 1e-3
    return TradeResult(traded, float(price), float(traded[mask_b].sum()), buyer_gain, seller_gain)


def _fill(quantities: np.ndarray, q: float) -> np.ndarray:
    """Take ``q`` from the front of an ordered list of quantities."""
    before = np.concatenate([[0.0], np.cumsum(quantities)[:-1]])  # exact for the first
    return np.clip(np.minimum(quantities, q - before), 0, None)
