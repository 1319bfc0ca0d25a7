"""Flow control: keep each participant's queues from overflowing without ever refusing or losing a message.

- ``watermarks``: the low / warn / high watermarks of one queue and the status they define
  (Operational, Warned, Stopped, with hysteresis back to Operational only below Low).
- ``state``: the pure state machine of one (participant, business function). Transitions (``arrive``,
  ``remove``, ``set_manual_stop``, ``set_watermarks``) return the new state and the effects to carry out
  (queue a message now, hold it as ``delivery_pending``, record a status or manual-stop change).
- ``limits``: per-minute rate limits, daily per-sender quotas and the two-a-day manual switch, counted in SQLite
  so that restarts and several server processes share them.

A leaf package: it imports the standard library, msgspec and aiosqlite only; the exchange wires it in.
"""
