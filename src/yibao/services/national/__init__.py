"""The national institution interface's use cases: gateway credentials and nonces, sign-ins,
the first answer per msgid, person information, pharmacy and hospital visits settled through
`services.settlement`, reconciliation and reversal; with one database per area, a person of
another area's (`across_areas`)."""

from __future__ import annotations

from yibao.domain.errors import YibaoError


class NationalRefusal(YibaoError):
    """A message the protocol refuses (infcode -1) for a reason that is not a field's value."""

    code = "national_refused"
