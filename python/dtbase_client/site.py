"""Site models: the 3D model (glTF 2.0) of a location schema's site, and the
placement that maps the schema's locations into it.

>>> from dtbase_client import Client, site
>>> c = Client("http://localhost:5000", email="default_user@localhost", password="...")
>>> site.upload_site_model(c, "crop-farm", open("farm.glb", "rb"))
{'schema_name': 'crop-farm', 'version': 2, 'format': 'glb', ...}

The file is a ``.glb``, or a ``.gltf`` whose buffers and images are embedded
as ``data:`` URIs; the server refuses anything else with a 400 and files over
its ``DT_SITE_MODEL_MAX_BYTES`` with a 413 (a ``DTBaseError``).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Union

from .client import Client
from .exc import DTBaseError

__all__ = ["upload_site_model", "site_model_file", "get_site", "set_site_placement", "delete_site_model"]


def upload_site_model(client: Client, schema_name: str, data: Union[bytes, Any]) -> Dict[str, Any]:
    """Store ``data`` (bytes or a binary file object) as the schema's site
    model, replacing the previous one; returns its version and digest."""
    if not isinstance(data, (bytes, bytearray)):
        data = data.read()  # read once, so a retry after a renewed token can resend it
    ctype = "model/gltf+json" if bytes(data).lstrip()[:1] == b"{" else "model/gltf-binary"
    path = "/location/upload-site-model"
    resp = client.request("POST", path, params={"schema_name": schema_name}, data=bytes(data), headers={"Content-Type": ctype})
    if resp.status_code != 201:
        raise DTBaseError("POST", path, resp)
    return resp.json()


def site_model_file(client: Client, schema_name: str) -> bytes:
    """Download the schema's site model as stored."""
    path = "/location/site-model"
    resp = client.request("GET", path, params={"schema_name": schema_name})
    if resp.status_code != 200:
        raise DTBaseError("GET", path, resp)
    return resp.content


def get_site(client: Client, schema_name: str) -> Dict[str, Any]:
    """The schema's model (``None`` without one) and placement."""
    return client.post("/location/get-site", {"schema_name": schema_name}, 200)


def set_site_placement(client: Client, schema_name: str, x: str, y: str, z: Optional[str] = None, unit: str = "m",
                       offset: Sequence[float] = (0.0, 0.0, 0.0), rotation: float = 0.0, scale: float = 1.0) -> Dict[str, str]:
    """Say which identifiers hold east, north and up, in which unit, and how
    the model is moved (offset in metres, rotation in degrees) to line up."""
    body = {"schema_name": schema_name, "x": x, "y": y, "z": z or "", "unit": unit, "offset": list(offset),
            "rotation": rotation, "scale": scale}
    return client.post("/location/set-site-placement", body, 200)


def delete_site_model(client: Client, schema_name: str) -> Dict[str, str]:
    """Remove the schema's site model."""
    return client.post("/location/delete-site-model", {"schema_name": schema_name}, 200)
