"""What the routes' schemas share: strict request bodies, yuan strings, the day a request is for."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from yibao.entrypoints.api.problems import ERROR_RESPONSES

# Money crosses the API as yuan strings with at most two decimals ("12.30"), never as floats.
Yuan = Annotated[str, Field(examples=["12.30"], description="yuan, at most two decimals")]
IdNumberPath = Annotated[str, Field(description="18-character ID number (social security number)")]


class Body(BaseModel):
    """A request body: a field the schema does not name is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class OnDay(Body):
    on: dt.date | None = Field(None, description="the day it takes effect (default today)")


def router(tag: str) -> APIRouter:
    """A resource's router; every operation lists the problem answers it may give."""
    return APIRouter(tags=[tag], responses=dict(ERROR_RESPONSES))


def day_or_today(day: dt.date | None, today: dt.date) -> dt.date:
    return today if day is None else day


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored moment (UTC, kept without a zone) as RFC 3339 says it: with its zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)
