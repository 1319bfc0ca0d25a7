"""Demo participants for `make run`: an MC, an MDP, two LNSPs, two generators and a TNSP, with client credentials.

Their entities come from the registered business functions: each participant holds the entity of every
function with a resource its roles send or receive, so a plugin added later is open to them on the next start.
"""

from __future__ import annotations

import contextlib
import json

from exchange.bootstrap import Exchange
from exchange.functions.registry import Registry
from exchange.kernel.errors import ConflictError
from exchange.kernel.files import write_private

READ_SIDE = ["TRANSLOG_TRANSLOG", "FCTRL_STATUS", "EVENT_NOTIFY", "TLS_CERTIFICATE_MANAGEMENT"]
# Recipients of messages also read their outbound archive and may stop their own queues.
RECIPIENT_SIDE = ["ARCH_RETRIEVE", "FCTRL_FCTRL"]
DEMO_PARTICIPANTS = [
    ("MC1", "Demo metering coordinator", ["MC"]),
    ("MDP1", "Demo meter data provider", ["MDP"]),
    ("LNSP1", "Demo network one", ["LNSP"]),
    ("LNSP2", "Demo network two", ["LNSP"]),
    ("GEN1", "Demo generator", ["GENERATOR"]),
    ("GEN2", "Demo generator two", ["GENERATOR"]),
    ("TNSP1", "Demo transmission network", ["TNSP"]),
]

# A generating unit of the demo generator, so that its recall plans and bids have a DUID to name.
DEMO_DUID, DEMO_STATION = "DEMOGEN1", "DEMOSTN"
# The second generator's, so that an SSM DUID roll of both splits into one message per owner.
DEMO_DUID2, DEMO_STATION2 = "DEMOGEN2", "DEMOSTN2"


def demo_scopes(registry: Registry, roles: list[str]) -> list[str]:
    """The entities of a demo participant of `roles`: its functions', then the core's it needs."""
    held = frozenset(roles)
    sends = [f.entity for f in registry if any(r.sender_roles & held for r in f.resources)]
    receives = [f.entity for f in registry.receiver_functions(held)]
    return list(dict.fromkeys([*sends, *receives, *(RECIPIENT_SIDE if receives else []), *READ_SIDE]))


async def ensure_demo_participants(exchange: Exchange) -> list[dict[str, object]]:
    """Create the demo participants once (credentials in demo-clients.json, 0600); grant their entities each start."""
    path = exchange.settings.data_dir / "demo-clients.json"
    roles_of = {participant_id: roles for participant_id, _, roles in DEMO_PARTICIPANTS}
    if path.exists():
        credentials: list[dict[str, object]] = json.loads(path.read_text())
        for entry in credentials:
            roles = roles_of.get(str(entry["participantId"]))
            if roles is not None:
                await exchange.admin.grant(str(entry["clientId"]), demo_scopes(exchange.registry, roles))
        return credentials
    credentials = []
    for participant_id, name, roles in DEMO_PARTICIPANTS:
        if not set(roles) <= exchange.admin.roles:
            continue  # no registered business function uses this role
        with contextlib.suppress(ConflictError):  # registered by an earlier start that did not finish
            await exchange.admin.register_participant(participant_id, name, roles)
        client = await exchange.admin.add_client(participant_id, demo_scopes(exchange.registry, roles))
        credentials.append(
            {
                "participantId": participant_id,
                "roles": roles,
                "clientId": client.client_id,
                "clientSecret": client.client_secret,
            }
        )
    registered = {c["participantId"] for c in credentials}
    for owner, duid, station in (("GEN1", DEMO_DUID, DEMO_STATION), ("GEN2", DEMO_DUID2, DEMO_STATION2)):
        if owner in registered:
            with contextlib.suppress(ConflictError):
                await exchange.standing.register_unit(duid, owner, station, 500.0)
    write_private(path, json.dumps(credentials, indent=2) + "\n")
    return credentials
