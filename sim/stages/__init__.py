"""The stages of the five-year carbon budget cycle, one module each.

============================  =======================================  ==================
stage                         module                                   MODEL.md
============================  =======================================  ==================
plan preparation [方案编制]   :mod:`sim.stages.plan`                   4.2
monitoring & warning [监测预警] :mod:`sim.stages.warning`              4.3-4.4
regulation [调控]             :mod:`sim.stages.regulation`             4.5
annual account [年度决算]     :mod:`sim.stages.annual_account`         4.6-4.7
five-year account [五年决算]  :mod:`sim.stages.final_account`          4.8
============================  =======================================  ==================

Each stage reads the model's state (statistics, firms, the scenario) and
changes the budget only through the ledger's methods
(:class:`sim.budget.PeriodPlan`); a stage never reaches into another stage's
state.  The Province agent (:mod:`sim.agents.province`) calls them on its
schedule; the province's decisions go through the governor
(:mod:`sim.policies.governor`).
"""
