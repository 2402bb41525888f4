"""Base classes for services: drop-in replacements for DTBase's
``dtbase.services.base`` (``BaseService``, ``BaseIngress``, ``BaseModel``).

An existing DTBase service runs unchanged after its import line changes from
``from dtbase.services.base import BaseIngress`` to
``from dtbase_client.services import BaseIngress``. The calling convention
is the original's: a subclass implements ``get_service_data(**kwargs)``
returning ``(endpoint, payload)`` pairs, and calling the service,
``service(dt_user_email=None, dt_user_password=None, **kwargs)``, logs in
(default ``default_user@localhost`` with ``DT_DEFAULT_USER_PASS``) and posts
each pair in order to ``DT_BACKEND_URL``, returning the list of
``requests.Response`` objects.

Unlike the original, the token is refreshed when it is about to expire, so a
long run does not fail after an hour, and an "exists already" 409 is logged
at INFO rather than WARNING, as it is the expected answer when a service
declares its sensors and measures on every run.
"""

from __future__ import annotations

import logging
import os
from typing import Any, List, Optional, Sequence, Tuple

import requests

from .client import DEFAULT_USER_EMAIL, Client, backend_url
from .exc import BackendCallError

__all__ = ["BaseService", "BaseIngress", "BaseModel", "BackendCallError"]

logger = logging.getLogger("dtbase_client.services")


def log_rest_response(response: requests.Response) -> None:
    """Log a response as the original does: INFO below 300, WARNING otherwise
    (INFO for an "exists already" 409)."""
    level = logging.INFO if response.status_code < 300 or _exists_already(response) else logging.WARNING
    logger.log(level, "Got response %s: %s", response.status_code, response.text)


def _exists_already(response: requests.Response) -> bool:
    if response.status_code != 409:
        return False
    text = response.text.lower()
    return "exists already" in text or "already exist" in text


class BaseService:
    """A service that collects (endpoint, payload) pairs and posts them."""

    def __init__(self) -> None:
        self.access_token: Optional[str] = None
        self.service_type: Optional[str] = None
        self.client: Optional[Client] = None

    def get_service_data(self, **kwargs: Any) -> Sequence[Tuple[str, Any]]:
        """Return the ``(endpoint, payload)`` pairs to post, in order."""
        raise NotImplementedError("Subclasses of BaseService must implement get_service_data.")

    def log_into_backend(self, dt_user_email: Optional[str] = None, dt_user_password: Optional[str] = None) -> str:
        """Log in and return the access token."""
        if dt_user_email is None:
            dt_user_email = DEFAULT_USER_EMAIL
        if dt_user_password is None:
            dt_user_password = os.environ.get("DT_DEFAULT_USER_PASS")
        if dt_user_password is None:
            raise ValueError("Must provide a password.")
        self.client = Client(backend_url(), email=dt_user_email, password=dt_user_password)
        self.client.login()  # a non-200 answer raises DTBaseError, a BackendCallError
        self.access_token = self.client.access_token
        return self.access_token or ""

    def post_service_data(
        self,
        service_data: Sequence[Tuple[str, Any]],
        dt_user_email: Optional[str] = None,
        dt_user_password: Optional[str] = None,
    ) -> List[requests.Response]:
        """Log in, post each pair in order and return the responses. A failed
        call is logged and the next one is still made."""
        self.log_into_backend(dt_user_email, dt_user_password)
        assert self.client is not None
        responses = []
        for endpoint, payload in service_data:
            response = self.client.request("POST", endpoint, payload if payload else None)
            self.access_token = self.client.access_token
            log_rest_response(response)
            responses.append(response)
        return responses

    def __call__(
        self, dt_user_email: Optional[str] = None, dt_user_password: Optional[str] = None, **kwargs: Any
    ) -> List[requests.Response]:
        data = self.get_service_data(**kwargs)
        return self.post_service_data(data, dt_user_email, dt_user_password)


class BaseIngress(BaseService):
    """A service that brings data in from an outside source."""

    def __init__(self) -> None:
        super().__init__()
        self.service_type = "ingress"


class BaseModel(BaseService):
    """A service that runs a model and stores its outputs as model runs."""

    def __init__(self) -> None:
        super().__init__()
        self.service_type = "model"
