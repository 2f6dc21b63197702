"""A photo decoded and encoded again with Pillow before it is kept, so that nothing but its
pixels survives: EXIF (GPS position, phone make and serial, time), XMP, comments and text
chunks are dropped. The EXIF orientation is applied to the pixels first (the tag that said
how to turn the picture goes with the rest); the colour profile is kept (it describes colours,
not a device). A PNG stays a PNG (lossless, its transparency kept), a JPEG a JPEG, a WebP a
WebP.

Pillow opens only the format the bytes were already checked to be, and the pixel count is
checked from the header before anything is decoded (a small file that inflates to gigabytes
is refused, not decoded); Pillow's own decompression-bomb guard stays on behind it. At most
:data:`DECODING_AT_ONCE` photos are decoded at once per process: one photo at the cap takes
about 150 MB while decoded.
"""

from __future__ import annotations

import io
import threading
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

JPEG_QUALITY = 90
WEBP_QUALITY = 90
DECODING_AT_ONCE = 2
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_decoding = threading.BoundedSemaphore(DECODING_AT_ONCE)


class ReencodeRefused(ValueError):
    """Bytes Pillow cannot turn into a clean photo; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 415) -> None:
        super().__init__(message)
        self.status = status


def reencode(data: bytes, content_type: str, max_pixels: int) -> tuple[bytes, int, int]:
    """(clean bytes of the same type, width, height) of an already sniffed photo."""
    pillow_format = PILLOW_FORMATS[content_type]
    with _decoding, warnings.catch_warnings():
        # Pillow warns (then refuses) above its own limit: a warning is a refusal here
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ReencodeRefused(f"{width}×{height} pixels; at most {max_pixels}", 413)
                image.load()
                return _encode(image, pillow_format, data)
        except ReencodeRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ReencodeRefused(f"too many pixels; at most {max_pixels}", 413) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ReencodeRefused(f"a damaged {pillow_format} image: it does not decode") from None


def _encode(image: Image.Image, pillow_format: str, data: bytes) -> tuple[bytes, int, int]:
    icc = image.info.get("icc_profile")
    transparency = image.info.get("transparency")
    upright = ImageOps.exif_transpose(image)  # a copy, turned as the EXIF orientation said
    upright.info = {}  # nothing of the original's metadata goes to the encoder
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if pillow_format == "JPEG":
        options |= {"quality": JPEG_QUALITY}
    elif pillow_format == "PNG":
        if transparency is not None:
            options["transparency"] = transparency
    else:  # WebP: a lossless one stays lossless
        lossless = data[12:16] == b"VP8L"
        options |= {"lossless": True} if lossless else {"quality": WEBP_QUALITY}
    out = io.BytesIO()
    upright.save(out, pillow_format, **options)
    return out.getvalue(), upright.width, upright.height
