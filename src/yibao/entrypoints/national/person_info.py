"""1101: the person's base information, insurance and account balance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yibao.entrypoints.national.context import Context, Output
from yibao.entrypoints.national.envelope import pin_of, section, text
from yibao.entrypoints.national.outputs import baseinfo, insuinfo
from yibao.services.audit import record
from yibao.services.national import across_areas, people


def certificate(data: Mapping[str, Any]) -> people.Certificate:
    return people.Certificate(
        text(data, "mdtrt_cert_type"), text(data, "mdtrt_cert_no"), pin_of(data)
    )


def person_info(ctx: Context, data: Mapping[str, Any]) -> Output:
    cert = certificate(section(data, "data"))
    if ctx.insured_area is None:
        person_id = people.identify(
            uow_factory=ctx.app.uow, cert=cert, on=ctx.today, now=ctx.now, keys=ctx.keys
        )
        with ctx.app.uow() as uow:  # the read and its audit entry together
            person = people.insured(uow=uow, person_id=person_id, on=ctx.today)
            record(uow=uow, event=ctx.event("1101", person.id_number, "person_info"))
    else:  # read in the person's area's database: the entry kept in both areas' trails, the
        # institution's and that of the agency that holds the person's data
        person = across_areas.person(
            areas=ctx.areas, insured_area=ctx.insured_area, cert=cert, on=ctx.today,
            now=ctx.now, keys=ctx.keys,
        )  # fmt: skip
        event = ctx.event("1101", person.id_number, "person_info")
        for uow_factory in (ctx.areas.factory(ctx.insured_area), ctx.app.uow):
            with uow_factory() as uow:
                record(uow=uow, event=event)
    return {
        "baseinfo": baseinfo(person, ctx.today),
        "insuinfo": insuinfo(person),
        "idetinfo": [],
    }
