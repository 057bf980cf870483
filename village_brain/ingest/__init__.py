"""Ingest: MQTT messages in, checked readings stored, every rejection counted and kept.

The stages, in order: `mqtt_client` (receive) → `topics` (address) → `codecs` (decode) →
`validate` (check against the catalog) → `pipeline` (one message to readings and rejections)
→ `writer` (batched commit, then acknowledge to the broker).
"""
