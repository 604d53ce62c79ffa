"""Reading an uploaded file without trusting its size: the one place every module reads uploads."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from dothi.core.errors import InvalidInput


def read_limited(content: Any, *, limit: int, field: str, too_big: InvalidInput) -> bytes:
    """The bytes of an upload (a Django UploadedFile, any file object, or bytes), refusing anything
    larger than `limit` without reading more than limit + 1 bytes, and refusing an empty file."""
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
    elif hasattr(content, "read"):
        size = getattr(content, "size", None)
        if isinstance(size, int) and size > limit:
            raise too_big
        if hasattr(content, "seek"):
            content.seek(0)
        data = content.read(limit + 1)
    else:
        raise InvalidInput(_("The file could not be read."), field=field, code="file_invalid")
    if len(data) > limit:
        raise too_big
    if not data:
        raise InvalidInput(_("The file is empty."), field=field, code="file_invalid")
    return data
