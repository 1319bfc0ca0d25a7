"""The outbound archive: every message delivered to a participant, kept with the hub's re-signature."""
