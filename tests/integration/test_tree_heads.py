"""The exchange signs tree heads of its Merkle log while requests read the views."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_routing import _register_participants, _submit, running_exchange


async def test_a_tree_head_covers_the_leaves_committed_while_a_request_reads_the_views(tmp_path: Path) -> None:
    """A read left part-way on the request side's connection neither hides new leaves from the hub signing a tree
    head nor keeps it from storing the head ("database is locked")."""
    async with running_exchange(tmp_path / "data") as exchange:
        await exchange.deliverer.stop()  # the log's leaves are then the acceptances alone
        await _register_participants(exchange)
        await exchange.lists["participants"].wait_for_latest()
        await exchange.merkle_log.wait_for(await _submit(exchange, "ctx-1", ["LNSP1"]))
        # A request part-way through the rows it reads, while the Merkle log commits another leaf.
        reading = await exchange.views.execute("SELECT participant_id FROM participants")
        try:
            assert await reading.fetchone() is not None
            await exchange.merkle_log.wait_for(await _submit(exchange, "ctx-2", ["LNSP1"]))

            head = await exchange.verifiable_log.sign_tree_head()
        finally:
            await reading.close()

        assert head.tree_size == 2
        assert await exchange.verifiable_log.tree_head() == head
