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
from yibao.demo.served import DEMO_MONTHS, DEMO_START, DemoCity, demo_pharmacy, load_demo_city
from yibao.demo.showcase import PIN as SHOWCASE_PIN
from yibao.demo.showcase import SHOWCASE, SHOWCASE_PERSONS, DemoPerson

__all__ = [
    "DEFAULT_AREA",
    "DEMO_MONTHS",
    "DEMO_START",
    "SHOWCASE",
    "SHOWCASE_PERSONS",
    "SHOWCASE_PIN",
    "CityOverview",
    "CitySummary",
    "DemoCity",
    "DemoPerson",
    "ExamplePerson",
    "PaymentTotals",
    "area_document",
    "city_overview",
    "city_span",
    "count_persons",
    "credit_history",
    "demo_pharmacy",
    "extend_city",
    "generate_city",
    "load_demo_city",
]
