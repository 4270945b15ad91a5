"""The Redis log: streams as the shared sequencer, the instance registry."""
