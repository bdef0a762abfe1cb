"""The AMI listener: exact call records, agent states and screen-pops from Asterisk's AMI.

Layers, each replaceable and testable on its own:
`parser` (bytes → messages) → `calls` / `agents` (pure state machines) →
`store` (batched DB upserts) and `live` (Redis state, pops, counters) →
`link` (the supervised AMI connection on panoramisk) → `service` (glue, resync,
queue_log reconciliation, panel commands) → `cli` (`centralita listener`).
"""
