"""Delivery promises: the promise engine, EDTs, ranking and promise tokens."""
