"""Pure-Python domain types: the network, transport, channel views, attributes."""
