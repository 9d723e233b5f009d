"""Rendering a page: the Jinja2 environment, the language, the session's user and CSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from yibao.domain.explain_words import next_step_zh
from yibao.domain.idnumber import mask
from yibao.domain.money import fen_to_yuan
from yibao.entrypoints.api.deps import Caller
from yibao.entrypoints.web import i18n
from yibao.entrypoints.web.session import csrf_token, home_of, secure

LANG_COOKIE = "yibao_lang"
YEAR_SECONDS = 365 * 24 * 3600

templates = Environment(
    loader=PackageLoader("yibao.entrypoints.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["mask"] = lambda number: mask(number) if number else ""
templates.filters["yuan"] = fen_to_yuan
templates.globals["next_step_zh"] = next_step_zh
templates.globals["words"] = i18n.WORDS


def language(request: Request) -> str:
    """Chinese first; `?lang=en` switches (and is remembered in a cookie)."""
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in i18n.LANGUAGES else i18n.DEFAULT


def page(
    request: Request,
    template: str,
    *,
    caller: Caller | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    user = caller.user if caller is not None else None
    html = templates.get_template(template).render(
        request=request,
        lang=lang,
        t=i18n.translator(lang),
        user=user,
        home=home_of(user.role) if user else "/login",
        csrf=csrf_token(caller) if caller is not None else context.pop("csrf", ""),
        other_lang="en" if lang == "zh" else "zh",
        lang_href=_switched(request, "en" if lang == "zh" else "zh"),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    remember_language(request, response)
    return response


def _switched(request: Request, lang: str) -> str:
    """This page in the other language, its other query parameters kept."""
    query = {key: value for key, value in request.query_params.items() if key != "lang"}
    return f"{request.url.path}?{urlencode({**query, 'lang': lang})}"


def remember_language(request: Request, response: Any) -> None:
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, asked, max_age=YEAR_SECONDS, samesite="lax", secure=secure(request)
        )
