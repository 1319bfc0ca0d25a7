"""The transaction log: every transaction sent and received, as a projection of the event store."""
