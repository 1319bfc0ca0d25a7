"""Administration against the registered business functions: their roles and entities, and grants that last."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange.domain.participants import Client
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock
from exchange.kernel.errors import InvalidError, NotFoundError
from exchange.readmodels.participants import ParticipantList, ParticipantsProjection
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import open_views
from exchange.services.access import CORE_ENTITIES, TokenIssuer
from exchange.services.participants import Administration
from flowcontrol.limits import LimitStore
from tests.e2e.plugins.notes import plugin as notes


@pytest.fixture
async def admin(ledger: Ledger, committer: GroupCommit) -> AsyncIterator[Administration]:
    views = await open_views(Path(":memory:"))
    projector = Projector(ledger, views, ParticipantsProjection())
    await projector.prepare()
    listed = ParticipantList(views, projector)
    limits_db = await open_views(Path(":memory:"))
    yield Administration(
        ledger, committer, TokenIssuer(b"k" * 32), Clock(), Registry([notes]), listed, LimitStore(limits_db)
    )
    await projector.stop()
    await views.close()
    await limits_db.close()


def test_roles_and_entities_are_the_cores_and_the_registered_functions(admin: Administration) -> None:
    assert admin.roles == {"OPERATOR", "AUTHOR", "READER"}
    assert admin.entities == ("NOTE_MEMO", *CORE_ENTITIES)


async def test_a_role_of_no_registered_function_is_refused(admin: Administration) -> None:
    await admin.register_participant("AUTHOR1", "An author", ["AUTHOR"])
    with pytest.raises(InvalidError) as refused:
        await admin.register_participant("MC1", "A metering coordinator", ["MC"])
    assert [e.field for e in refused.value.errors] == ["roles[0]"]


async def test_a_grant_adds_the_missing_entities_once(admin: Administration, ledger: Ledger) -> None:
    await admin.register_participant("AUTHOR1", "An author", ["AUTHOR"])
    issued = await admin.add_client("AUTHOR1", ["TRANSLOG_TRANSLOG"], client_id="author1")
    assert issued.scopes == ["TRANSLOG_TRANSLOG"]
    assert await admin.grant("author1", ["NOTE_MEMO", "TRANSLOG_TRANSLOG"]) == ["TRANSLOG_TRANSLOG", "NOTE_MEMO"]
    version = ledger.find(Client, Client.create_id("author1"))
    assert version is not None
    # Granting again what it holds records nothing: every start of the exchange grants.
    assert await admin.grant("author1", ["NOTE_MEMO"]) == ["TRANSLOG_TRANSLOG", "NOTE_MEMO"]
    again = ledger.find(Client, Client.create_id("author1"))
    assert again is not None and again.version == version.version
    token = await admin.token("author1", issued.client_secret, None)
    assert token.scopes == ["TRANSLOG_TRANSLOG", "NOTE_MEMO"]


async def test_a_grant_of_an_unknown_entity_or_client_is_refused(admin: Administration) -> None:
    with pytest.raises(InvalidError):
        await admin.grant("author1", ["PQD_BPQD"])
    with pytest.raises(NotFoundError):
        await admin.grant("nobody", ["NOTE_MEMO"])
