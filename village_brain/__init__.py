"""Village Brain (乡村大脑): sensors → MQTT → ingest → store/alerts → API/dashboards."""

__version__ = "0.1.0"
