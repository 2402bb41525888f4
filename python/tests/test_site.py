"""Site models through the Python SDK."""

from __future__ import annotations

import json
import struct

import pytest

from dtbase_client import DTBaseError, site


def glb(doc: dict, bin_chunk: bytes) -> bytes:
    """A GLB file: header, JSON chunk, binary chunk, each padded to 4 bytes."""
    j = json.dumps(doc).encode()
    j += b" " * (-len(j) % 4)
    bin_chunk += b"\0" * (-len(bin_chunk) % 4)
    body = struct.pack("<II", len(j), 0x4E4F534A) + j + struct.pack("<II", len(bin_chunk), 0x004E4942) + bin_chunk
    return struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body


def test_site_model(client, uid):
    schema = f"site-{uid}"
    client.insert_location_schema(schema, None, [{"name": "x", "units": "m", "datatype": "float"},
                                                 {"name": "y", "units": "m", "datatype": "float"}])
    model = glb({"asset": {"version": "2.0"}, "buffers": [{"byteLength": 4}]}, b"\1\2\3\4")
    info = site.upload_site_model(client, schema, model)
    assert info["version"] == 1 and info["format"] == "glb"
    assert site.site_model_file(client, schema) == model

    with pytest.raises(DTBaseError) as bad:
        site.upload_site_model(client, schema, model[:-3])
    assert bad.value.status == 400 and "truncated" in str(bad.value.detail)

    site.set_site_placement(client, schema, "x", "y", unit="cm", offset=(1, 2, 3))
    got = site.get_site(client, schema)
    assert got["model"]["version"] == 1
    assert got["placement"]["unit"] == "cm" and got["placement"]["offset"] == [1, 2, 3]
    site.delete_site_model(client, schema)
    assert site.get_site(client, schema)["model"] is None
