"""Exceptions raised by the dtbase client."""

from __future__ import annotations

from typing import Any, Optional


class BackendCallError(Exception):
    """A call to the backend failed (the original DTBase's name for it)."""

    def __init__(self, response: Any = None, message: Optional[str] = None):
        self.response = response
        if message is None and response is not None:
            message = f"{response.status_code}: {response.text}"
        super().__init__(message or "backend call failed")


class DTBaseError(BackendCallError):
    """The server answered with an unexpected status.

    ``status`` is the HTTP status, ``detail`` the server's ``detail`` (a
    string, or for a 422 the list of field errors) and ``response`` the
    ``requests.Response``.
    """

    def __init__(self, method: str, path: str, response: Any):
        self.method = method
        self.path = path
        self.status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        self.detail = body.get("detail") if isinstance(body, dict) else None
        if self.detail is None:
            self.detail = response.text
        super().__init__(response, f"{method} {path}: {self.status} {self.detail_text}")

    @property
    def detail_text(self) -> str:
        """The detail as one line of text."""
        if isinstance(self.detail, list):
            parts = []
            for item in self.detail:
                if isinstance(item, dict):
                    loc = ".".join(str(x) for x in item.get("loc", []))
                    parts.append(f"{loc}: {item.get('msg', '')}")
                else:
                    parts.append(str(item))
            return "; ".join(parts)
        return str(self.detail)

    @property
    def exists_already(self) -> bool:
        """Whether this is a 409 saying that what was inserted exists already."""
        text = self.detail_text.lower()
        return self.status == 409 and ("exists already" in text or "already exist" in text)
