"""QR codes for bookings: an SVG the counter's scanner reads (the code, or a URL carrying it)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def qr_svg(text: str) -> str:
    """An SVG (path-based, no inline style, safe under the strict CSP) encoding `text`."""
    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=10,
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def booking_qr_svg(booking, *, url: str = "") -> str:
    """The booking's QR code: `url` when given (an absolute link to the booking, which staff's
    check-in accepts as well as the code), else the bare code."""
    return qr_svg(url or booking.code)
