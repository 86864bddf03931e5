"""QR codes as SVG, drawn on the server with the ``qrcode`` library (no network, no image
library): a phone's camera opens a link the care team shows on screen."""

from __future__ import annotations

import io

import qrcode
from qrcode.image.svg import SvgPathImage

# Modules of quiet zone around the code: four is the standard's minimum for reliable scans.
QUIET_ZONE_MODULES = 4


def qr_svg(text: str) -> str:
    """An SVG document of the QR code for ``text``, scaled by its viewBox."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=QUIET_ZONE_MODULES,
        image_factory=SvgPathImage,
    )
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue().decode()
