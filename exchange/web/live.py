"""`/app/events`: the signed-in participant's notifications, for the screens to update themselves."""

from __future__ import annotations

from typing import Any

from litestar import WebSocket, websocket

from exchange.http.routes.events import stream_events
from exchange.services.event_feed import EventFeed
from exchange.web.session import ForeignOriginError, Sessions, check_same_origin

ENTITY = "EVENT_NOTIFY"


def live_handler(feed: EventFeed, sessions: Sessions) -> Any:
    @websocket("/events")
    async def events(socket: WebSocket[Any, Any, Any], since: str | None = None) -> None:
        """The frames of `/idx/v1/events`, authenticated by the session cookie instead of a bearer token."""
        await socket.accept()
        try:
            check_same_origin(socket)
        except ForeignOriginError:
            await socket.close(code=4403, reason="another site opened this socket")
            return
        session = sessions.find(socket)
        if session is None:
            await socket.close(code=4401, reason="sign in first")
            return
        if not session.holds(ENTITY):
            await socket.close(code=4403, reason=f"your access does not include {ENTITY}")
            return
        await stream_events(socket, feed, session.participant_id, since)

    return events
