"""Topic prefixes of families whose devices each publish under their own prefix.

ESPHome nodes and Shelly devices put every topic under a prefix that defaults to the device's
name but may be changed to several levels (`xiashan/esphome/pump-1`). A source lists the
prefixes it reads as patterns in which `+` stands for any one level. A device's foreign id is
its prefix from the first `+` on: the literal levels before it are the same for every device
the pattern matches, so `xiashan/esphome/+` names its devices `pump-1`, `well-2`. A pattern
without `+` is one device, named by the whole prefix.
"""

from __future__ import annotations


class PrefixPatterns:
    def __init__(self, patterns: list[str]) -> None:
        problem = patterns_problem(patterns)
        if problem:
            raise ValueError(problem)
        self._patterns = [p.split("/") for p in patterns]
        self._texts = list(patterns)

    def filters(self, suffix: str) -> list[str]:
        """The subscription filters for `suffix` under every pattern."""
        return [f"{pattern}/{suffix}" for pattern in self._texts]

    def device(self, prefix: str) -> str | None:
        """The foreign id of the device publishing under `prefix`, or None if no pattern fits."""
        levels = prefix.split("/")
        for pattern in self._patterns:
            if len(pattern) == len(levels) and all(
                want in ("+", got) for want, got in zip(pattern, levels, strict=True)
            ):
                if not all(levels):
                    return None
                return "/".join(levels[_first_wildcard(pattern) :])
        return None


def patterns_problem(patterns: list[str]) -> str | None:
    """Why these prefix patterns cannot be used, in words that say what to fix."""
    if not patterns:
        return "prefixes is empty: list at least one topic prefix, or '+' for every device"
    for pattern in patterns:
        levels = pattern.split("/")
        if not all(levels):
            return f"prefix {pattern!r} has an empty level: remove the extra '/'"
        if "#" in pattern:
            return f"prefix {pattern!r} has '#': use '+' for each level that varies"
        if any("+" in level and level != "+" for level in levels):
            return f"prefix {pattern!r} has '+' inside a level: '+' must be a whole level"
    named = [_id_part(p) for p in patterns]
    for i, part in enumerate(named):
        if part in named[:i]:
            return (
                f"prefixes {patterns[named.index(part)]!r} and {patterns[i]!r} would give their "
                "devices the same ids: read them with two sources, each with its own id_prefix"
            )
    return None


def _first_wildcard(levels: list[str]) -> int:
    return levels.index("+") if "+" in levels else 0


def _id_part(pattern: str) -> str:
    levels = pattern.split("/")
    return "/".join(levels[_first_wildcard(levels) :])
