"""A synthetic demo city: a realistic planning area to try yibao on, and to benchmark it."""

from yibao.demo.area import DEFAULT_AREA, area_document
from yibao.demo.city import (
    CitySummary,
    city_span,
    count_persons,
    extend_city,
    generate_city,
)
from yibao.demo.loading import PaymentTotals
from yibao.demo.overview import CityOverview, ExamplePerson, city_overview, credit_history

__all__ = [
    "DEFAULT_AREA",
    "CityOverview",
    "CitySummary",
    "ExamplePerson",
    "PaymentTotals",
    "area_document",
    "city_overview",
    "city_span",
    "count_persons",
    "credit_history",
    "extend_city",
    "generate_city",
]
