"""The nodes that take new demand, as the log last set their statuses.

One object per engine, shared by the engine (node selection) and the record
applier (which refreshes it after a status change and plans reserves with it);
refreshed in place so both always see the same selection.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dompromise import _core
from dompromise.model.network import Network


class SellableNodes:
    def __init__(self, core: _core.Core, network: Network):
        self._core = core
        self._nodes = network.nodes
        self.index: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)  # the default node selection
        self.mask: npt.NDArray[np.bool_] = np.zeros(len(network.nodes), dtype=bool)
        self.ids: list[str] = []  # node ids of `index`, built once per refresh
        self.refresh()

    def refresh(self) -> None:
        """Re-reads the core's sellable nodes (after start-up and every status change)."""
        self.index = self._core.sellable_nodes()
        self.mask = np.zeros(len(self._nodes), dtype=bool)
        self.mask[self.index] = True
        self.ids = [self._nodes[i].node_id for i in self.index]
