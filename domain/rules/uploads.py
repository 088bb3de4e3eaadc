"""What an uploaded file must be, for every record that takes evidence."""

MAX_FILE_BYTES = 10 * 1024 * 1024


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
