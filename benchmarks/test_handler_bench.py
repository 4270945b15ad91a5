"""The GetAvailability handler in-process: what our code adds to each RPC.

No gRPC here: the handler coroutine is driven directly (it never suspends),
then the response is serialized as gRPC would. The no-op ceiling server pays
the serialization too, so handler time is the gap between the two servers in
benchmarks/grpc_ceiling.py: ratio ~ ceiling_us / (ceiling_us + handler_us).
"""

from __future__ import annotations

import numpy as np
import pytest

from dompromise.service.availability import AvailabilityServicer
from dompromise.v1 import availability_pb2, common_pb2

# scenario -> (SKUs per request, view); the same as benchmarks/grpc_ceiling.py
SCENARIOS = {
    "single": (1, availability_pb2.AVAILABILITY_VIEW_BASIC),
    "batch-totals": (1_000, availability_pb2.AVAILABILITY_VIEW_TOTALS),
    "batch-basic": (1_000, availability_pb2.AVAILABILITY_VIEW_BASIC),
}


def call(servicer, request):
    coroutine = servicer.GetAvailability(request, None)
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise AssertionError("the handler suspended: drive it with an event loop instead")


@pytest.fixture(params=["demo_like", "service_network"])
def served(request):
    synthetic = request.getfixturevalue(request.param)
    return synthetic, AvailabilityServicer(synthetic.engine)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_get_availability_handler(benchmark, served, scenario):
    synthetic, servicer = served
    skus, view = SCENARIOS[scenario]
    rng = np.random.default_rng(5)
    ids = [synthetic.network.skus[i].sku_id for i in rng.choice(len(synthetic.network.skus), skus, replace=False)]
    request = availability_pb2.GetAvailabilityRequest(sku_ids=ids, view=view)

    def rpc():
        return call(servicer, request).SerializeToString()

    benchmark.extra_info.update(scenario=scenario, skus=skus, nodes=len(synthetic.network.nodes))
    response = availability_pb2.GetAvailabilityResponse.FromString(benchmark(rpc))
    core = synthetic.engine.core.bucket_array("available")[synthetic.engine.sku_indices(ids)]
    assert [item.sku_id for item in response.items] == ids
    assert all(item.status == common_pb2.ITEM_STATUS_OK for item in response.items)
    assert [item.available_quantity for item in response.items] == core.sum(axis=1).tolist()
    if view != availability_pb2.AVAILABILITY_VIEW_TOTALS:
        assert len(response.node_ids) == len(synthetic.network.nodes)
        assert [list(item.node_available_quantities) for item in response.items] == core.tolist()
