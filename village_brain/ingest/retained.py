"""Retained messages already refused: the broker's replays of them are not logged again.

A broker sends every retained message again at each subscription, so at each reconnection
and each start of ingest. A refused one would add the same rejection to the log every time,
and make its device look as if it had just sent it. Each refused retained message therefore
keeps a key (a hash of its topic and payload) with its rejections; a retained message whose
key is known is a repeat: counted (`rejected_repeats`), and otherwise ignored.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable

from village_brain.ingest.pipeline import InboundMessage

# Keys kept at most: 16-byte hashes, so about 1.5 MB of memory when full. Older keys come
# back from the rejection log at the next start, as long as the log keeps them.
KEPT_KEYS = 10_000


def retained_key(msg: InboundMessage) -> str:
    # A topic cannot hold U+0000 (MQTT §1.5.4), so the separator makes the key unambiguous.
    digest = hashlib.blake2b(msg.topic.encode("utf-8", "backslashreplace"), digest_size=16)
    digest.update(b"\0")
    digest.update(msg.payload)
    return digest.hexdigest()


class RetainedRefusals:
    """The keys of the refused retained messages seen most recently, at most `limit`."""

    def __init__(self, known: Iterable[str] = (), limit: int = KEPT_KEYS) -> None:
        self._limit = limit
        self._keys: OrderedDict[str, None] = OrderedDict()
        self.remember(reversed(list(known)))  # `known` comes newest first

    def __len__(self) -> int:
        return len(self._keys)

    def is_known(self, key: str) -> bool:
        if key not in self._keys:
            return False
        self._keys.move_to_end(key)  # junk that keeps coming back stays remembered
        return True

    def remember(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._keys[key] = None
            self._keys.move_to_end(key)
        while len(self._keys) > self._limit:
            self._keys.popitem(last=False)
