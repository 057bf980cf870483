"""Villagers' reports (村情通) and the duty staff's work queue, beside the sensors' alerts."""
