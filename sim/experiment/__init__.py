"""Experiments: a spec (TOML) -> a design table (one row per run, seeds included)
-> runs on an executor (serial, a local process pool, Dask) -> a result store
on disk (Parquet parts and a run-status table), resumable after a crash.

Modules, in the order of the flow:

- :mod:`sim.experiment.spec`: parse and validate an experiment spec;
- :mod:`sim.experiment.design`: seeds and the design table (SALib samplers);
- :mod:`sim.experiment.worker`: what one worker does with a chunk of runs;
- :mod:`sim.experiment.executors`: serial / processes / dask;
- :mod:`sim.experiment.store`: the result folder (read by :mod:`sim.analysis`);
- :mod:`sim.experiment.sweep`: plan, estimate, run and resume a sweep;
- :mod:`sim.experiment.cli`: ``carbon-budget experiment run|status|analyze|plot``.

Nothing here is imported by ``sim`` itself and nothing runs at import time.
"""

from sim.experiment.spec import ExperimentError, ExperimentSpec, Factor, load_spec

__all__ = ["ExperimentError", "ExperimentSpec", "Factor", "load_spec"]
