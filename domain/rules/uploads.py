"""What an uploaded file must be, for every record that takes evidence."""

import re
import unicodedata
from dataclasses import dataclass

MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass
class FileKey:
    """A file already stored under its SHA-256: only this travels, never the bytes."""

    sha256: str
    filename: str
    content_type: str
    size: int


def upload_refusal(size: int, content_type: str, label: str, expects: str | None) -> str | None:
    """Why the file is refused, or None. `expects` is "image", "video" or None (anything)."""
    if size == 0:
        return "the file is empty"
    if size > MAX_FILE_BYTES:
        return f"the file is over {MAX_FILE_BYTES // 1024 // 1024} MB"
    if expects == "image" and not content_type.startswith("image/"):
        return f"a {label} must be an image"
    if expects == "video" and not content_type.startswith("video/"):
        return f"a {label} must be a video file"
    return None


MAX_FILENAME = 200  # the column's size
MAX_CONTENT_TYPE = 100
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]|[\ud800-\udfff]')
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def safe_filename(name: str) -> str:
    """The name a file is stored under: no directory, no control or quoting characters
    (it goes into a Content-Disposition header), bounded, extension kept."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        base = base[: MAX_FILENAME - len(keep) - 1].rstrip(" .") + ("." + keep if keep else "")
    return base or "upload"


def safe_content_type(declared: str | None) -> str:
    """The media type stored with a file: the declared one when it is well formed."""
    value = (declared or "").split(";")[0].strip().lower()
    if len(value) <= MAX_CONTENT_TYPE and _MEDIA_TYPE.match(value):
        return value
    return "application/octet-stream"
