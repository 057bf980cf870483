"""Helpers shared by the test suite: brokers to test against and MQTT clients to drive them."""
