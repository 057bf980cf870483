"""Where readings and the registry live: a time-series store behind a small interface."""
