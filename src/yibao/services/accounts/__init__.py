"""API accounts: users with one role each, and the scope that role is limited to.

Roles (issue #11): `admin`; `clerk` of one area; `employer` (its own employees' declarations and
payments); `institution` (its own sales and statements, a person's data only with their card
and PIN or e-card); `person` (their own records); `auditor` (the audit log, the ledger check);
`bank` (the card's financial account, the card channels with the PIN); `hotline` (inquiry with
ID number and query password).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from yibao.adapters.tables import ApiUser
from yibao.domain.errors import InvalidInput, NotFound
from yibao.domain.idnumber import IdNumber
from yibao.services.accounts.passwords import hash_password
from yibao.services.registry import (
    employer_by_code,
    fields,
    institution_by_code,
    person_by_id_number,
    require_area,
)
from yibao.services.uow import UnitOfWork


class Role(StrEnum):
    ADMIN = "admin"
    CLERK = "clerk"
    EMPLOYER = "employer"
    INSTITUTION = "institution"
    PERSON = "person"
    AUDITOR = "auditor"
    BANK = "bank"
    HOTLINE = "hotline"


# what a role's scope names; roles missing here have none
SCOPE_OF_ROLE = {
    Role.CLERK: "area",
    Role.EMPLOYER: "employer",
    Role.INSTITUTION: "institution",
    Role.PERSON: "person",
}
MIN_PASSWORD_LENGTH = 10


class UnknownUser(NotFound):
    code = "unknown_user"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    scope: str | None  # the area, employer, institution code or ID number of the role
    disabled: bool = False


def public_user(row: ApiUser) -> User:
    return User(row.id, row.name, Role(row.role), row.scope, row.disabled_at is not None)


def now() -> dt.datetime:
    """UTC, without a zone: how the DateTime columns store it on both backends."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def add_user(
    *, uow: UnitOfWork, name: str, role: str, password: str, scope: str | None = None
) -> User:
    """A new login; the scope must name a recorded area, employer, institution or person."""
    name = fields.code(name, field="name", column=ApiUser.name)
    try:
        chosen = Role(role)
    except ValueError:
        raise InvalidInput("role", role, f"is not one of {', '.join(Role)}") from None
    scope = _checked_scope(uow, chosen, scope)
    if uow.session.scalars(select(ApiUser.id).where(ApiUser.name == name)).first() is not None:
        raise InvalidInput("name", name, "is taken by another user")
    row = ApiUser(
        name=name,
        role=str(chosen),
        scope=scope,
        password_hash=hash_password(check_password(password)),
        failed_logins=0,
    )
    uow.session.add(row)
    uow.session.flush()
    return public_user(row)


def _checked_scope(uow: UnitOfWork, role: Role, scope: str | None) -> str | None:
    kind = SCOPE_OF_ROLE.get(role)
    if kind is None:
        if scope is not None:
            raise InvalidInput("scope", scope, f"does not apply to the role {role}")
        return None
    if not scope:
        raise InvalidInput(kind, scope, f"is required for the role {role} (--{kind})")
    if kind == "area":
        return require_area(uow=uow, area_code=scope).code
    if kind == "employer":
        return employer_by_code(uow=uow, code=scope).code
    if kind == "institution":
        return institution_by_code(uow=uow, code=scope).code
    number = IdNumber.parse(scope, field="person")
    return person_by_id_number(uow=uow, id_number=number.value).id_number


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "password", "(hidden)", f"must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    return password


def users(*, uow: UnitOfWork) -> list[User]:
    rows = uow.session.scalars(select(ApiUser).order_by(ApiUser.name)).all()
    return [public_user(row) for row in rows]


def user_row(*, uow: UnitOfWork, name: str, lock: bool = False) -> ApiUser:
    query = select(ApiUser).where(ApiUser.name == name)
    row = uow.session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise UnknownUser(f"no user named {name!r}")
    return row


def user_by_name(*, uow: UnitOfWork, name: str) -> User:
    return public_user(user_row(uow=uow, name=name))


def disable_user(*, uow: UnitOfWork, name: str) -> User:
    """The user can no longer log in, and every token already issued stops working."""
    row = user_row(uow=uow, name=name, lock=True)
    if row.disabled_at is None:
        row.disabled_at = now()
    uow.session.flush()
    return public_user(row)


def reset_password(*, uow: UnitOfWork, name: str, password: str) -> User:
    """A new password; the user is enabled again and its login attempts are cleared."""
    row = user_row(uow=uow, name=name, lock=True)
    row.password_hash = hash_password(check_password(password))
    row.disabled_at = None
    row.failed_logins = 0
    row.last_failed_at = None
    uow.session.flush()
    return public_user(row)
