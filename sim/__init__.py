"""Agent-based simulator of local carbon budget management under China's dual
control of carbon emissions [碳排放双控].

Quick use::

    from sim import load_scenario, run
    result = run(load_scenario("default"), seed=1)
    result.quarterly, result.annual, result.events, result.final_account
"""

from sim.runner import RunResult, run, write_run
from sim.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario

__version__ = "0.1.0"
__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "builtin_scenarios",
    "load_scenario",
    "run",
    "write_run",
]
