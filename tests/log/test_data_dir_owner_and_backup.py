"""One owner per data directory, and a backup taken while serving, over real processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from processes import Serving, dompromise
from test_storage_faults import CUSTOMER, held, reserve_all

from dompromise.v1 import reservation_pb2, reservation_pb2_grpc

SECOND_START_SECONDS_MAX = 20


def test_a_second_server_on_the_same_data_dir_is_refused_until_the_first_dies(tmp_path):
    data = str(tmp_path / "data")
    first = Serving("--data-dir", data)
    try:
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "dompromise", "serve", "--port", "0", "--data-dir", data],
            capture_output=True,
            text=True,
            timeout=SECOND_START_SECONDS_MAX,
        )
        assert second.returncode != 0
        assert f"data dir {data} is in use by pid {first.process.pid}" in second.stderr, second.stderr
        assert "serving on" not in second.stdout
        assert time.monotonic() - started < SECOND_START_SECONDS_MAX
        repair = dompromise("log", "repair", "--accept-loss", "--data-dir", data)
        assert repair.returncode != 0 and "in use by pid" in repair.stderr
        acknowledged = reserve_all(first.target, 5)
    finally:
        first.kill()  # SIGKILL: the kernel drops the lock with the process
    after = Serving("--data-dir", data)
    try:
        assert acknowledged <= held(after.target)
    finally:
        assert after.stop() == 0


def test_a_backup_taken_while_serving_restores_every_reservation_acknowledged_before_it(tmp_path):
    data, copy = str(tmp_path / "data"), str(tmp_path / "backup")
    server = Serving("--data-dir", data, "--snapshot-every", "150")
    stop = threading.Event()
    during: list[str] = []
    try:
        before = reserve_all(server.target, 300)

        def keep_writing() -> None:
            import grpc

            with grpc.insecure_channel(server.target) as channel:
                stub = reservation_pb2_grpc.ReservationServiceStub(channel)
                number = 0
                while not stop.is_set():
                    answer = stub.ReserveInventory(
                        reservation_pb2.ReserveInventoryRequest(
                            request_id=f"during-{number}",
                            customer_id=CUSTOMER,
                            ttl={"seconds": 3600},
                            lines=[reservation_pb2.ReservationLine(sku_id=_sku(), node_id="DC-NAT", quantity=1)],
                        ),
                        timeout=10,
                    )
                    during.append(answer.reservation.reservation_id)
                    number += 1

        writer = threading.Thread(target=keep_writing)
        writer.start()
        time.sleep(0.3)
        result = dompromise("backup", "--data-dir", data, copy)
        stop.set()
        writer.join(30)
        assert result.returncode == 0, result.stderr
        assert during, "no write went on during the backup"
    finally:
        stop.set()
        server.stop()
    verified = dompromise("log", "verify", copy)
    assert verified.returncode == 0, verified.stdout
    restored = Serving("--data-dir", copy)
    try:
        assert before <= held(restored.target)
    finally:
        assert restored.stop() == 0


def _sku() -> str:
    from dompromise.demo import network as demo

    return demo.demo_network().skus[0].sku_id
