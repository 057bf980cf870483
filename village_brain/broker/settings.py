"""The recommended Mosquitto settings, read from the mosquitto.conf shipped beside this module.

That file is the single place the values live: operators copy it to their
broker, and the embedded broker renders its own config from it.
"""

from __future__ import annotations

from pathlib import Path

RECOMMENDED_CONFIG = Path(__file__).with_name("mosquitto.conf")

# Options that describe one machine rather than a policy; the embedded broker
# supplies its own values for these.
_MACHINE_SPECIFIC = frozenset(
    {"listener", "port", "bind_address", "persistence_location", "pid_file", "user"}
)

Setting = tuple[str, str]


def load_recommended_settings(path: Path = RECOMMENDED_CONFIG) -> list[Setting]:
    """Return the (option, value) pairs of a Mosquitto config file, in order.

    Repeated options such as log_type are kept, since Mosquitto accumulates them.
    """
    if not path.is_file():
        raise FileNotFoundError(
            f"recommended Mosquitto config {path} is missing from the installed package"
        )
    settings: list[Setting] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        option, *rest = line.split(None, 1)
        settings.append((option, rest[0].strip() if rest else ""))
    return settings


def render_embedded_config(
    settings: list[Setting], host: str, port: int, persistence_dir: Path, user: str
) -> str:
    """Mosquitto config text: the policy settings bound to this machine's address and paths.

    Ours takes the place of the first listener (any others are left out), so options that
    belong to a listener, such as `use_username_as_clientid`, stay under it.
    """
    listener = f"listener {port} {host}"
    lines: list[str] = []
    for option, value in settings:
        if option == "listener" and listener not in lines:
            lines.append(listener)
        elif option not in _MACHINE_SPECIFIC:
            lines.append(f"{option} {value}".rstrip())
    if listener not in lines:
        lines.append(listener)
    # Older Mosquitto releases append the file name without a separator.
    lines += [
        f"persistence_location {persistence_dir}/",
        # When started as root Mosquitto would switch to the 'mosquitto' user,
        # who cannot write to a data directory owned by us.
        f"user {user}",
    ]
    return "\n".join(lines) + "\n"


SECURED_HEADER = """\
# Written by `village-brain broker-files`; edits here are lost at the next run.
# The settings of deploy/mosquitto.conf (each explained there) with device logins on:
# no anonymous clients, the password file and ACL beside this file, and every
# client's id replaced by its user name, so that no device can take over another's
# session (and fire its Last Will) by connecting with that device's client id.
"""


def render_secured_config(settings: list[Setting], passwd: Path, acl: Path) -> str:
    """The recommended settings as a main config that admits only the users in `passwd`.

    `use_username_as_clientid` is a listener option in Mosquitto 2: it goes right under each
    listener, because before the first one it would open a default listener of its own.
    """
    if not any(option == "listener" for option, _ in settings):
        raise ValueError("the recommended settings name no listener")
    lines: list[str] = []
    for option, value in settings:
        if option in _LOGIN_OPTIONS:
            continue
        lines.append(f"{option} {value}".rstrip())
        if option == "listener":
            lines.append("use_username_as_clientid true")
    lines += [
        "",
        "# --- Device logins (docs/security.md) ---",
        "allow_anonymous false",
        f"password_file {passwd}",
        f"acl_file {acl}",
    ]
    return SECURED_HEADER + "\n".join(lines) + "\n"


_LOGIN_OPTIONS = frozenset(
    {"allow_anonymous", "password_file", "acl_file", "use_username_as_clientid"}
)


_DAY = 86_400
_EXPIRY_UNIT_SECONDS = {"h": 3600, "d": _DAY, "w": 7 * _DAY, "m": 30 * _DAY, "y": 365 * _DAY}


def setting(settings: list[Setting], option: str) -> str | None:
    """The last value given for `option`, as Mosquitto would use it."""
    values = [value for name, value in settings if name == option]
    return values[-1] if values else None


def client_expiration_seconds(settings: list[Setting]) -> int | None:
    """persistent_client_expiration (e.g. "14d") in seconds, or None when unset."""
    value = setting(settings, "persistent_client_expiration")
    if value is None:
        return None
    number, unit = value[:-1], value[-1:]
    if not number.isdigit() or unit not in _EXPIRY_UNIT_SECONDS:
        raise ValueError(f"persistent_client_expiration {value!r} is not like 14d")
    return int(number) * _EXPIRY_UNIT_SECONDS[unit]
