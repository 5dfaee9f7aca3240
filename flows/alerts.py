"""Alerts: a failing or suspicious source, or a scheduled run that did not happen.

Sent as JSON by POST to a webhook (``HUB_ALERT_WEBHOOK``) and/or through a
Prefect notification block (``HUB_ALERT_BLOCK``, the block's slug such as
``slack-webhook/ops``). With neither set, alerts are only logged. A failing
alert is logged and never fails the run it reports on.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Alert:
    # source-failed, source-suspicious, run-missed
    kind: str
    subject: str
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertSettings:
    webhook_url: str | None = None
    block: str | None = None

    @classmethod
    def from_env(cls) -> AlertSettings:
        return cls(
            webhook_url=os.getenv("HUB_ALERT_WEBHOOK") or None,
            block=os.getenv("HUB_ALERT_BLOCK") or None,
        )


def send_alerts(alerts: Sequence[Alert], settings: AlertSettings) -> int:
    """Deliver every alert; return how many reached at least one channel."""
    delivered = 0
    for alert in alerts:
        logger.warning("Alert %s: %s (%s)", alert.kind, alert.subject, alert.detail)
        reached = [
            ok
            for ok in (
                _post(alert, settings.webhook_url) if settings.webhook_url else None,
                _notify(alert, settings.block) if settings.block else None,
            )
            if ok is not None
        ]
        delivered += any(reached)
    return delivered


def _post(alert: Alert, url: str) -> bool:
    try:
        response = httpx.post(
            url, json=alert_payload(alert), timeout=WEBHOOK_TIMEOUT_SECONDS
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        logger.error("Alert webhook failed for %s: %s", alert.subject, exc)
        return False
    return True


def _notify(alert: Alert, block: str) -> bool:
    from prefect.blocks.core import Block

    try:
        notifier: Any = Block.load(block)
        notifier.notify(
            body=f"{alert.detail}\n{json.dumps(alert.facts, default=str)}",
            subject=alert.subject,
        )
    except Exception as exc:  # noqa: BLE001 - any block failure is only logged
        logger.error("Alert block %s failed for %s: %s", block, alert.subject, exc)
        return False
    return True


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {"service": "opportunity-hub", **asdict(alert)}
