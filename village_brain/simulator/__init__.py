"""A believable simulated village publishing to an MQTT broker, for demos and load."""

from village_brain.simulator.layout import SimDevice, village_layout
from village_brain.simulator.runner import Simulator

__all__ = ["SimDevice", "Simulator", "village_layout"]
