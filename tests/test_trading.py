"""Inter-city budget trading [碳预算指标交易] (MODEL.md 4.7): the uniform-price
call market on hand-computed books, properties over random books, and the
model-level bookkeeping of trades."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim import load_scenario, run
from sim.model import CarbonBudgetModel
from sim.policies.trading import QUANTUM, clear

BIG = np.full(4, 100.0)


def test_hand_computed_book():
    # sellers: city 0 (5 Mt at 10 CNY/t), city 1 (3 Mt at 20); buyers: city 2 (4 Mt at 100),
    # city 3 (6 Mt at 50).  Walk: 4 Mt (10 vs 100), 1 Mt more (10 vs 50), 3 Mt more (20 vs 50),
    # then sellers are exhausted: volume 8, marginal ask 20, marginal bid 50, price 35.
    pos = np.array([5.0, 3.0, -4.0, -6.0])
    ask = np.array([10.0, 20.0, 999.0, 999.0])
    bid = np.array([0.0, 0.0, 100.0, 50.0])
    r = clear(pos, ask, bid, BIG)
    np.testing.assert_array_equal(r.traded, [-5.0, -3.0, 4.0, 4.0])
    assert r.volume == 8.0
    assert r.price == 35.0
    # buyer gain (100 - 35) * 4 + (50 - 35) * 4 = 320 (Mt x CNY/t = 1e6 CNY) = 0.32 bn CNY
    assert r.buyer_gain == pytest.approx(0.32, rel=1e-12)
    # seller gain (35 - 10) * 5 + (35 - 20) * 3 = 170 -> 0.17 bn CNY
    assert r.seller_gain == pytest.approx(0.17, rel=1e-12)
    assert r.traded.sum() == 0.0


def test_walk_stops_where_the_next_bid_is_below_the_next_ask():
    # seller 0: 5 Mt at 10; buyers 1 (4 Mt at 100) and 2 (6 Mt at 5 < 10): only 4 Mt trade,
    # marginal pair (10, 100) -> price 55
    pos = np.array([5.0, -4.0, -6.0])
    r = clear(pos, np.array([10.0, 0, 0]), np.array([0, 100.0, 5.0]), np.full(3, 100.0))
    np.testing.assert_array_equal(r.traded, [-4.0, 4.0, 0.0])
    assert r.price == 55.0
    assert r.volume == 4.0


def test_volume_capped_per_city():
    # seller could sell 10 but may trade at most 2; buyer wants 10, may buy at most 3 -> 2 trade
    r = clear(np.array([10.0, -10.0]), np.array([50.0, 0.0]), np.array([0.0, 300.0]),
              np.array([2.0, 3.0]))  # fmt: skip
    np.testing.assert_array_equal(r.traded, [-2.0, 2.0])
    assert r.price == 175.0  # (50 + 300) / 2
    # two buyers, caps bind each: city 1 capped at 1, city 2 at 1.5 -> seller sells 2.5
    r = clear(np.array([10.0, -4.0, -4.0]), np.array([50.0, 0, 0]), np.array([0, 300.0, 200.0]),
              np.array([100.0, 1.0, 1.5]))  # fmt: skip
    np.testing.assert_array_equal(r.traded, [-2.5, 1.0, 1.5])
    assert r.price == 125.0  # marginal pair (50, 200)


@pytest.mark.parametrize(
    ("pos", "ask", "bid"),
    [
        ([5.0, -5.0], [200.0, 0.0], [0.0, 100.0]),  # bid below ask
        ([5.0, 3.0], [10.0, 20.0], [500.0, 500.0]),  # no buyers
        ([-5.0, -3.0], [10.0, 20.0], [500.0, 500.0]),  # no sellers
        ([0.0, 0.0], [10.0, 20.0], [500.0, 500.0]),  # everyone balanced
    ],
)
def test_nothing_trades(pos, ask, bid):
    r = clear(np.array(pos), np.array(ask), np.array(bid), np.full(2, 100.0))
    np.testing.assert_array_equal(r.traded, [0.0, 0.0])
    assert r.volume == 0.0
    assert math.isnan(r.price)
    assert r.buyer_gain == 0.0 and r.seller_gain == 0.0


def test_zero_cap_means_no_trade():
    r = clear(np.array([5.0, -5.0]), np.array([10.0, 0]), np.array([0, 300.0]), np.zeros(2))
    assert r.volume == 0.0
    np.testing.assert_array_equal(r.traded, 0.0)


def test_quota_conserved_exactly():
    # one seller (1.1 Mt) and two buyers (0.7 and 0.3 Mt): the seller's fill comes from the
    # buyers' float cumsum 0.7 + 0.3 = 1.0 but 0.7 + 0.3 - 1.0 != 0 in floating point, and the
    # "remainder on the largest buyer" correction (trading.py: traded[k] -= traded.sum()) is
    # absorbed by rounding, so the sum of trades stays -5.55e-17 (math.fsum agrees).
    pos = np.array([1.1, -0.7, -0.3])
    r = clear(pos, np.array([10.0, 0, 0]), np.array([0, 100.0, 90.0]), np.full(3, 10.0))
    assert r.volume > 0
    assert math.fsum(r.traded) == 0.0
    assert r.traded.sum() == 0.0


@pytest.mark.parametrize(
    ("pos", "ask", "bid", "outsider"),
    [
        # city 2 is a seller asking 1 > clearing price 0: it must not sell
        ([0.003, -1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0], 2),
        # city 2 is a buyer bidding 5 < every ask (10): it must not buy
        ([-0.003, 1.0, -1.0], [0.0, 10.0, 0.0], [100.0, 0.0, 5.0], 2),
    ],
)
def test_no_trade_beyond_the_marginal_city(pos, ask, bid, outsider):
    # _fill (trading.py) computes `before = cum - quantities`; cum[1] - q[1] = 1.003 - 1 is
    # 0.0029999999999998916, not 0.003, so the next city in the queue gets q - before = 1.1e-16
    # Mt at a reservation price on the wrong side of the clearing price (negative gain, and a
    # spurious "trade" event for it in the model).  Expected: only city 0 and city 1 trade.
    r = clear(np.array(pos), np.array(ask), np.array(bid), np.ones(3))
    assert r.volume > 0
    assert r.traded[outsider] == 0.0
    assert r.buyer_gain >= 0.0 and r.seller_gain >= 0.0


# ------------------------------------------------------------ properties --

n_cities = st.integers(min_value=1, max_value=12)


@st.composite
def books(draw):
    n = draw(n_cities)
    f = st.floats(-20.0, 20.0, allow_nan=False, allow_infinity=False)
    pos = draw(hnp.arrays(np.float64, n, elements=f))
    price = st.floats(0.0, 500.0, allow_nan=False, allow_infinity=False)
    ask = draw(hnp.arrays(np.float64, n, elements=price))
    bid = draw(hnp.arrays(np.float64, n, elements=price))
    cap = draw(hnp.arrays(np.float64, n, elements=st.floats(0.0, 10.0)))
    return pos, ask, bid, cap


@settings(max_examples=300, deadline=None, database=None)
@given(books())
def test_clearing_properties(book):
    pos, ask, bid, cap = book
    r = clear(pos, ask, bid, cap)
    tr = r.traded
    tol = 1e-12 * max(1.0, float(np.abs(tr).sum()))
    # quota conserved exactly
    assert tr.sum() == 0.0
    assert math.fsum(tr) == 0.0
    # only sellers sell, only buyers buy, never more than the position or the cap
    assert np.all(tr[pos <= 0] >= -tol)
    assert np.all(tr[pos >= 0] <= tol)
    assert np.all(np.abs(tr) <= np.minimum(np.abs(pos), cap) + tol)
    assert r.volume == pytest.approx(float(np.clip(tr, 0, None).sum()), rel=1e-12, abs=1e-15)
    if r.volume == 0:
        assert math.isnan(r.price)
        assert r.buyer_gain == 0.0 and r.seller_gain == 0.0
        return
    # the uniform price lies between the marginal (highest traded) ask and the marginal
    # (lowest traded) bid, so every trader gains
    sellers = tr < 0
    buyers = tr > 0
    if sellers.any() and buyers.any():
        assert ask[sellers].max() <= r.price <= bid[buyers].min()
    assert r.buyer_gain >= -1e-12 and r.seller_gain >= -1e-12
    # the market clears: no remaining seller asks less than a remaining buyer bids
    # (a pair at exactly equal prices is indifferent and may stay unmatched)
    left_supply = np.clip(np.minimum(pos, cap), 0, None) + np.clip(tr, None, 0)
    left_demand = np.clip(np.minimum(-pos, cap), 0, None) - np.clip(tr, 0, None)
    # trades are whole multiples of QUANTUM (~1 t): less than one quantum may stay unmatched
    s_left = left_supply >= QUANTUM
    b_left = left_demand >= QUANTUM
    if s_left.any() and b_left.any():
        assert bid[b_left].max() <= ask[s_left].min()


# ------------------------------------------------------------ model level --


def test_no_trades_when_trading_disabled(default):
    sc = default.with_overrides({"trading.enabled": False})
    m = CarbonBudgetModel(sc, 1, firm_agents=False)
    m.run_model()
    assert m.trade_log == []
    ev = m.events.to_frame()
    assert (ev["kind"] == "trade").sum() == 0
    np.testing.assert_array_equal(m.plans[0].traded, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_model_trades_conserve_quota_each_year(default, seed):
    res = run(default, seed, counterfactual=False)
    ann = res.annual[(res.annual["city"] != "province") & (res.annual["period"] == 0)]
    assert (res.events["kind"] == "trade").sum() > 0  # the default scenario does trade
    per_year = ann.groupby("year")["traded"]
    for year, tr in per_year:
        assert abs(tr.sum()) <= 1e-12 * max(1.0, tr.abs().sum()), year
    # the final account's volume is the quota bought
    vol = float(ann["traded"].clip(lower=0).sum())
    assert res.final_account["measures"]["trade_volume_mt"] == pytest.approx(vol, rel=1e-9)
    # every city trades at most volume_cap of what it is held to before the trade
    cap = res.scenario["trading.volume_cap"]
    before = ann["held_to"] - ann["traded"]
    assert (ann["traded"].abs() <= cap * before + 1e-9).all()
    # and buyers were in deficit, sellers in surplus (position = held - accounted)
    pos = before - ann["accounted"]
    assert (pos[ann["traded"] > 0] < 0).all()
    assert (pos[ann["traded"] < 0] > 0).all()


def test_trade_events_match_the_trade_log(default):
    sc = load_scenario("default")
    m = CarbonBudgetModel(sc, 2, firm_agents=False)
    m.run_model()
    ev = m.events.to_frame()
    trades = ev[ev["kind"] == "trade"]
    assert len(m.trade_log) > 0
    for t, volume, price, bg, sg in m.trade_log:
        e = trades[trades["t"] == t]
        assert e["amount"].clip(lower=0).sum() == pytest.approx(volume, rel=1e-12)
        assert (e["value"] == price).all()
        assert bg >= 0 and sg >= 0
