"""The buurtkas domain: aggregates, events, rules and money of neighbourhood budgets.

This package imports neither ``projections`` nor ``service``.
"""
