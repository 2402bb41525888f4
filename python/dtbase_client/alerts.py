"""Alert rules, channels and alerts (``/alert/...``): ``client.alerts``.

    alerts = client.alerts
    alerts.insert_channel("ops", "webhook", url="https://example.org/hook", secret="s3cret")
    alerts.insert_rule("too warm", {"sensor": "R1"}, "temperature",
                       {"kind": "threshold", "op": "above", "value": 28, "for_seconds": 600},
                       channels=["ops"])
    for a in alerts.list_alerts(state="firing"):
        alerts.acknowledge(a["id"], "opening the vents")

``verify_signature`` checks a webhook's ``X-DTBase-Signature`` header.
See docs/alerts.md for the conditions and the webhook body.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .client import Timestamp, format_time

if TYPE_CHECKING:
    from .client import Client

__all__ = ["Alerts", "verify_signature"]


def verify_signature(secret: bytes, body: bytes, header: str) -> bool:
    """Whether ``header`` is the signature of the raw webhook ``body``."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


def _drop_none(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class Alerts:
    """The ``/alert/`` endpoints, through a signed-in ``Client``."""

    def __init__(self, client: "Client") -> None:
        self._c = client

    # -- channels -----------------------------------------------------------

    def insert_channel(self, name: str, kind: str, **fields: Any) -> Dict[str, str]:
        """Add a channel: kind "webhook" (url, secret) or "email" (smtp_host,
        smtp_port, smtp_security, smtp_user, smtp_password, from, recipients)."""
        return self._c.post("/alert/insert-channel", dict(fields, name=name, kind=kind), 201)

    def list_channels(self) -> List[Dict[str, Any]]:
        return self._c.get("/alert/list-channels", 200)

    def delete_channel(self, name: str) -> Dict[str, str]:
        return self._c.post("/alert/delete-channel", {"name": name}, 200)

    def test_channel(self, name: str) -> Dict[str, str]:
        """Send a test notification through a channel now; raises with the
        server's reason when it cannot be delivered."""
        return self._c.post("/alert/test-channel", {"name": name}, 200)

    # -- rules --------------------------------------------------------------

    @staticmethod
    def _rule(name: str, target: Dict[str, Any], measure: str, condition: Dict[str, Any],
              severity: Optional[str], channels: Optional[List[str]], enabled: Optional[bool]) -> Dict[str, Any]:
        return _drop_none({"name": name, "target": target, "measure": measure, "condition": condition,
                           "severity": severity, "channels": channels, "enabled": enabled})

    def insert_rule(self, name: str, target: Dict[str, Any], measure: str, condition: Dict[str, Any],
                    severity: Optional[str] = None, channels: Optional[List[str]] = None,
                    enabled: Optional[bool] = None) -> Dict[str, str]:
        """Add a rule; target is {"sensor": uid}, {"sensor_type": name} or
        {"location_id": id}."""
        return self._c.post("/alert/insert-rule", self._rule(name, target, measure, condition, severity, channels, enabled), 201)

    def edit_rule(self, name: str, target: Dict[str, Any], measure: str, condition: Dict[str, Any],
                  severity: Optional[str] = None, channels: Optional[List[str]] = None,
                  enabled: Optional[bool] = None) -> Dict[str, str]:
        return self._c.post("/alert/edit-rule", self._rule(name, target, measure, condition, severity, channels, enabled), 200)

    def list_rules(self) -> List[Dict[str, Any]]:
        return self._c.get("/alert/list-rules", 200)

    def delete_rule(self, name: str) -> Dict[str, str]:
        return self._c.post("/alert/delete-rule", {"name": name}, 200)

    def silence_rule(self, name: str, minutes: float) -> Dict[str, str]:
        """Silence a rule's notifications for ``minutes`` (0 lifts it)."""
        return self._c.post("/alert/silence-rule", {"name": name, "minutes": minutes}, 200)

    def preview_rule(self, name: str, target: Dict[str, Any], measure: str, condition: Dict[str, Any],
                     days: float = 7) -> Dict[str, Any]:
        """How often the rule would have fired on the stored data of the last days."""
        rule = self._rule(name, target, measure, condition, None, None, None)
        return self._c.post("/alert/preview-rule", {"rule": rule, "days": days}, 200)

    # -- alerts -------------------------------------------------------------

    @staticmethod
    def _filter(rule: Optional[str], sensor: Optional[str], state: Optional[str],
                dt_from: Optional[Timestamp], dt_to: Optional[Timestamp], limit: Optional[int]) -> Dict[str, Any]:
        return _drop_none({"rule": rule, "sensor": sensor, "state": state, "dt_from": format_time(dt_from),
                           "dt_to": format_time(dt_to), "limit": limit})

    def list_alerts(self, rule: Optional[str] = None, sensor: Optional[str] = None, state: Optional[str] = None,
                    dt_from: Optional[Timestamp] = None, dt_to: Optional[Timestamp] = None,
                    limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Alerts, firing first, then newest first."""
        return self._c.post("/alert/list-alerts", self._filter(rule, sensor, state, dt_from, dt_to, limit), 200)

    def list_events(self, rule: Optional[str] = None, sensor: Optional[str] = None,
                    dt_from: Optional[Timestamp] = None, dt_to: Optional[Timestamp] = None,
                    limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Alert events (fired, acknowledged, resolved), newest first."""
        return self._c.post("/alert/list-events", self._filter(rule, sensor, None, dt_from, dt_to, limit), 200)

    def acknowledge(self, alert_id: int, note: Optional[str] = None) -> Dict[str, str]:
        return self._c.post("/alert/acknowledge", _drop_none({"alert_id": alert_id, "note": note}), 200)

    def list_deliveries(self, limit: int = 100) -> List[Dict[str, Any]]:
        """The newest notification attempts."""
        return self._c.post("/alert/list-deliveries", {"limit": limit}, 200)
