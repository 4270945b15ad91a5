"""The network config file and the stock CSV: marked YAML, validation with file:line problems, dumping."""
