"""The embedded demo network: a French automotive-parts distributor."""
