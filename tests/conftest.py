"""Shared fixtures: scenarios are cheap to load; runs of `tiny` are cached per session."""

from __future__ import annotations

import pytest

from sim import load_scenario, run


@pytest.fixture(scope="session")
def tiny():
    return load_scenario("tiny")


@pytest.fixture(scope="session")
def default():
    return load_scenario("default")


@pytest.fixture(scope="session")
def tiny_run(tiny):
    return run(tiny, seed=7)


@pytest.fixture(scope="session")
def default_run(default):
    return run(default, seed=1)
