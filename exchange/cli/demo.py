"""Demo participants for `make run`: an MC, an MDP, two LNSPs and a generator, with client credentials."""

from __future__ import annotations

import contextlib
import json

from exchange.bootstrap import Exchange
from exchange.kernel.errors import ConflictError
from exchange.kernel.files import write_private

READ_SIDE = ["TRANSLOG_TRANSLOG", "FCTRL_STATUS", "EVENT_NOTIFY", "TLS_CERTIFICATE_MANAGEMENT"]
DEMO_PARTICIPANTS = [
    ("MC1", "Demo metering coordinator", ["MC"], ["PQD_BPQD", *READ_SIDE]),
    ("MDP1", "Demo meter data provider", ["MDP"], ["PQD_BPQD", *READ_SIDE]),
    ("LNSP1", "Demo network one", ["LNSP"], ["PQD_BPQD", "ARCH_RETRIEVE", "FCTRL_FCTRL", *READ_SIDE]),
    ("LNSP2", "Demo network two", ["LNSP"], ["PQD_BPQD", "ARCH_RETRIEVE", "FCTRL_FCTRL", *READ_SIDE]),
    ("GEN1", "Demo generator", ["GENERATOR"], ["GR_RECALL", "BID_ENERGY", *READ_SIDE]),
]

# A generating unit of the demo generator, so that its recall plans and bids have a DUID to name.
DEMO_DUID, DEMO_STATION = "DEMOGEN1", "DEMOSTN"


async def ensure_demo_participants(exchange: Exchange) -> list[dict[str, object]]:
    """Create the demo participants once; their credentials are kept in demo-clients.json (0600)."""
    path = exchange.settings.data_dir / "demo-clients.json"
    if path.exists():
        credentials: list[dict[str, object]] = json.loads(path.read_text())
        return credentials
    credentials = []
    for participant_id, name, roles, scopes in DEMO_PARTICIPANTS:
        with contextlib.suppress(ConflictError):  # registered by an earlier start that did not finish
            await exchange.admin.register_participant(participant_id, name, roles)
        client = await exchange.admin.add_client(participant_id, scopes)
        credentials.append(
            {
                "participantId": participant_id,
                "roles": roles,
                "clientId": client.client_id,
                "clientSecret": client.client_secret,
            }
        )
    with contextlib.suppress(ConflictError):
        await exchange.standing.register_unit(DEMO_DUID, "GEN1", DEMO_STATION, 500.0)
    write_private(path, json.dumps(credentials, indent=2) + "\n")
    return credentials
