"""Accounts, for admins: list, add, remove, change role or password, API tokens (each shown
once), and ending an account's logins."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from village_brain.api.auth import ADMIN, gate
from village_brain.auth.accounts import NAME_PATTERN, Account, AccountError, AccountStore
from village_brain.auth.roles import Role
from village_brain.core.timefmt import format_ms, now_ms

router = APIRouter(prefix="/api/v1/users", tags=["users"], dependencies=[ADMIN])


class UserIn(BaseModel):
    name: str = Field(pattern=f"^{NAME_PATTERN}$")
    role: Role
    password: str = Field(min_length=8, max_length=1024)


class UserOut(BaseModel):
    name: str
    role: Role
    created: str
    tokens: int = Field(0, description="API tokens the account holds.")


class RoleIn(BaseModel):
    role: Role


class PasswordIn(BaseModel):
    password: str = Field(min_length=8, max_length=1024)


class TokenOut(BaseModel):
    name: str
    token: str = Field(description="Send as `Authorization: Bearer ...`; shown this once only.")


def accounts(request: Request) -> AccountStore:
    store = gate(request).accounts
    if store is None:
        raise HTTPException(404, "accounts are not kept by this server")
    return store


@router.get("", response_model=list[UserOut], summary="Every account")
def list_users(request: Request) -> list[UserOut]:
    store = accounts(request)
    counts = store.token_counts()
    return [_out(a, counts.get(a.name, 0)) for a in store.accounts()]


@router.post("", response_model=UserOut, status_code=201, summary="Add an account")
def add_user(request: Request, body: UserIn) -> UserOut:
    store = accounts(request)
    try:
        store.add(body.name, body.role, body.password, now_ms(), made_by="api")
    except AccountError as exc:
        raise HTTPException(409, str(exc)) from None
    account = store.account(body.name)
    assert account is not None
    return _out(account, 0)


@router.delete("/{name}", status_code=204, summary="Remove an account, its tokens and logins")
def remove_user(request: Request, name: str) -> Response:
    store = accounts(request)
    account = store.account(name)
    if account is None:
        raise HTTPException(404, f"no account {name!r}")
    admins = [a for a in store.accounts() if a.role == Role.ADMIN]
    if admins == [account]:
        raise HTTPException(409, "this is the last admin; add another before removing it")
    store.remove(name)
    return Response(status_code=204)


@router.post("/{name}/tokens", response_model=TokenOut, status_code=201, summary="New API token")
def add_token(request: Request, name: str) -> TokenOut:
    try:
        return TokenOut(name=name, token=accounts(request).add_token(name, now_ms()))
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from None


@router.delete("/{name}/tokens", status_code=204, summary="Revoke every API token of an account")
def revoke_tokens(request: Request, name: str) -> Response:
    store = accounts(request)
    if store.account(name) is None:
        raise HTTPException(404, f"no account {name!r}")
    store.revoke_tokens(name)
    return Response(status_code=204)


@router.put("/{name}/role", response_model=UserOut, summary="Change an account's role")
def change_role(request: Request, name: str, body: RoleIn) -> UserOut:
    store = accounts(request)
    account = _existing(store, name)
    admins = [a for a in store.accounts() if a.role == Role.ADMIN]
    if body.role != Role.ADMIN and admins == [account]:
        raise HTTPException(409, "this is the last admin; make another admin first")
    store.set_role(name, body.role)
    changed = store.account(name)
    assert changed is not None
    return _out(changed, store.token_counts().get(name, 0))


@router.put(
    "/{name}/password", status_code=204, summary="Set a new password; ends the account's logins"
)
def reset_password(request: Request, name: str, body: PasswordIn) -> Response:
    store = accounts(request)
    _existing(store, name)
    try:
        store.set_password(name, body.password)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    return Response(status_code=204)


@router.delete("/{name}/sessions", status_code=204, summary="End every dashboard login of it")
def close_sessions(request: Request, name: str) -> Response:
    store = accounts(request)
    _existing(store, name)
    store.close_sessions(name)
    return Response(status_code=204)


def _existing(store: AccountStore, name: str) -> Account:
    account = store.account(name)
    if account is None:
        raise HTTPException(404, f"no account {name!r}")
    return account


def _out(account: Account, tokens: int) -> UserOut:
    return UserOut(
        name=account.name, role=account.role, created=format_ms(account.created_ms), tokens=tokens
    )
