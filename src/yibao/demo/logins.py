"""One demo login per role, scoped to records of the demo city (development only)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from yibao.adapters.tables import Card, Employer, Institution, Person
from yibao.demo.area import DEFAULT_AREA
from yibao.services import accounts
from yibao.services.accounts import Role, UnknownUser
from yibao.services.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class DemoLogin:
    name: str
    role: Role
    scope: str | None
    password: str


def demo_logins(*, uow: UnitOfWork, area_code: str = DEFAULT_AREA) -> list[DemoLogin]:
    """Create (or give a new password to) `demo-<role>` for every role; returns the logins."""
    scopes = {
        Role.CLERK: area_code,
        Role.EMPLOYER: _first(uow, select(Employer.code).order_by(Employer.id)),
        Role.INSTITUTION: _first(uow, select(Institution.code).order_by(Institution.id)),
        Role.PERSON: _first(
            uow,
            select(Person.id_number).join(Card, Card.person_id == Person.id).order_by(Card.id),
        )
        or _first(uow, select(Person.id_number).order_by(Person.id)),
    }
    logins = []
    for role in Role:
        scope = scopes.get(role)
        if role in scopes and scope is None:
            continue  # nothing in the city to scope it to
        login = DemoLogin(f"demo-{role}", role, scope, secrets.token_urlsafe(12))
        try:
            accounts.reset_password(uow=uow, name=login.name, password=login.password)
        except UnknownUser:
            accounts.add_user(
                uow=uow, name=login.name, role=role, password=login.password, scope=scope
            )
        logins.append(login)
    return logins


def _first(uow: UnitOfWork, query: object) -> str | None:
    found = uow.session.execute(query.limit(1)).scalar()  # type: ignore[attr-defined]
    return None if found is None else str(found)
