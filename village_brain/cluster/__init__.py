"""Running several ingest workers on shared PostgreSQL state: partition leases and fencing."""
