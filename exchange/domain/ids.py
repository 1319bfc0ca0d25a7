"""Aggregate ids derived from natural keys, so that a lookup never needs an index."""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c9a52-3a44-4d8f-9a0e-1d4e1f6c2b77")


def participant_id(participant: str) -> UUID:
    return uuid5(NAMESPACE, f"participant:{participant}")


def client_id(client: str) -> UUID:
    return uuid5(NAMESPACE, f"client:{client}")


def certificate_id(serial_number: str) -> UUID:
    return uuid5(NAMESPACE, f"certificate:{serial_number}")


def message_id(message_context_id: str) -> UUID:
    return uuid5(NAMESPACE, f"message:{message_context_id}")


def delivery_id(message_context_id: str, recipient: str) -> UUID:
    return uuid5(NAMESPACE, f"delivery:{message_context_id}:{recipient}")


def pending_delivery_id(message_context_id: str, recipient: str) -> UUID:
    return uuid5(NAMESPACE, f"pending:{message_context_id}:{recipient}")
