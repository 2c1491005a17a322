"""The province [省]: the agent that runs the budget cycle's stages.

The stages' logic lives in :mod:`sim.stages` (plan preparation, monitoring and
warning, regulation, annual account, five-year account) and every change of
the budget goes through the ledger (:class:`sim.budget.PeriodPlan`).  The
province's own decisions — the package of each city, the annual adjustment,
listed quota for major projects — are taken by the replaceable
:class:`~sim.policies.governor.Governor` (a rule, or a person on the teaching
page), so this agent only says what the province does when."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.budget import PeriodPlan
from sim.policies.governor import AccountDecision
from sim.stages import annual_account, plan, regulation, warning
from sim.stages.annual_account import PendingAccount, breach_repayment

if TYPE_CHECKING:
    from sim.model import CarbonBudgetModel

__all__ = ["PendingAccount", "Province", "breach_repayment"]


class Province(mesa.Agent):
    """The provincial government [省级政府]."""

    model: CarbonBudgetModel

    def __init__(self, model: CarbonBudgetModel) -> None:
        super().__init__(model)
        self.name = model.sc["province.name"]

    def prepare_plan(self, period_index: int) -> PeriodPlan:
        """Budget plan preparation before the first quarter of a period (MODEL.md 4.2)."""
        return plan.prepare(self.model, period_index)

    def quarter(self, p: PeriodPlan, t: int) -> None:
        """The province's duties at the end of quarter ``t`` of a plan period:
        monitoring and early warning on monitoring dates, the annual final
        account at year end, and (``traditional``) the campaign."""
        m = self.model
        if m.sc["monitoring.frequency"] == "quarterly" or t % 4 in (1, 3):
            warning.monitor(m, p, t)
        if t % 4 == 3:
            annual_account.annual_account(m, p, t)
        if m.regime.campaign and t < p.end_t:
            regulation.campaign(m, p, t + 1)

    def major_project(self, p: PeriodPlan | None, t: int, city: int, firm: int, e: float,
                      online_t: int, u: float) -> None:  # fmt: skip
        """A major project [重大项目] proposed in ``city``: listed quota or an offset plan."""
        regulation.handle_major(self.model, p, t, city, firm, e, online_t, u)

    def decide_account(self, pending: PendingAccount, decision: AccountDecision) -> None:
        """Apply an annual decision taken later (a person playing the province)."""
        annual_account.apply_decision(self.model, pending, decision)
