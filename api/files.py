"""How a stored file goes back out. Only raster images a browser cannot run are shown
inline; anything else (HTML, SVG, PDF, ...) is a download that is never sniffed, so an
uploaded page cannot run script in the app's origin."""

from urllib.parse import quote

from fastapi.responses import Response

from domain.rules.uploads import safe_content_type, safe_filename

INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
# Even opened directly, a served file runs nothing and loads nothing.
FILE_POLICY = "default-src 'none'; img-src 'self'; sandbox"


def content_disposition(disposition: str, filename: str) -> str:
    name = safe_filename(filename)
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(content: bytes, filename: str, content_type: str) -> Response:
    media_type = safe_content_type(content_type)
    disposition = "inline" if media_type in INLINE_TYPES else "attachment"
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(disposition, filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": FILE_POLICY,
        },
    )
