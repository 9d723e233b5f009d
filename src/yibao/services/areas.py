"""One database per planning area, the legal boundary of a fund: where each request runs.

The router maps an area code to the units of work of that area's database; a request is sent by
the area it concerns (the person's insured area, the institution's area, the area in the path).
Nothing joins two areas' databases: money between areas moves through inter-area accounts
(`services.settlement.across_areas`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import Select, select

from yibao.adapters.tables import Area, Card, Employer, Institution, Person
from yibao.domain.errors import InvalidInput, NotFound, UnknownInstitution, UnknownPerson
from yibao.domain.idnumber import IdNumber
from yibao.services.uow import UnitOfWork


class AreaDatabases:
    """Each planning area's units of work (YIBAO_AREA_DATABASES)."""

    def __init__(self, factories: Mapping[str, Callable[[], UnitOfWork]]) -> None:
        if not factories:
            raise InvalidInput("YIBAO_AREA_DATABASES", {}, "names no area")
        self._factories = dict(factories)
        # An institution is designated in one area for good: its area, once found, is kept.
        self._institution_areas: dict[str, str] = {}
        self._names: dict[str, str] = {}  # each area's name, once its database records it

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(sorted(self._factories))

    def uow(self, area_code: str) -> UnitOfWork:
        """A unit of work on the area's own database."""
        factory = self._factories.get(area_code)
        if factory is None:
            raise InvalidInput(
                "area", area_code, f"has no database here (areas: {', '.join(self.areas)})"
            )
        return factory()

    def factory(self, area_code: str) -> Callable[[], UnitOfWork]:
        """What a service that opens its own units of work is given for the area."""
        self.uow(area_code)  # an unknown area is refused now, not at the first transaction
        return self._factories[area_code]

    def names(self) -> dict[str, str]:
        """Each area's name, as its own database records it (its code until its policy is
        loaded); a name found is kept, so a login page asks no database once all are."""
        for area_code in self.areas:
            if area_code not in self._names:
                with self.uow(area_code) as uow:
                    name = uow.session.scalar(select(Area.name).where(Area.code == area_code))
                if name is not None:
                    self._names[area_code] = name
        return {area_code: self._names.get(area_code, area_code) for area_code in self.areas}

    def area_of_institution(self, institution_code: str) -> str:
        """The area whose database designates the institution (a POS knows only its code);
        asked of the databases once per institution and process."""
        found = self._institution_areas.get(institution_code)
        if found is not None:
            return found
        query = select(Institution.area_code).where(Institution.code == institution_code)
        found = self._first_answer(query)
        if found is None:
            raise UnknownInstitution(f"no designated institution with code {institution_code!r}")
        self._institution_areas[institution_code] = found
        return found

    def area_of_employer(self, employer_code: str) -> str:
        """The area whose database registers the employer."""
        found = self._first_answer(select(Employer.area_code).where(Employer.code == employer_code))
        if found is not None:
            return found
        raise NotFound(f"no employer with code {employer_code!r} in any area")

    def area_of_person(self, id_number: str) -> str:
        """The person's insured area: the database whose register holds them as its own.

        Looked up in each area's register (an indexed read per area, a few dozen at most in a
        province) rather than in a directory, which every registration and transfer would have
        to keep in step across databases. The ID number's own region code is where the person
        was registered at birth, not where they are insured, so it cannot route.
        """
        number = IdNumber.parse(id_number)
        query = select(Person.area_code).where(Person.id_number == number.value)
        for area_code in self.areas:
            with self.uow(area_code) as uow:
                found = uow.session.scalar(query)
            if found == area_code:
                return area_code
        raise UnknownPerson(f"no insured person with ID number {number.masked} in any area")

    def area_of_card(self, card_no: str, *, first: str | None = None) -> str | None:
        """The area whose database issued the card; None if none did (the sale names it).
        `first`: the area to ask first (where the card is presented: most cards are local)."""
        query = select(Person.area_code).join(Card, Card.person_id == Person.id)
        return self._first_answer(query.where(Card.card_no == card_no), first=first)

    def _first_answer(self, query: Select[str], *, first: str | None = None) -> str | None:
        """The area code `query` finds in the first area database that finds one, asking the
        area `first` before the others."""
        others = tuple(area for area in self.areas if area != first)
        for area_code in (first, *others) if first in self._factories else others:
            with self.uow(area_code) as uow:
                found = uow.session.scalar(query)
            if found is not None:
                return str(found)
        return None
