"""The electronic card as a QR code image, drawn on the server (segno, SVG)."""

from __future__ import annotations

import io

import segno


def qr_svg(payload: str, *, title: str) -> str:
    """An inline SVG a POS scanner reads from the phone's screen."""
    out = io.BytesIO()
    segno.make(payload, error="m").save(
        out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, title=title, svgclass="qr"
    )
    return out.getvalue().decode()
