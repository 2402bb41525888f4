"""The client against a real dtbase server."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from dtbase_client import Client, DTBaseError, parse_time

from conftest import PASSWORD

UTC = dt.timezone.utc


def test_login_and_list_users(client):
    assert "default_user@localhost" in client.list_users()


def test_wrong_password(server):
    c = Client(server.url, email="default_user@localhost", password="wrong")
    with pytest.raises(DTBaseError) as e:
        c.login()
    assert e.value.status == 401
    assert e.value.detail == "Incorrect email or password"


def test_no_credentials_is_401(server):
    c = Client(server.url, email="nobody@localhost", password=None)
    c.password = None
    with pytest.raises(DTBaseError) as e:
        c.list_users()
    assert e.value.status == 401
    assert e.value.detail == "Not authenticated"


def test_validation_error_detail(client):
    with pytest.raises(DTBaseError) as e:
        client.post("/user/create-user", {"email": "x@example.com"})
    assert e.value.status == 422
    assert isinstance(e.value.detail, list)
    assert "password" in e.value.detail_text


def test_users_roles_and_api_keys(client, server, uid):
    email = f"viewer-{uid}@example.com"
    assert client.create_user(email, "pw-" + uid, role="viewer") == {"detail": "User created"}
    with pytest.raises(DTBaseError) as e:
        client.create_user(email, "again")
    assert e.value.status == 409 and e.value.exists_already

    details = {u["email"]: u for u in client.list_users_details()}
    assert details[email]["role"] == "viewer"

    viewer = Client(server.url, email=email, password="pw-" + uid)
    assert isinstance(viewer.list_sensors(), list)
    with pytest.raises(DTBaseError) as e:
        viewer.insert_sensor_type(f"vt-{uid}", [])
    assert e.value.status == 403

    client.set_role(email, "editor")
    assert {u["email"]: u for u in client.list_users_details()}[email]["role"] == "editor"
    viewer.change_password(email, "new-" + uid)
    Client(server.url, email=email, password="new-" + uid).login()

    # Signing out everywhere ends another device's tokens; the signing
    # client, which has the password, logs in again on its next call.
    signing = Client(server.url, email=email, password="new-" + uid)
    pair = Client(server.url, email=email, password="new-" + uid).login()
    other = Client(server.url, access_token=pair["access_token"], refresh_token=pair["refresh_token"])
    assert signing.sign_out_everywhere() == {"detail": "Signed out everywhere"}
    with pytest.raises(DTBaseError) as e:
        other.list_sensors()
    assert e.value.status == 401
    assert isinstance(signing.list_sensors(), list)

    key = client.create_api_key(f"key-{uid}", "editor")
    assert key["key"].startswith("dtb_")
    keyed = Client(server.url, api_key=key["key"])
    keyed.insert_sensor_type(f"kt-{uid}", [{"name": f"km-{uid}", "units": None, "datatype": "float"}])
    names = [k["name"] for k in client.list_api_keys()]
    assert f"key-{uid}" in names
    client.revoke_api_key(f"key-{uid}")
    with pytest.raises(DTBaseError) as e:
        keyed.list_sensors()
    assert e.value.status == 401

    client.delete_user(email)
    assert email not in client.list_users()


def test_locations(client, uid):
    x, y = f"x{uid}", f"y{uid}"
    idents = [
        {"name": x, "units": "m", "datatype": "float"},
        {"name": y, "units": None, "datatype": "integer"},
    ]
    schema = f"s-{uid}"
    assert client.insert_location_schema(schema, None, idents) == {"detail": "Location schema inserted"}
    client.insert_location_for_schema(schema, {x: 1.5, y: 2})
    client.insert_location_for_schema(schema, {x: 2.0, y: 3})
    locs = client.list_locations(schema)
    assert [(l[x], l[y]) for l in locs] == [(1.5, 2), (2.0, 3)]
    assert isinstance(locs[1][x], float)
    assert client.list_locations(schema, {y: 3})[0][x] == 2.0
    details = client.get_schema_details(schema)
    assert details["name"] == schema and {i["name"] for i in details["identifiers"]} == {x, y}
    assert schema in [s["name"] for s in client.list_location_schemas()]
    assert x in [i["name"] for i in client.list_location_identifiers()]
    with pytest.raises(DTBaseError) as e:
        client.insert_location_for_schema(schema, {x: 1.5, y: 2})
    assert e.value.status == 409

    z = f"z{uid}"
    made = client.insert_location([{"name": z, "units": None, "datatype": "string"}], ["room 1"])
    assert made == {"schema_name": z}

    client.delete_location(schema, {x: 1.5, y: 2})
    client.delete_location(schema, {x: 2.0, y: 3})
    assert client.list_locations(schema) == []
    assert client.delete_location_schema(schema) == {"detail": f"Location schema '{schema}' has been deleted."}
    with pytest.raises(DTBaseError) as e:
        client.get_schema_details(schema)
    assert e.value.status == 400 and e.value.detail == "No such schema"


def test_sensors_and_readings(client, uid):
    t, s, m = f"type-{uid}", f"sensor-{uid}", f"temp-{uid}"
    client.insert_sensor_type(t, [{"name": m, "units": "K", "datatype": "float"},
                                  {"name": f"on-{uid}", "units": None, "datatype": "boolean"}], "a thermometer")
    assert any(st["name"] == t and st["description"] == "a thermometer" for st in client.list_sensor_types())
    assert m in [x["name"] for x in client.list_measures()]
    client.insert_sensor(t, s, name="Thermo", notes=None)
    assert {"unique_identifier": s, "name": "Thermo", "notes": None} in client.list_sensors(t)
    with pytest.raises(DTBaseError) as e:
        client.insert_sensor(t, s)
    assert e.value.status == 409 and e.value.exists_already

    base = dt.datetime(2024, 1, 5, 15, 0, tzinfo=UTC)
    stamps = [base + dt.timedelta(minutes=i) for i in range(5)]
    client.insert_sensor_readings(m, s, [291.0, 292.5, 293, 294.0, 295.25], stamps)
    # Duplicates are skipped, not errors.
    client.insert_sensor_readings(m, s, [0.0], [stamps[0]])
    got = client.sensor_readings(m, s, stamps[0], stamps[-1])
    assert [r["value"] for r in got] == [291.0, 292.5, 293.0, 294.0, 295.25]
    assert all(isinstance(r["value"], float) for r in got)
    assert [parse_time(r["timestamp"]) for r in got] == stamps
    assert got[0]["timestamp"] == "2024-01-05T15:00:00Z"
    # Naive datetimes are UTC.
    naive = client.sensor_readings(m, s, stamps[1].replace(tzinfo=None), "2024-01-05T15:02:00")
    assert [r["value"] for r in naive] == [292.5, 293.0]

    with pytest.raises(DTBaseError) as e:
        client.insert_sensor_readings(m, s, ["hot"], [base])
    assert e.value.status == 400

    client.edit_sensor(s, "Renamed", "notes")
    assert {"unique_identifier": s, "name": "Renamed", "notes": "notes"} in client.list_sensors()

    schema = f"room-{uid}"
    client.insert_location_schema(schema, None, [{"name": f"room{uid}", "units": None, "datatype": "string"}])
    client.insert_location_for_schema(schema, {f"room{uid}": "lab"})
    client.insert_sensor_location(s, schema, {f"room{uid}": "lab"}, dt.datetime(2024, 1, 1, tzinfo=UTC))
    hist = client.list_sensor_locations(s)
    assert hist[0][f"room{uid}"] == "lab" and hist[0]["installation_datetime"] == "2024-01-01T00:00:00Z"

    client.delete_sensor(s)
    assert s not in [x["unique_identifier"] for x in client.list_sensors()]
    client.delete_sensor_type(t)


def test_models(client, uid):
    model, measure = f"model-{uid}", f"mean-{uid}"
    client.insert_model(model)
    assert {"name": model} in client.list_models()
    client.insert_model_measure(measure, "K", "float")
    assert {"name": measure, "units": "K", "datatype": "float"} in client.list_model_measures()
    client.insert_model_scenario(model, "baseline")
    assert {"model_name": model, "description": "baseline"} in client.list_model_scenarios()

    base = dt.datetime(2024, 2, 1, tzinfo=UTC)
    created = dt.datetime.now(UTC) - dt.timedelta(minutes=1)
    out = client.insert_model_run(
        model,
        "baseline",
        [{"measure_name": measure, "values": [1.0, 2.5], "timestamps": [base, base + dt.timedelta(hours=1)]}],
        time_created=created,
    )
    assert out["detail"] == "Model run inserted"
    runs = client.list_model_runs(model)
    assert len(runs) == 1 and runs[0]["scenario_description"] == "baseline"
    run_id = runs[0]["id"]
    assert out["id"] == run_id  # dtbase's extension
    result = client.get_model_run(run_id)
    assert result == {measure: [{"value": 1.0, "timestamp": "2024-02-01T00:00:00Z"},
                                {"value": 2.5, "timestamp": "2024-02-01T01:00:00Z"}]}
    assert client.get_model_run_sensor_measure(run_id) == {"sensor_unique_id": None, "sensor_measure": None}
    assert client.list_model_runs(model, scenario="other") == []


def test_services(client, uid):
    name = f"svc-{uid}"
    client.insert_service(name, "http://127.0.0.1:9/nothing", "POST")
    assert {"name": name, "url": "http://127.0.0.1:9/nothing", "http_method": "POST"} in client.list_services()
    client.insert_parameter_set(name, "p1", {"a": 1})
    client.edit_parameter_set(name, "p1", {"a": 2, "b": [1, 2]})
    sets = client.list_parameter_sets(name)
    assert sets == [{"service_name": name, "name": "p1", "parameters": {"a": 2, "b": [1, 2]}}]
    with pytest.raises(DTBaseError) as e:
        client.insert_parameter_set(name, "p1", {})
    assert e.value.status == 409
    client.delete_parameter_set(name, "p1")
    assert client.list_parameter_sets(name) == []
    assert client.list_runs(name) == []
    client.delete_service(name)
    with pytest.raises(DTBaseError) as e:
        client.delete_service(name)
    assert e.value.status == 400


def test_token_refresh(start_server):
    """A short-lived access token is refreshed before it expires; once the
    refresh token has expired too, the client logs in again."""
    # Access tokens live 3 s and refresh tokens 9 s. The slack is wide on
    # purpose: token expiry is in whole seconds (truncated) and the client
    # refreshes with a one-second margin, so on a busy machine a tighter
    # schedule could find the refresh token already too close to expiry.
    srv = start_server(DT_JWT_ACCESS_TOKEN_EXPIRES_SECONDS=3, DT_JWT_REFRESH_TOKEN_GRACE_SECONDS=6)
    c = Client(srv.url, email="default_user@localhost", password=PASSWORD)
    c.list_users()
    first_access, first_refresh = c.access_token, c.refresh_token
    time.sleep(3.2)  # access token expired, refresh token still valid
    c.list_users()
    assert c.access_token != first_access
    assert c.refresh_token != first_refresh  # refreshed, not a new login: still works either way
    time.sleep(9.2)  # both expired: a new login
    c.list_users()

    # Tokens without credentials refresh too, and an expired pair fails with 401.
    pair = Client(srv.url, email="default_user@localhost", password=PASSWORD).login()
    t = Client(srv.url, access_token=pair["access_token"], refresh_token=pair["refresh_token"])
    time.sleep(3.2)
    t.list_users()
    time.sleep(9.2)
    with pytest.raises(DTBaseError) as e:
        t.list_users()
    assert e.value.status == 401


def test_env_defaults(backend_env):
    c = Client()
    assert c.base_url == backend_env.url
    assert "default_user@localhost" in c.list_users()
