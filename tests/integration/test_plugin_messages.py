"""The accepted messages plugins read back (`PluginServices.accepted`): per recipient, newest first, only for the
resources a function lists, and the same rows after a replay or a rebuild from zero."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest

from exchange.domain.messages import Message
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.bpqd import BasicPowerQualityData
from exchange.functions.prud import Prudential
from exchange.functions.registry import Registry
from exchange.readmodels.plugin_aggregates import NotListedError, PluginMessages, plugin_messages_projections
from exchange.readmodels.rebuild import rebuild
from tests.integration.conftest import Following, make_message
from tests.integration.test_list_projections import dump, replayed

REGISTRY = Registry([Prudential(), BasicPowerQualityData()])


def message(context_id: str, bf: str, resource: str, recipients: list[str]) -> Message:
    return make_message(context_id, recipients, sender="OPERATOR", business_function_id=bf, resource_id=resource)


async def test_accepted_messages_are_listed_per_recipient_newest_first_for_listed_resources_only(
    committer: GroupCommit, views: aiosqlite.Connection, following: Following
) -> None:
    """Each recipient lists its own messages of a resource, newest first and paged by position; BPQD lists none."""
    handlers = plugin_messages_projections(REGISTRY)
    assert [handler.name for handler in handlers] == ["plugin_messages:prud"]
    projectors = await following.follow(*handlers)
    messages = PluginMessages(views, {h.function_id: p for h, p in zip(handlers, projectors, strict=True)})
    for saved in (
        message("d1", "prud", "daily", ["MP1"]),
        message("d2", "prud", "daily", ["MP2"]),
        message("c1", "prud", "credit", ["MP1"]),
        message("d3", "prud", "daily", ["MP1"]),
        message("b1", "pqd", "bpqd", ["MP1"]),
    ):
        await committer.save(saved)
    listed = await messages.accepted("prud", "daily", "MP1", before=None, limit=10)
    assert [m.message_context_id for m in listed] == ["d3", "d1"]
    older = await messages.accepted("prud", "daily", "MP1", before=listed[0].position, limit=10)
    assert [m.message_context_id for m in older] == ["d1"]
    assert [m.message_context_id for m in await messages.accepted("prud", "daily", "MP2", before=None, limit=10)] == [
        "d2"
    ]
    with pytest.raises(NotListedError):
        await messages.accepted("pqd", "bpqd", "MP1", before=None, limit=10)


async def test_plugin_messages_replayed_or_rebuilt_from_zero_keep_identical_rows(
    tmp_path: Path, committer: GroupCommit, ledger: Ledger, views: aiosqlite.Connection, following: Following
) -> None:
    projectors = await following.follow(*plugin_messages_projections(REGISTRY))
    await committer.save(message("d1", "prud", "daily", ["MP1"]))
    await committer.save(message("b1", "pqd", "bpqd", ["LNSP1"]))
    for projector in projectors:
        await projector.wait_for_latest()
    live = await dump(views, "plugin_messages")
    assert [(row[0], row[2], row[3]) for row in live] == [("prud", "MP1", "d1")]
    await following.stop()
    await replayed(ledger, views, *plugin_messages_projections(REGISTRY))
    assert await dump(views, "plugin_messages") == live
    await rebuild(tmp_path, "plugin_messages", REGISTRY)
    assert await dump(views, "plugin_messages") == live
