"""The Matrix event model: pure functions over events.

Room versions, identifiers, canonical JSON, hashes, signatures, redaction,
the PDU format, power levels and the authorization rules. Nothing here
awaits, reads storage, the clock, configuration or the network: callers
fetch facts and this package decides (ARCHITECTURE.md, "events/").
"""
