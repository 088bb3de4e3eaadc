"""Notification texts, rendered from the Jinja2 templates under templates/notifications."""

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.models import Anomaly, User
from domain.rules.alerts import Channel
from domain.settings import PROJECT_ROOT, get_settings

_env = Environment(
    loader=FileSystemLoader(PROJECT_ROOT / "templates" / "notifications"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # plain-text messages
)

HEADLINES = {
    "ALERT": "{level} anomaly on {asset}: {title}",
    "ASSIGNED": "Assigned to you: {level} {title} on {asset}",
    "ESCALATED": "Escalated to you: {level} {title} on {asset}",
    "IN_PROGRESS": "In progress: {title} on {asset}",
    "VOICE_CALL": "Unacknowledged {level} anomaly on {asset}: {title}",
    "RESOLVED": "Resolved, waiting for your review: {title} on {asset}",
    "REJECTED": "Review rejected, more work needed: {title} on {asset}",
    "DELAYED": "Delayed: {title} on {asset} goes back to field work",
    "REX_REQUESTED": "Approved: write the REX for {title} on {asset}",
    "REX_REVIEW": "REX to review: {title} on {asset}",
    "REX_REVISION": "REX needs revision: {title} on {asset}",
    "CLOSED": "Closed: {title} on {asset}",
    "CRITICALITY_CHANGED": "Criticality now {level}: {title} on {asset}",
}


def render(
    event: str, channel: Channel, anomaly: Anomaly, user: User, context: dict[str, Any]
) -> tuple[str, str]:
    e = anomaly.enrichment or {}
    values = {
        "ref": anomaly.reference,
        "level": context.get("level") or anomaly.criticality or "",
        "asset": e.get("asset_number", ""),
        "title": anomaly.title,
    }
    headline = HEADLINES.get(event, event.title()).format(**values)
    subject = f"[{anomaly.reference}] {headline}"
    settings = get_settings()
    link = f"{settings.web_url}/anomalies/{anomaly.reference}"
    name = "email.txt" if channel is Channel.EMAIL else "short.txt"
    body = _env.get_template(name).render(
        headline=headline,
        anomaly=anomaly,
        enrichment=e,
        recipient=user,
        context=context,
        link=link,
        channel=channel.value,
        **values,
    )
    return subject, body.strip()


def digest_body(user: User, title: str, items: list, link_base: str) -> str:
    return (
        _env.get_template("digest.txt")
        .render(recipient=user, title=title, items=items, link_base=link_base)
        .strip()
    )
