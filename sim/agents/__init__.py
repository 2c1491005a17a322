"""Agents: the province, cities, and the array-backed firm population."""

from sim.agents.city import City
from sim.agents.firms import Firm, FirmPopulation
from sim.agents.province import Province

__all__ = ["City", "Firm", "FirmPopulation", "Province"]
