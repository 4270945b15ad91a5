"""Reservation bookkeeping the core does not keep: the book, split holds, events."""
