"""A client for every endpoint of the dtbase HTTP API.

Authentication is by email and password (the client logs in when it first
needs a token, refreshes the access token shortly before it expires, and logs
in again when the refresh token has expired too), by an API key, or by tokens
obtained elsewhere. Every method returns the decoded JSON answer and raises
``DTBaseError`` (a ``BackendCallError``) for any unexpected status.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Union

if TYPE_CHECKING:
    from .alerts import Alerts

import requests

from .exc import DTBaseError
from .frames import DataFrameMixin
from .retry import RetryPolicy, RetrySession

DEFAULT_BACKEND_URL = "http://localhost:5000"
DEFAULT_USER_EMAIL = "default_user@localhost"

Timestamp = Union[str, _dt.datetime, _dt.date, int, float]


def backend_url() -> str:
    """The backend's base URL: ``DT_BACKEND_URL``, default http://localhost:5000."""
    return os.environ.get("DT_BACKEND_URL", DEFAULT_BACKEND_URL).rstrip("/")


def format_time(t: Optional[Timestamp]) -> Any:
    """Render a timestamp for the API.

    A ``datetime`` becomes ISO 8601 (a naive one is read as UTC by the
    server); strings and numbers (Unix seconds) pass through unchanged.
    """
    if isinstance(t, _dt.datetime):
        return t.isoformat()
    if isinstance(t, _dt.date):
        return t.isoformat()
    return t


def parse_time(s: str) -> _dt.datetime:
    """Parse a timestamp the server returned into an aware UTC datetime."""
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    t = _dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.astimezone(_dt.timezone.utc)


def _token_expiry(token: Optional[str]) -> Optional[float]:
    """The ``exp`` claim of a JWT, unverified; None when there is none."""
    if not token or token.count(".") != 2:
        return None
    part = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, (int, float)) else None
    except (ValueError, TypeError):
        return None


