"""Replicas: an engine fed by a command log, local or shared, the watch hub, and workers."""
