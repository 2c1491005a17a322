"""Analysis of stored experiment results (SALib indices, convergence, seed
variance, per-level summaries, figures).  It reads result folders written by
:mod:`sim.experiment` and never imports or runs the model."""

from sim.analysis.report import AnalysisError, Report, analyze

__all__ = ["AnalysisError", "Report", "analyze"]
