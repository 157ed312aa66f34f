"""The C2PA Soft Binding Resolution API over the manifest store, and its client."""

from __future__ import annotations

import base64

import httpx
import pytest

from detect.resolver_client import ResolverClient, ResolverError
from detect.service import ServiceSettings
from provenance.errors import UsageError
from provenance.store import ManifestStore
from tests.test_service_support import running_server, service_detector

ALG = "org.framemark.video.1"
IDENT = bytes.fromhex("0123456789ab")
VALUE = base64.b64encode(IDENT).decode()
MANIFEST = b"\x00\x00\x00\x20jumb" + bytes(range(256)) * 4  # opaque bytes: the store does not parse them


@pytest.fixture()
def keys_dir(tmp_path):
    d = tmp_path / "keys"
    d.mkdir()
    store = ManifestStore(d)
    store.add(alg=ALG, value=VALUE, manifest_bytes=MANIFEST, manifest_id="urn:c2pa:1111-aaaa", created=1.0)
    store.add(alg=ALG, value=VALUE, manifest_bytes=MANIFEST + b"v2", manifest_id="urn:c2pa:2222-bbbb", created=2.0)
    store.add(alg=ALG, value=base64.b64encode(b"\xff" * 6).decode(), manifest_bytes=None, manifest_id=None)
    return d


@pytest.fixture()
def server(keys_dir):
    with running_server(ServiceSettings(keys_dir=keys_dir, detector=service_detector())) as url:
        yield url


def test_by_binding_get_and_post(server):
    resp = httpx.get(f"{server}/matches/byBinding", params={"alg": ALG, "value": VALUE})
    assert resp.status_code == 200
    assert resp.json() == {"matches": [{"manifestId": "urn:c2pa:2222-bbbb", "similarityScore": 100},
                                       {"manifestId": "urn:c2pa:1111-aaaa", "similarityScore": 100}]}
    one = httpx.get(f"{server}/matches/byBinding", params={"alg": ALG, "value": VALUE, "maxResults": 1}).json()
    assert [m["manifestId"] for m in one["matches"]] == ["urn:c2pa:2222-bbbb"]
    posted = httpx.post(f"{server}/matches/byBinding", json={"alg": ALG, "value": VALUE})
    assert posted.status_code == 200 and posted.json() == resp.json()
    # unpadded base64 is the same value
    assert httpx.get(f"{server}/matches/byBinding", params={"alg": ALG, "value": VALUE.rstrip("=")}).json() == resp.json()
    # a binding recorded without a manifest is not a match: there would be nothing to fetch
    none = httpx.get(f"{server}/matches/byBinding", params={"alg": ALG, "value": base64.b64encode(b"\xff" * 6).decode()})
    assert none.json() == {"matches": []}
    other = httpx.get(f"{server}/matches/byBinding", params={"alg": "org.example.other", "value": VALUE})
    assert other.json() == {"matches": []}


@pytest.mark.parametrize("params", [{"alg": ALG, "value": "not base64!"}, {"alg": ALG}, {"value": VALUE},
                                    {"alg": "bad alg/../", "value": VALUE},
                                    {"alg": ALG, "value": VALUE, "maxResults": 0}])
def test_by_binding_rejects_bad_queries(server, params):
    resp = httpx.get(f"{server}/matches/byBinding", params=params)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_request"


def test_by_binding_post_rejects_bad_bodies(server):
    for body in (b"{", b"[]", b'{"alg": 1, "value": "x"}', b"\xff\xfe"):
        resp = httpx.post(f"{server}/matches/byBinding", content=body, headers={"content-type": "application/json"})
        assert resp.status_code == 400, body
    big = httpx.post(f"{server}/matches/byBinding", content=b" " * 200_000)
    assert big.status_code == 413


def test_manifest_fetch_is_application_c2pa(server):
    resp = httpx.get(f"{server}/manifests/urn:c2pa:1111-aaaa")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/c2pa"
    assert resp.content == MANIFEST
    missing = httpx.get(f"{server}/manifests/urn:c2pa:nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_supported_algorithms(server):
    body = httpx.get(f"{server}/services/supportedAlgorithms").json()
    assert {"alg": ALG} in body["watermarks"] and body["fingerprints"] == []


def test_by_content_refuses_non_media(server):
    resp = httpx.post(f"{server}/matches/byContent", content=b"plain text", headers={"content-type": "video/mp4"})
    assert resp.status_code == 415


def test_client_resolves_and_fetches(server):
    client = ResolverClient(server + "/", timeout_s=5)
    found = client.resolve(ALG, VALUE)
    assert found is not None
    assert found.manifest_id == "urn:c2pa:2222-bbbb" and found.manifest_bytes == MANIFEST + b"v2"
    assert found.similarity == 100
    assert client.resolve(ALG, base64.b64encode(b"\x00" * 6).decode()) is None
    with pytest.raises(ResolverError, match="not found"):
        client.fetch_manifest("urn:c2pa:nope")


def test_client_errors_are_framemark_errors():
    with pytest.raises(UsageError):
        ResolverClient("ftp://example.org")
    with socket_closed_port() as port:
        client = ResolverClient(f"http://127.0.0.1:{port}", timeout_s=2)
        with pytest.raises(ResolverError, match="unreachable"):
            client.resolve(ALG, VALUE)
    with pytest.raises(UsageError):
        ResolverClient("http://127.0.0.1:1").matches(ALG, "not base64!")


class socket_closed_port:
    """A loopback port with nothing listening (bound then closed)."""

    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc) -> None:
        return None
