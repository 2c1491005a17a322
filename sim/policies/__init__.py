"""Policies: instruments (toolbox), packages, allocation methods, adjustment
rules, trading, governance regimes and the province's decision function.

Each family is a registry looked up by string from the scenario, so a new
rule or instrument is one entry.
"""
