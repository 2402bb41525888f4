"""The original DTBase's HTTP helpers (``dtbase.core.utils``), for scripts
that call them directly."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Tuple

import requests

from .client import DEFAULT_USER_EMAIL, Client, backend_url

__all__ = ["backend_call", "auth_backend_call", "login"]


def backend_call(
    request_type: str, end_point_path: str, payload: Any = None, headers: Optional[Dict[str, str]] = None
) -> requests.Response:
    """Call ``DT_BACKEND_URL + end_point_path`` with ``request_type`` ("get",
    "post", ...). A payload is sent as JSON with its content type."""
    headers = dict(headers or {})
    kwargs: Dict[str, Any] = {}
    if payload:
        headers["content-type"] = "application/json"
        kwargs["data"] = json.dumps(payload)
    return requests.request(request_type.upper(), f"{backend_url()}{end_point_path}", headers=headers, **kwargs)


def login(user_email: str = DEFAULT_USER_EMAIL, password: Optional[str] = None) -> Tuple[str, str]:
    """Log in and return ``(access_token, refresh_token)``. The password
    defaults to ``DT_DEFAULT_USER_PASS``."""
    if password is None:
        password = os.environ.get("DT_DEFAULT_USER_PASS")
    client = Client(backend_url(), email=user_email, password=password)
    pair = client.login()
    return pair["access_token"], pair["refresh_token"]


def auth_backend_call(
    request_type: str,
    end_point_path: str,
    payload: Any = None,
    headers: Optional[Dict[str, str]] = None,
    token: Optional[str] = None,
) -> requests.Response:
    """``backend_call`` with ``Authorization: Bearer <token>``; without a token
    it logs in as the default user first."""
    if token is None:
        token, _ = login()
    headers = dict(headers or {})
    headers["Authorization"] = f"Bearer {token}"
    return backend_call(request_type, end_point_path, payload, headers)
