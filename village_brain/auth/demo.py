"""The demo's operator account: a new password each start, and gone once the demo is over.

Anyone may look at the demo, but acknowledging takes a login there too, so the demo shows how
the real thing behaves; the account is removed by the next start without --demo, so a data
directory first used for a demo carries no printed password into real use.
"""

from __future__ import annotations

from village_brain.auth.accounts import AccountStore
from village_brain.auth.hashing import new_secret
from village_brain.auth.roles import Role

DEMO_ACCOUNT = "demo"
MADE_BY_DEMO = "demo"


def open_demo_account(store: AccountStore, now_ms: int) -> str | None:
    """The demo operator's new password; None when someone has an account of that name."""
    store.remove_made_by(MADE_BY_DEMO)
    if store.account(DEMO_ACCOUNT) is not None:
        return None
    password = new_secret("")[:16]
    store.add(DEMO_ACCOUNT, Role.OPERATOR, password, now_ms, made_by=MADE_BY_DEMO)
    return password


def forget_demo_accounts(store: AccountStore) -> None:
    store.remove_made_by(MADE_BY_DEMO)
