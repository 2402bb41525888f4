"""Python client of dtbase, and DTBase-compatible service base classes.

>>> from dtbase_client import Client
>>> c = Client("http://localhost:5000", email="default_user@localhost", password="...")
>>> c.list_sensors()

Services: ``from dtbase_client.services import BaseIngress, BaseModel``.
"""

from .client import DEFAULT_BACKEND_URL, DEFAULT_USER_EMAIL, Client, chunks, format_time, parse_time
from .exc import BackendCallError, DTBaseError
from .frames import PartialWriteError
from .retry import RetryPolicy
from .services import BaseIngress, BaseModel, BaseService

__all__ = [
    "Client",
    "DTBaseError",
    "BackendCallError",
    "PartialWriteError",
    "RetryPolicy",
    "BaseService",
    "BaseIngress",
    "BaseModel",
    "DEFAULT_BACKEND_URL",
    "DEFAULT_USER_EMAIL",
    "chunks",
    "format_time",
    "parse_time",
]

__version__ = "0.1.0"
