"""Calibrated responses of the budget regime (issue 8): the fast estimate after
closures of outdated capacity, the consequences of trading and adjustment, and
the budget regime's landing near its target on several provinces."""

from __future__ import annotations

import numpy as np
import pytest

from sim.monitoring import Statistics


def _constant_statistics(ledger: bool) -> tuple[Statistics, np.ndarray]:
    """Two cities with constant quarters; official year 0 is published at the end
    of quarter 4; in quarter 5 city 0 closes outdated capacity emitting 8 Mt/yr
    with 1 TWh/yr of electricity and 2 bn CNY/yr of output (far dirtier than the
    average factor of its electricity and output)."""
    st = Statistics(12, 2, 1, 1, 0.0, np.zeros(2), trend_correction=False, ledger=ledger)
    el = np.array([10.0, 6.0])
    ind = np.array([20.0, 30.0])
    dg = np.array([40.0, 10.0])
    truth = 2.0 * el + 0.5 * ind + 0.1 * dg
    zero = np.zeros((2, 3))
    for t in range(9):
        closed_mt = np.zeros(2)
        closed_x = np.zeros((2, 3))
        if t >= 5:
            e_t, el_t, ind_t = truth - [2.0, 0.0], el - [0.25, 0.0], ind - [0.5, 0.0]
        else:
            e_t, el_t, ind_t = truth, el, ind
        if t == 5:
            closed_mt = np.array([8.0, 0.0])
            closed_x = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
        st.record(t, e_t, el_t, ind_t, ind_t + dg, dg, zero, np.zeros(2), closed_mt, closed_x)
        st.publish(t, np.zeros(2))
        st.fast_estimate(t)
    return st, truth


def test_closures_in_the_ledger_keep_the_fast_estimate_exact():
    st, truth = _constant_statistics(ledger=True)
    # quarters 5-7: after the closure, estimated exactly (2 Mt less per quarter in city 0)
    np.testing.assert_allclose(st.fast[5:8], np.tile(truth - [2.0, 0.0], (3, 1)), rtol=1e-9)
    # before it, too
    np.testing.assert_allclose(st.fast[3], truth, rtol=1e-9)


def test_without_the_ledger_a_closure_biases_the_fast_estimate_upwards():
    st, truth = _constant_statistics(ledger=False)
    after = truth - [2.0, 0.0]
    # the regression takes out only the closed capacity's electricity and output at its
    # average factors (at most a few tenths of a Mt here): the estimate stays too high
    assert st.fast[6, 0] > after[0] + 1.0
    assert st.fast[6, 1] == pytest.approx(after[1], rel=1e-9)
