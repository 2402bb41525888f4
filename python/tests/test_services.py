"""BaseService, BaseIngress and BaseModel with the original's calling
convention, against a real dtbase server."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest

from dtbase_client.exc import BackendCallError
from dtbase_client.services import BaseIngress, BaseModel, BaseService
from dtbase_client.utils import auth_backend_call, backend_call

from conftest import PASSWORD


class ThermoIngress(BaseIngress):
    """An ingress in the original's style: declare the type and the sensor,
    then post readings."""

    def get_service_data(self, sensor, start, n=3):
        stamps = [(start + dt.timedelta(minutes=i)).isoformat() for i in range(n)]
        return [
            ("/sensor/insert-sensor-type", {
                "name": f"thermo-{sensor}",
                "description": "ingress test",
                "measures": [{"name": f"temperature-{sensor}", "units": "C", "datatype": "float"}],
            }),
            ("/sensor/insert-sensor", {"type_name": f"thermo-{sensor}", "unique_identifier": sensor}),
            ("/sensor/insert-sensor-readings", {
                "measure_name": f"temperature-{sensor}",
                "unique_identifier": sensor,
                "readings": [20.0 + i for i in range(n)],
                "timestamps": stamps,
            }),
        ]


def test_types():
    assert BaseIngress().service_type == "ingress"
    assert BaseModel().service_type == "model"
    assert BaseService().access_token is None
    with pytest.raises(NotImplementedError):
        BaseService()()


def test_ingress_call(backend_env, client, uid, caplog):
    ingress = ThermoIngress()
    start = dt.datetime(2024, 3, 1)
    caplog.set_level(logging.INFO, logger="dtbase_client.services")
    responses = ingress(dt_user_email="default_user@localhost", dt_user_password=PASSWORD,
                        sensor=f"ing-{uid}", start=start)
    assert [r.status_code for r in responses] == [201, 201, 201]
    assert ingress.access_token
    # Running again: the declarations answer "exists already", the readings are skipped.
    responses = ingress(sensor=f"ing-{uid}", start=start)  # credentials from the environment
    assert [r.status_code for r in responses] == [409, 409, 201]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    got = client.sensor_readings(f"temperature-ing-{uid}", f"ing-{uid}", "2024-03-01", "2024-03-02")
    assert [r["value"] for r in got] == [20.0, 21.0, 22.0]


def test_failures_are_logged_and_do_not_stop(backend_env, uid, caplog):
    class Bad(BaseIngress):
        def get_service_data(self):
            return [
                ("/sensor/insert-sensor", {"type_name": f"missing-{uid}", "unique_identifier": f"x-{uid}"}),
                ("/sensor/list-sensors", {"type_name": None}),
            ]

    caplog.set_level(logging.INFO, logger="dtbase_client.services")
    responses = Bad()()
    assert [r.status_code for r in responses] == [400, 200]
    assert any(r.levelno == logging.WARNING and "Got response 400" in r.getMessage() for r in caplog.records)


def test_password_required(backend_env, monkeypatch):
    monkeypatch.delenv("DT_DEFAULT_USER_PASS")
    with pytest.raises(ValueError, match="Must provide a password."):
        ThermoIngress()(sensor="x", start=dt.datetime(2024, 1, 1))


def test_wrong_password(backend_env):
    with pytest.raises(BackendCallError):
        ThermoIngress()(dt_user_password="wrong", sensor="x", start=dt.datetime(2024, 1, 1))


def test_long_run_refreshes_token(start_server, monkeypatch, uid):
    """A run that outlives the access token goes on: the original fails here."""
    srv = start_server(DT_JWT_ACCESS_TOKEN_EXPIRES_SECONDS=2, DT_JWT_REFRESH_TOKEN_GRACE_SECONDS=60)
    monkeypatch.setenv("DT_BACKEND_URL", srv.url)

    class Slow(ThermoIngress):
        def get_service_data(self, **kwargs):
            for pair in super().get_service_data(**kwargs):
                yield pair
                time.sleep(1.5)

    responses = Slow()(dt_user_password=PASSWORD, sensor=f"slow-{uid}", start=dt.datetime(2024, 1, 1))
    assert [r.status_code for r in responses] == [201, 201, 201]


def test_original_helpers(backend_env):
    assert backend_call("post", "/auth/login", {"email": "default_user@localhost", "password": PASSWORD}).status_code == 200
    r = auth_backend_call("get", "/user/list-users")
    assert r.status_code == 200 and "default_user@localhost" in r.json()
    assert backend_call("get", "/user/list-users").status_code == 401
