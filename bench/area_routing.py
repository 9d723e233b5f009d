"""What the area router costs: finding a person's insured area across the area databases.

    YIBAO_ENV=development PYTHONPATH=src .venv/bin/python bench/area_routing.py \\
        --db postgresql://postgres@127.0.0.1:5432/test --areas 2 --persons 2000 --lookups 5000

Makes one PostgreSQL database per area (named `<prefix>_<area>`, dropped afterwards), registers
`--persons` persons in each, then times `AreaDatabases.area_of_person` (one indexed read per area
tried, in the areas' order, until the person's own) against the reference: the same persons read
once each in their own area's database (`registry.person_by_id_number`), as a request pays with
one database. Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time

from sqlalchemy import insert, make_url

from yibao.adapters.db import make_engine, upgrade
from yibao.adapters.tables import Area, Person
from yibao.bootstrap import App
from yibao.domain.idnumber import make_id_number
from yibao.services.areas import AreaDatabases
from yibao.services.registry import person_by_id_number


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _area_codes(count: int) -> list[str]:
    return [f"{110000 + 10000 * i:06d}" for i in range(count)]


def _populate(app: App, area: str, persons: int) -> list[str]:
    numbers = [
        make_id_number(area[:4] + "01", dt.date(1960, 1, 1) + dt.timedelta(days=i), i % 1000)
        for i in range(persons)
    ]
    with app.uow() as uow:
        uow.session.execute(insert(Area), [{"code": area, "name": f"Area {area}"}])
        uow.session.execute(
            insert(Person),
            [
                {
                    "id_number": number,
                    "name": "Bench",
                    "area_code": area,
                    "birth_date": dt.date(1960, 1, 1) + dt.timedelta(days=i),
                    "sex": "M" if (i % 1000) % 2 else "F",  # the sequence's parity
                }
                for i, number in enumerate(numbers)
            ],
        )
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL URL (its server hosts them)")
    parser.add_argument("--areas", type=int, default=2)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--lookups", type=int, default=5000)
    parser.add_argument("--prefix", default="areas_bench")
    args = parser.parse_args()
    if not args.prefix.replace("_", "").isalnum():
        raise SystemExit(f"not a plain database name prefix: {args.prefix!r}")
    admin = make_engine(args.db, pool_size=1, max_overflow=0, isolation_level="AUTOCOMMIT")
    codes = _area_codes(args.areas)
    names = {code: f"{args.prefix}_{code}" for code in codes}
    apps: dict[str, App] = {}
    try:
        with admin.connect() as connection:
            for name in names.values():
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        people: list[tuple[str, str]] = []
        for code, name in names.items():
            url = make_url(args.db).set(database=name).render_as_string(hide_password=False)
            engine = make_engine(url, pool_size=2)
            upgrade(engine)
            apps[code] = App(engine)
            people += [(code, n) for n in _populate(apps[code], code, args.persons)]
            log(f"area {code}: {args.persons} persons in database {name}")
        areas = AreaDatabases({code: app.uow for code, app in apps.items()})
        sample = [random.Random(7).choice(people) for _ in range(args.lookups)]
        started = time.perf_counter()
        for area, number in sample:
            with apps[area].uow() as uow:
                person_by_id_number(uow=uow, id_number=number)
        reference = time.perf_counter() - started
        started = time.perf_counter()
        for area, number in sample:
            assert areas.area_of_person(number) == area
        routed = time.perf_counter() - started
    finally:
        for app in apps.values():
            app.engine.dispose()
        with admin.connect() as connection:
            for name in names.values():
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    print(
        json.dumps(
            {
                "bench": "area_routing",
                "areas": args.areas,
                "persons_per_area": args.persons,
                "lookups": args.lookups,
                "routed_per_s": round(args.lookups / routed, 1),
                "routed_ms_each": round(1000 * routed / args.lookups, 3),
                "reference_one_database_per_s": round(args.lookups / reference, 1),
                "reference_ms_each": round(1000 * reference / args.lookups, 3),
                "ratio": round(routed / reference, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
