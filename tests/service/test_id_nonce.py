"""Record nonces (service/ids.py): drawn from the OS many at a time, never 0, never handed out twice."""

from __future__ import annotations

import os

from dompromise.reservations.book import NONCE_MAX
from dompromise.service import ids


def test_nonces_are_never_0_and_do_not_repeat_across_draws():
    drawn = [ids.id_nonce() for _ in range(ids.NONCE_DRAW_COUNT * 50)]
    assert all(0 < nonce <= NONCE_MAX for nonce in drawn)
    assert len(set(drawn)) == len(drawn)
    assert max(drawn) > NONCE_MAX // 2  # all 64 bits used (false once in 2**3200)


def test_a_forked_process_does_not_hand_out_the_nonces_its_parent_drew():
    ids.id_nonce()  # the parent holds drawn, unused nonces now
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its first nonce, to the parent
        os.write(writing, ids.id_nonce().to_bytes(8, "little"))
        os._exit(0)
    os.close(writing)
    childs = int.from_bytes(os.read(reading, 8), "little")
    os.close(reading)
    os.waitpid(child, 0)
    assert childs != ids.id_nonce()  # the parent's next one: the child would have taken it without drawing anew
