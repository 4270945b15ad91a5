"""The network config file and the stock CSV: marked YAML, validation with file:line problems, dumping.

Callers use this package's names; the modules under it are its parts:
marked.py (YAML with lines), problems.py (ConfigError, typed readers),
network.py (top level, nodes, SKUs), transport.py, views.py, attributes.py,
ranking.py (the sections), stock_csv.py, dump.py.
"""

from dompromise.config.dump import dump_network
from dompromise.config.network import CONFIG_VERSION, load_network, parse_network
from dompromise.config.problems import PROBLEMS_MAX, ConfigError, ConfigProblem
from dompromise.config.stock_csv import load_stock_csv, parse_stock_csv

__all__ = [
    "CONFIG_VERSION",
    "PROBLEMS_MAX",
    "ConfigError",
    "ConfigProblem",
    "dump_network",
    "load_network",
    "load_stock_csv",
    "parse_network",
    "parse_stock_csv",
]
