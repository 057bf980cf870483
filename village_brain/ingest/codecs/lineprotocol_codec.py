"""Line protocol as a telemetry format, for bodies whose sender already names the device
(an HTTP post to a device's telemetry, or an MQTT 5 message with the content type
CONTENT_TYPE): each field is a sensor type and its value, the measurement and tags are free,
and a line's time is in nanoseconds, as InfluxDB's write API and Telegraf write it.

Never sniffed: a body of text could be anything, so only the content type selects it. Plain
`text/plain` is not taken: MQTT tools send JSON under it. HTTP maps it here (PROTOCOL §13).
"""

from __future__ import annotations

from village_brain.core.records import Decoded, PayloadError, RawReading
from village_brain.ingest.codecs.lineprotocol import parse_lines, time_ms

CONTENT_TYPE = "text/x-influxdb-line-protocol"


class LineProtocolCodec:
    name = "lineprotocol"
    content_types = (CONTENT_TYPE,)

    def sniffs(self, payload: bytes) -> bool:
        return False

    def decode(self, payload: bytes, received_ms: int) -> Decoded:
        points, problems = parse_lines(payload)
        if not points and not problems:
            raise PayloadError("bad_payload", "the body holds no line protocol lines")
        readings = [
            RawReading(
                sensor=field,
                value=value,
                ts_ms=None if point.time is None else time_ms(point.time, "ns"),
            )
            for point in points
            for field, value in point.fields.items()
        ]
        return Decoded(readings=readings, problems=problems)
