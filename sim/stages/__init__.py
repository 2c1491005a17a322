"""The stages of the five-year carbon budget cycle, one module each.

- plan preparation [方案编制] (MODEL.md 4.2): :mod:`sim.stages.plan`
- monitoring and early warning [监测预警] (4.3-4.4): :mod:`sim.stages.warning`,
  with the steering of the remaining budget in :mod:`sim.stages.steering`
- regulation [调控] (4.5): :mod:`sim.stages.regulation`
- annual account [年度决算] (4.6-4.7): :mod:`sim.stages.annual_account`
- five-year account [五年决算] (4.8): :mod:`sim.stages.final_account`

Each stage reads the model's state (statistics, firms, the scenario) and
changes the budget only through the ledger's methods
(:class:`sim.budget.PeriodPlan`); a stage never reaches into another stage's
state.  The Province agent (:mod:`sim.agents.province`) calls them on its
schedule; the province's decisions go through the governor
(:mod:`sim.policies.governor`).
"""