class Client(DataFrameMixin):
    """A client of one dtbase (or DTBase) server.

    ``Client()`` reads ``DT_BACKEND_URL`` and, unless an API key or other
    credentials are given, logs in as ``default_user@localhost`` with
    ``DT_DEFAULT_USER_PASS`` when that is set. ``DT_API_KEY``, when set, is
    used as an API key.

    Requests share one session, time out after ``timeout`` seconds, and are
    retried as ``retry`` says (see ``dtbase_client.retry``). The DataFrame
    methods (``read_readings``, ``write_readings``, ``read_forecast``,
    ``write_model_run``) are in ``dtbase_client.frames``.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        email: Optional[str] = None,
        password: Optional[str] = None,
        api_key: Optional[str] = None,
        access_token: Optional[str] = None,
        refresh_token: Optional[str] = None,
        timeout: float = 60.0,
        session: Optional[requests.Session] = None,
        retry: Optional[RetryPolicy] = None,
    ):
        self.base_url = (base_url or backend_url()).rstrip("/")
        self.timeout = timeout
        self.session = session or RetrySession(retry, timeout)
        self._lock = threading.RLock()
        self.api_key = api_key
        if api_key is None and email is None and password is None and access_token is None:
            self.api_key = os.environ.get("DT_API_KEY") or None
            if self.api_key is None and "DT_DEFAULT_USER_PASS" in os.environ:
                email, password = DEFAULT_USER_EMAIL, os.environ["DT_DEFAULT_USER_PASS"]
        if password is not None and email is None:
            email = DEFAULT_USER_EMAIL
        self.email = email
        self.password = password
        self._set_tokens(access_token, refresh_token)

    # -- authentication -------------------------------------------------

    def _set_tokens(self, access: Optional[str], refresh: Optional[str]) -> None:
        self.access_token = access
        self.refresh_token = refresh
        self._access_exp = _token_expiry(access)
        self._refresh_exp = _token_expiry(refresh)
        now = time.time()
        self._access_ttl = (self._access_exp - now) if self._access_exp else None

    def login(self, email: Optional[str] = None, password: Optional[str] = None) -> Dict[str, str]:
        """Log in, keep the token pair, and remember the credentials so the
        client can log in again when its tokens can no longer be refreshed."""
        with self._lock:
            if email is not None:
                self.email = email
            if password is not None:
                self.password = password
            if self.password is None:
                raise ValueError("Must provide a password.")
            email = self.email or DEFAULT_USER_EMAIL
            resp = self.session.post(
                self.base_url + "/auth/login",
                json={"email": email, "password": self.password},
                timeout=self.timeout,
            )
            if resp.status_code != 200:
                raise DTBaseError("POST", "/auth/login", resp)
            pair = resp.json()
            self._set_tokens(pair["access_token"], pair["refresh_token"])
            return pair

    def refresh(self) -> Dict[str, str]:
        """Exchange the refresh token for a new pair. The client does this by
        itself shortly before the access token expires."""
        with self._lock:
            if not self.refresh_token:
                raise ValueError("No refresh token: log in first.")
            resp = self.session.post(
                self.base_url + "/auth/refresh",
                headers={"Authorization": "Bearer " + self.refresh_token},
                timeout=self.timeout,
            )
            if resp.status_code != 200:
                raise DTBaseError("POST", "/auth/refresh", resp)
            pair = resp.json()
            self._set_tokens(pair["access_token"], pair["refresh_token"])
            return pair

    def _margin(self) -> float:
        ttl = self._access_ttl
        if ttl and ttl > 0 and ttl / 5 < 30:
            return ttl / 5
        return 30.0

    def _bearer(self) -> Optional[str]:
        with self._lock:
            if self.api_key:
                return self.api_key
            now = time.time()
            if self.access_token and (self._access_exp is None or now + self._margin() < self._access_exp):
                return self.access_token
            if self.refresh_token and (self._refresh_exp is None or now + 1 < self._refresh_exp):
                try:
                    self.refresh()
                    return self.access_token
                except (DTBaseError, requests.RequestException):
                    if self.password is None:
                        raise
            if self.password is not None:
                self.login()
                return self.access_token
            return self.access_token

    def _invalidate(self, token: Optional[str]) -> bool:
        with self._lock:
            if self.api_key or not token or token != self.access_token:
                return False
            self.access_token, self._access_exp = None, None
            return bool(self.refresh_token) or self.password is not None

    # -- requests ---------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        params: Optional[Dict[str, Any]] = None,
        headers: Optional[Dict[str, str]] = None,
        data: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send an authenticated request and return the raw response.

        ``payload`` is sent as JSON (None sends no body); ``data`` as is. When
        the server rejects an access token the client thought valid, it
        renews the token and tries once more.
        """
        for attempt in (0, 1):
            token = self._bearer()
            h = dict(headers or {})
            if token:
                h["Authorization"] = "Bearer " + token
            kwargs: Dict[str, Any] = {"headers": h, "params": params, "timeout": self.timeout, "stream": stream}
            if payload is not None:
                kwargs["json"] = payload
            elif data is not None:
                kwargs["data"] = data
            resp = self.session.request(method, self.base_url + path, **kwargs)
            if resp.status_code == 401 and attempt == 0 and self._invalidate(token):
                continue
            return resp
        return resp  # pragma: no cover

    def call(self, method: str, path: str, payload: Any = None, expected: Optional[int] = None) -> Any:
        """Send a request and return its decoded JSON answer.

        Raises ``DTBaseError`` when the status is not ``expected`` (any 2xx
        when None).
        """
        resp = self.request(method, path, payload)
        ok = resp.status_code == expected if expected is not None else 200 <= resp.status_code < 300
        if not ok:
            raise DTBaseError(method, path, resp)
        if not resp.content:
            return None
        return resp.json()

    def post(self, path: str, payload: Any = None, expected: Optional[int] = None) -> Any:
        """POST ``payload`` to ``path`` and return the decoded answer."""
        return self.call("POST", path, payload, expected)

    def get(self, path: str, expected: Optional[int] = None) -> Any:
        """GET ``path`` and return the decoded answer."""
        return self.call("GET", path, None, expected)

    # -- users (/user) ----------------------------------------------------

    def list_users(self) -> List[str]:
        return self.get("/user/list-users", 200)

    def create_user(self, email: str, password: str, role: Optional[str] = None) -> Dict[str, str]:
        body: Dict[str, Any] = {"email": email, "password": password}
        if role is not None:
            body["role"] = role
        return self.post("/user/create-user", body, 201)

    def delete_user(self, email: str) -> Dict[str, str]:
        return self.post("/user/delete-user", {"email": email}, 200)

    def change_password(self, email: str, password: str) -> Dict[str, str]:
        return self.post("/user/change-password", {"email": email, "password": password}, 200)

    def sign_out_everywhere(self) -> Dict[str, str]:
        """End every session of the signed-in user on every device, this
        client's too (extension): its tokens are dropped, so a client with a
        password logs in again on its next call."""
        out = self.post("/auth/logout-everywhere", None, 200)
        with self._lock:
            self._set_tokens(None, None)
        return out

    def list_users_details(self) -> List[Dict[str, Any]]:
        """Every user with role and creation time (extension; admin only)."""
        return self.post("/user/list-users-details", None, 200)

    def set_role(self, email: str, role: str) -> Dict[str, str]:
        """Change a user's role: admin, editor or viewer (extension)."""
        return self.post("/user/set-role", {"email": email, "role": role}, 200)

    def create_api_key(self, name: str, role: str) -> Dict[str, str]:
        """Create an API key; the answer's ``key`` is shown only once (extension)."""
        return self.post("/user/create-api-key", {"name": name, "role": role}, 201)

    def list_api_keys(self) -> List[Dict[str, Any]]:
        """Every API key, without secrets (extension)."""
        return self.get("/user/list-api-keys", 200)

    def revoke_api_key(self, name: str) -> Dict[str, str]:
        """Revoke the active API key with this name (extension)."""
        return self.post("/user/revoke-api-key", {"name": name}, 200)

    # -- locations (/location) ------------------------------------------

    def insert_location_schema(
        self, name: str, description: Optional[str], identifiers: List[Dict[str, Any]]
    ) -> Dict[str, str]:
        """``identifiers``: ``[{"name", "units" (may be None), "datatype"}]``."""
        return self.post(
            "/location/insert-location-schema",
            {"name": name, "description": description, "identifiers": identifiers},
            201,
        )

    def insert_location(self, identifiers: List[Dict[str, Any]], values: List[Any]) -> Dict[str, str]:
        """Define a schema named after the sorted identifier names and insert
        one location; the answer holds ``schema_name``."""
        return self.post("/location/insert-location", {"identifiers": identifiers, "values": values}, 201)

    def insert_location_for_schema(self, schema_name: str, coordinates: Dict[str, Any]) -> Dict[str, str]:
        return self.post(
            "/location/insert-location-for-schema", {"schema_name": schema_name, "coordinates": coordinates}, 201
        )

    def list_locations(self, schema_name: str, coordinates: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        return self.post("/location/list-locations", {"schema_name": schema_name, "coordinates": coordinates}, 200)

    def list_location_schemas(self) -> List[Dict[str, Any]]:
        return self.get("/location/list-location-schemas", 200)

    def list_location_identifiers(self) -> List[Dict[str, Any]]:
        return self.get("/location/list-location-identifiers", 200)

    def get_schema_details(self, schema_name: str) -> Dict[str, Any]:
        return self.post("/location/get-schema-details", {"schema_name": schema_name}, 200)

    def delete_location_schema(self, schema_name: str) -> Dict[str, str]:
        return self.post("/location/delete-location-schema", {"schema_name": schema_name}, 200)

    def delete_location(self, schema_name: str, coordinates: Dict[str, Any]) -> Dict[str, str]:
        return self.post("/location/delete-location", {"schema_name": schema_name, "coordinates": coordinates}, 200)

    # -- sensors (/sensor) ----------------------------------------------

    def insert_sensor_type(
        self, name: str, measures: List[Dict[str, Any]], description: Optional[str] = None
    ) -> Dict[str, str]:
        """``measures``: ``[{"name", "units" (may be None), "datatype"}]``."""
        return self.post(
            "/sensor/insert-sensor-type", {"name": name, "description": description, "measures": measures}, 201
        )

    def insert_sensor(
        self, type_name: str, unique_identifier: str, name: Optional[str] = None, notes: Optional[str] = None
    ) -> Dict[str, str]:
        return self.post(
            "/sensor/insert-sensor",
            {"type_name": type_name, "unique_identifier": unique_identifier, "name": name, "notes": notes},
            201,
        )

    def insert_sensor_location(
        self,
        unique_identifier: str,
        schema_name: str,
        coordinates: Dict[str, Any],
        installation_datetime: Optional[Timestamp] = None,
    ) -> Dict[str, str]:
        body: Dict[str, Any] = {
            "unique_identifier": unique_identifier,
            "schema_name": schema_name,
            "coordinates": coordinates,
        }
        if installation_datetime is not None:
            body["installation_datetime"] = format_time(installation_datetime)
        return self.post("/sensor/insert-sensor-location", body, 201)

    def list_sensor_locations(self, unique_identifier: str) -> List[Dict[str, Any]]:
        return self.post("/sensor/list-sensor-locations", {"unique_identifier": unique_identifier}, 200)

    def insert_sensor_readings(
        self,
        measure_name: str,
        unique_identifier: str,
        readings: Sequence[Any],
        timestamps: Sequence[Timestamp],
        measure_units: Optional[str] = None,
    ) -> Dict[str, str]:
        """Store a series; readings already stored (same timestamp) are skipped.
        ``measure_units`` (extension) picks among measures sharing a name."""
        body: Dict[str, Any] = {
            "measure_name": measure_name,
            "unique_identifier": unique_identifier,
            "readings": list(readings),
            "timestamps": [format_time(t) for t in timestamps],
        }
        if measure_units is not None:
            body["measure_units"] = measure_units
        return self.post("/sensor/insert-sensor-readings", body, 201)

    def list_sensors(self, type_name: Optional[str] = None) -> List[Dict[str, Any]]:
        body: Dict[str, Any] = {}
        if type_name is not None:
            body["type_name"] = type_name
        return self.post("/sensor/list-sensors", body, 200)

    def list_sensor_types(self) -> List[Dict[str, Any]]:
        return self.get("/sensor/list-sensor-types", 200)

    def list_measures(self) -> List[Dict[str, Any]]:
        return self.get("/sensor/list-measures", 200)

    def _range(
        self,
        measure_name: str,
        unique_identifier: str,
        dt_from: Timestamp,
        dt_to: Timestamp,
        measure_units: Optional[str],
    ) -> Dict[str, Any]:
        """The body of a read of a range of readings."""
        body: Dict[str, Any] = {
            "measure_name": measure_name,
            "unique_identifier": unique_identifier,
            "dt_from": format_time(dt_from),
            "dt_to": format_time(dt_to),
        }
        if measure_units is not None:
            body["measure_units"] = measure_units
        return body

    def sensor_readings(
        self,
        measure_name: str,
        unique_identifier: str,
        dt_from: Timestamp,
        dt_to: Timestamp,
        measure_units: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """Readings with ``dt_from <= timestamp <= dt_to``, in time order."""
        body = self._range(measure_name, unique_identifier, dt_from, dt_to, measure_units)
        return self.post("/sensor/sensor-readings", body, 200)

    def delete_sensor(self, unique_identifier: str) -> Dict[str, str]:
        return self.post("/sensor/delete-sensor", {"unique_identifier": unique_identifier}, 200)

    def delete_sensor_type(self, type_name: str) -> Dict[str, str]:
        return self.post("/sensor/delete-sensor-type", {"type_name": type_name}, 200)

    def edit_sensor(self, unique_identifier: str, name: str, notes: str) -> Dict[str, str]:
        return self.post(
            "/sensor/edit-sensor", {"unique_identifier": unique_identifier, "name": name, "notes": notes}, 200
        )

    # -- models (/model) --------------------------------------------------

    def insert_model(self, name: str) -> Dict[str, str]:
        return self.post("/model/insert-model", {"name": name}, 201)

    def list_models(self) -> List[Dict[str, Any]]:
        return self.get("/model/list-models", 200)

    def delete_model(self, name: str) -> Dict[str, str]:
        return self.post("/model/delete-model", {"name": name}, 200)

    def insert_model_scenario(self, model_name: str, description: Optional[str]) -> Dict[str, str]:
        return self.post("/model/insert-model-scenario", {"model_name": model_name, "description": description}, 201)

    def list_model_scenarios(self) -> List[Dict[str, Any]]:
        return self.get("/model/list-model-scenarios", 200)

    def delete_model_scenario(self, model_name: str, description: Optional[str]) -> Dict[str, str]:
        return self.post("/model/delete-model-scenario", {"model_name": model_name, "description": description}, 200)

    def insert_model_measure(self, name: str, units: str, datatype: str) -> Dict[str, str]:
        return self.post("/model/insert-model-measure", {"name": name, "units": units, "datatype": datatype}, 201)

    def list_model_measures(self) -> List[Dict[str, Any]]:
        return self.get("/model/list-model-measures", 200)

    def delete_model_measure(self, name: str) -> Dict[str, str]:
        return self.post("/model/delete-model-measure", {"name": name}, 200)

    def insert_model_run(
        self,
        model_name: str,
        scenario_description: str,
        measures_and_values: List[Dict[str, Any]],
        time_created: Optional[Timestamp] = None,
        create_scenario: bool = False,
        sensor_unique_id: Optional[str] = None,
        sensor_measure: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        """Store a model run. ``measures_and_values``:
        ``[{"measure_name", "values", "timestamps"}]``. dtbase's answer also
        carries the new run's id."""
        mv = [
            dict(m, timestamps=[format_time(t) for t in m.get("timestamps", [])]) for m in measures_and_values
        ]
        body: Dict[str, Any] = {
            "model_name": model_name,
            "scenario_description": scenario_description,
            "measures_and_values": mv,
            "create_scenario": create_scenario,
            "sensor_unique_id": sensor_unique_id,
            "sensor_measure": sensor_measure,
        }
        if time_created is not None:
            body["time_created"] = format_time(time_created)
        return self.post("/model/insert-model-run", body, 201)

    def list_model_runs(
        self,
        model_name: str,
        dt_from: Optional[Timestamp] = None,
        dt_to: Optional[Timestamp] = None,
        scenario: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """Runs created in ``[dt_from, dt_to]`` (default: the last week)."""
        body: Dict[str, Any] = {"model_name": model_name}
        if dt_from is not None:
            body["dt_from"] = format_time(dt_from)
        if dt_to is not None:
            body["dt_to"] = format_time(dt_to)
        if scenario is not None:
            body["scenario"] = scenario
        return self.post("/model/list-model-runs", body, 200)

    def get_model_run(self, run_id: int) -> Dict[str, List[Dict[str, Any]]]:
        return self.post("/model/get-model-run", {"run_id": run_id}, 200)

    def get_model_run_sensor_measure(self, run_id: int) -> Dict[str, Any]:
        return self.post("/model/get-model-run-sensor-measure", {"run_id": run_id}, 200)

    # -- alerts (/alert): dtbase_client.alerts ----------------------------

    @property
    def alerts(self) -> "Alerts":
        """The alert endpoints (rules, channels, alerts)."""
        from .alerts import Alerts

        return Alerts(self)

    # -- services (/service) ----------------------------------------------

    def insert_service(self, name: str, url: str, http_method: str, **extra: Any) -> Dict[str, str]:
        """Register a service; ``extra`` carries dtbase's optional fields."""
        return self.post("/service/insert-service", dict({"name": name, "url": url, "http_method": http_method}, **extra), 201)

    def list_services(self) -> List[Dict[str, Any]]:
        return self.get("/service/list-services", 200)

    def delete_service(self, name: str) -> Dict[str, str]:
        return self.post("/service/delete-service", {"name": name}, 200)

    def insert_parameter_set(self, service_name: str, name: str, parameters: Dict[str, Any]) -> Dict[str, str]:
        return self.post(
            "/service/insert-parameter-set", {"service_name": service_name, "name": name, "parameters": parameters}, 201
        )

    def delete_parameter_set(self, service_name: str, name: str) -> Dict[str, str]:
        return self.post("/service/delete-parameter-set", {"service_name": service_name, "name": name}, 200)

    def list_parameter_sets(self, service_name: Optional[str] = None) -> List[Dict[str, Any]]:
        return self.post("/service/list-parameter-sets", {"service_name": service_name}, 200)

    def edit_parameter_set(self, service_name: str, name: str, parameters: Dict[str, Any]) -> Dict[str, str]:
        return self.post(
            "/service/edit-parameter-set", {"service_name": service_name, "name": name, "parameters": parameters}, 200
        )

    def run_service(
        self,
        service_name: str,
        parameter_set_name: Optional[str] = None,
        parameters: Any = None,
        run_async: bool = False,
    ) -> Dict[str, Any]:
        """Call a service; the call and its answer go to the run log. dtbase
        answers with the run's id; with ``run_async`` it answers at once and
        ``get_run`` tells how the run went."""
        body: Dict[str, Any] = {
            "service_name": service_name,
            "parameter_set_name": parameter_set_name,
            "parameters": parameters,
        }
        if run_async:
            body["async"] = True
        return self.post("/service/run-service", body)

    def list_runs(
        self,
        service_name: Optional[str] = None,
        parameter_set_name: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> List[Dict[str, Any]]:
        """The run log, oldest first; ``limit`` (extension) keeps the newest."""
        body: Dict[str, Any] = {"service_name": service_name, "parameter_set_name": parameter_set_name}
        if limit is not None:
            body["limit"] = limit
        return self.post("/service/list-runs", body, 200)

    # -- dtbase's service extensions ----------------------------------------

    def get_run(self, run_id: int) -> Dict[str, Any]:
        """One run of the log, with its status (pending, running, succeeded, failed)."""
        return self.post("/service/get-run", {"run_id": run_id}, 200)

    def cancel_run(self, run_id: int) -> Dict[str, Any]:
        """Stop a pending or running run, on whichever replica runs it; it is
        recorded as failed, cancelled by this user. An unknown run raises
        with status 400, a finished one with 409."""
        return self.post("/service/cancel-run", {"run_id": run_id}, 200)

    def list_services_details(self) -> List[Dict[str, Any]]:
        """Services with timeouts and credential header names (never values)."""
        return self.post("/service/list-services-details", None, 200)

    def edit_service(self, name: str, **changes: Any) -> Dict[str, str]:
        """Change a service: ``url``, ``http_method``, ``timeout_seconds``,
        ``credential_header``, ``credential_value``, ``clear_credential``."""
        return self.post("/service/edit-service", dict(changes, name=name), 200)

    def _schedule(
        self,
        path: str,
        status: int,
        service_name: str,
        name: str,
        cron: str,
        timezone: Optional[str],
        parameter_set_name: Optional[str],
        enabled: Optional[bool],
    ) -> Dict[str, Any]:
        """Post the body of insert-schedule and edit-schedule to ``path``."""
        body: Dict[str, Any] = {"service_name": service_name, "name": name, "cron": cron}
        if timezone is not None:
            body["timezone"] = timezone
        if parameter_set_name is not None:
            body["parameter_set_name"] = parameter_set_name
        if enabled is not None:
            body["enabled"] = enabled
        return self.post(path, body, status)

    def insert_schedule(
        self,
        service_name: str,
        name: str,
        cron: str,
        timezone: Optional[str] = None,
        parameter_set_name: Optional[str] = None,
        enabled: Optional[bool] = None,
    ) -> Dict[str, Any]:
        """Run a service on a cron expression (in ``timezone``, default UTC)."""
        return self._schedule(
            "/service/insert-schedule", 201, service_name, name, cron, timezone, parameter_set_name, enabled
        )

    def edit_schedule(
        self,
        service_name: str,
        name: str,
        cron: str,
        timezone: Optional[str] = None,
        parameter_set_name: Optional[str] = None,
        enabled: Optional[bool] = None,
    ) -> Dict[str, Any]:
        return self._schedule(
            "/service/edit-schedule", 200, service_name, name, cron, timezone, parameter_set_name, enabled
        )

    def list_schedules(self, service_name: Optional[str] = None) -> List[Dict[str, Any]]:
        return self.post("/service/list-schedules", {"service_name": service_name}, 200)

    def enable_schedule(self, service_name: str, name: str) -> Dict[str, Any]:
        return self.post("/service/enable-schedule", {"service_name": service_name, "name": name}, 200)

    def disable_schedule(self, service_name: str, name: str) -> Dict[str, Any]:
        return self.post("/service/disable-schedule", {"service_name": service_name, "name": name}, 200)

    def delete_schedule(self, service_name: str, name: str) -> Dict[str, str]:
        return self.post("/service/delete-schedule", {"service_name": service_name, "name": name}, 200)

    # -- dtbase's sensor, reading, location and model extensions --------

    def get_sensor(self, unique_identifier: str) -> Dict[str, Any]:
        """A sensor with its type, current location and location history."""
        return self.post("/sensor/get-sensor", {"unique_identifier": unique_identifier}, 200)

    def list_sensors_details(self, type_name: Optional[str] = None) -> List[Dict[str, Any]]:
        """Sensors with their type and current location."""
        body: Dict[str, Any] = {}
        if type_name is not None:
            body["type_name"] = type_name
        return self.post("/sensor/list-sensors-details", body, 200)

    def edit_location(
        self, schema_name: str, coordinates: Dict[str, Any], new_coordinates: Dict[str, Any]
    ) -> Dict[str, str]:
        return self.post(
            "/location/edit-location",
            {"schema_name": schema_name, "coordinates": coordinates, "new_coordinates": new_coordinates},
            200,
        )

    def insert_readings_batch(self, series: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
        """Store many series in one transaction. Each element is the body of
        ``insert_sensor_readings``: ``measure_name``, ``unique_identifier``,
        ``readings``, ``timestamps`` and optionally ``measure_units``."""
        out = []
        for s in series:
            s = dict(s)
            s["timestamps"] = [format_time(t) for t in s.get("timestamps", [])]
            s["readings"] = list(s.get("readings", []))
            out.append(s)
        return self.post("/sensor/insert-readings-batch", {"series": out}, 201)

    def sensor_readings_aggregate(
        self,
        measure_name: str,
        unique_identifier: str,
        dt_from: Timestamp,
        dt_to: Timestamp,
        bucket: Union[str, int, float],
        aggregates: Optional[Sequence[str]] = None,
        measure_units: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """Readings summarised per bucket (``"15m"``, ``"1h"``, ``"1d"`` or
        seconds); ``aggregates`` among mean, min, max, sum, count, first, last."""
        body = self._range(measure_name, unique_identifier, dt_from, dt_to, measure_units)
        body["bucket"] = bucket
        if aggregates is not None:
            body["aggregates"] = list(aggregates)
        return self.post("/sensor/sensor-readings-aggregate", body, 200)

    def sensor_readings_downsampled(
        self,
        measure_name: str,
        unique_identifier: str,
        dt_from: Timestamp,
        dt_to: Timestamp,
        max_points: Optional[int] = None,
        measure_units: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """At most ``max_points`` readings of the range, keeping peaks and troughs."""
        body = self._range(measure_name, unique_identifier, dt_from, dt_to, measure_units)
        if max_points is not None:
            body["max_points"] = max_points
        return self.post("/sensor/sensor-readings-downsampled", body, 200)

    def latest_readings(
        self, type_name: Optional[str] = None, unique_identifiers: Optional[Sequence[str]] = None
    ) -> List[Dict[str, Any]]:
        """The newest reading of every measure of the selected sensors."""
        body: Dict[str, Any] = {}
        if type_name is not None:
            body["type_name"] = type_name
        if unique_identifiers is not None:
            body["unique_identifiers"] = list(unique_identifiers)
        return self.post("/sensor/latest-readings", body, 200)

    def _csv_params(
        self,
        unique_identifier: str,
        measure_names: Union[str, Sequence[str]],
        dt_from: Optional[Timestamp],
        dt_to: Optional[Timestamp],
        measure_units: Union[None, str, Sequence[str]],
    ) -> Dict[str, Any]:
        if isinstance(measure_names, str):
            measure_names = [measure_names]
        params: Dict[str, Any] = {"unique_identifier": unique_identifier, "measure_name": list(measure_names)}
        if measure_units is not None:
            params["measure_units"] = [measure_units] if isinstance(measure_units, str) else list(measure_units)
        if dt_from is not None:
            params["dt_from"] = format_time(dt_from)
        if dt_to is not None:
            params["dt_to"] = format_time(dt_to)
        return params

    def _readings_csv(self, params: Dict[str, Any], stream: bool) -> requests.Response:
        """GET /sensor/readings.csv; raises unless the answer is 200."""
        resp = self.request("GET", "/sensor/readings.csv", params=params, headers={"Accept": "text/csv"}, stream=stream)
        if resp.status_code != 200:
            raise DTBaseError("GET", "/sensor/readings.csv", resp)
        return resp

    def readings_csv(
        self,
        unique_identifier: str,
        measure_names: Union[str, Sequence[str]],
        dt_from: Optional[Timestamp] = None,
        dt_to: Optional[Timestamp] = None,
        measure_units: Union[None, str, Sequence[str]] = None,
    ) -> str:
        """Readings as CSV text: unique_identifier,measure_name,measure_units,timestamp,value."""
        params = self._csv_params(unique_identifier, measure_names, dt_from, dt_to, measure_units)
        return self._readings_csv(params, stream=False).content.decode("utf-8")

    def download_readings_csv(
        self,
        path: str,
        unique_identifier: str,
        measure_names: Union[str, Sequence[str]],
        dt_from: Optional[Timestamp] = None,
        dt_to: Optional[Timestamp] = None,
        measure_units: Union[None, str, Sequence[str]] = None,
    ) -> int:
        """Stream readings as CSV into a file; returns the bytes written."""
        params = self._csv_params(unique_identifier, measure_names, dt_from, dt_to, measure_units)
        resp = self._readings_csv(params, stream=True)
        n = 0
        with open(path, "wb") as f:
            for chunk in resp.iter_content(64 << 10):
                f.write(chunk)
                n += len(chunk)
        return n

    def upload_readings_csv(self, data: Union[str, bytes, Any]) -> Dict[str, Any]:
        """Upload CSV readings (text, bytes or a binary file object) in the
        layout ``readings_csv`` writes; the whole file is one transaction."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, (bytes, bytearray)):
            data = data.read()  # the body is read once, so a retry can resend it
        resp = self.request("POST", "/sensor/upload-readings-csv", data=data, headers={"Content-Type": "text/csv"})
        if resp.status_code != 201:
            raise DTBaseError("POST", "/sensor/upload-readings-csv", resp)
        return resp.json()

    def delete_model_run(self, run_id: int) -> Dict[str, str]:
        return self.post("/model/delete-model-run", {"run_id": run_id}, 200)

    def get_model_run_comparison(self, run_id: int, tolerance_minutes: Optional[float] = None) -> Dict[str, Any]:
        """A run's forecast next to the readings it predicts, with skill metrics."""
        body: Dict[str, Any] = {"run_id": run_id}
        if tolerance_minutes is not None:
            body["tolerance_minutes"] = tolerance_minutes
        return self.post("/model/get-model-run-comparison", body, 200)

    def run_arima(self, sensors: Sequence[str], measures: Sequence[Dict[str, Any]], **options: Any) -> Dict[str, Any]:
        """Fit the built-in SARIMA model and store forecasts as model runs.
        ``measures``: ``[{"name", "units"}]``; ``options``: the original ARIMA
        model's settings (order, seasonal_order, hours_forecast, ...)."""
        body = dict(options, sensors=list(sensors), measures=list(measures))
        if "predict_from" in body:
            body["predict_from"] = format_time(body["predict_from"])
        return self.post("/model/run-arima", body, 201)


def chunks(items: Iterable[Any], size: int) -> Iterable[List[Any]]:
    """Split ``items`` into lists of at most ``size``, for batched inserts."""
    batch: List[Any] = []
    for it in items:
        batch.append(it)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
