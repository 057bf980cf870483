"""Sources: devices that speak their own family's dialect (Tasmota, Zigbee2MQTT, LoRaWAN …).

See base.py for what an adapter hands the pipeline and registry.py for how one is added.
"""
