"""Control: commands to devices (lamps, valves, pumps, sirens), their lifecycle and schedules.

The public entry point is `ControlStage.send(request, by=...)`: the API, the schedules and
(later) alert rule actions all go through it. See docs/control.md and PROTOCOL.md §14.
"""
