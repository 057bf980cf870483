"""What every stage shares: typed records, the sensor catalog, time helpers and configuration."""
