"""The five-year final account report [碳预算五年决算报告] of a run folder.

``write_report(run_dir, lang)`` reads only the stored run folder (analysis
never runs models) and writes one self-contained HTML file with its figures
embedded, plus the same figures as PNG files beside it.
"""

from sim.report.html import write_report

__all__ = ["write_report"]
