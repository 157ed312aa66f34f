"""provenance.verify on files signed here and then tampered with, re-encoded, truncated."""

from __future__ import annotations

import os

import pytest

from provenance.errors import InputError
from provenance.keys import init_identity, load_identity
from provenance.media import read_clip, write_clip
from provenance.sign import sign_file
from provenance.verify import load_trust_anchors, verify_file


@pytest.fixture()
def signed(tmp_path, make_clip, keys_dir):
    src = make_clip(tmp_path / "src.mp4", frames=12)
    return sign_file(src, tmp_path / "signed.mp4", load_identity(keys_dir)).path


def _boxes(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Top-level ISO BMFF boxes: type -> (payload start, end)."""
    out, pos = {}, 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        out.setdefault(kind, (pos + 8, pos + size))
        pos += size
    return out


def _flipped(path, out, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    out.write_bytes(data)
    return out


def test_intact_is_trusted_with_local_root(signed):
    rep = verify_file(signed)
    assert rep.state == "trusted" and rep.exit_code == 0 and rep.failures == []
    assert rep.signer["common_name"] == "framemark test signer"


@pytest.mark.parametrize("box", [b"mdat", b"moov"])
def test_flipped_byte_is_invalid(tmp_path, signed, box):
    start, end = _boxes(signed.read_bytes())[box]
    bad = _flipped(signed, tmp_path / "bad.mp4", (start + end) // 2)
    rep = verify_file(bad)
    assert rep.state == "invalid" and rep.exit_code == 1
    assert "assertion.bmffHash.mismatch" in rep.failures


def test_damaged_claim_signature(tmp_path, signed):
    data = signed.read_bytes()
    start, end = _boxes(data)[b"uuid"]  # the C2PA manifest box, right after ftyp
    sig_label = data.index(b"c2pa.signature", start, end)
    # COSE_Sign1 ends with: payload nil (0xf6), then the signature bstr (0x58 0x40 + 64 bytes for ES256)
    sig = data.index(b"\xf6\x58\x40", sig_label, end) + 3
    bad = _flipped(signed, tmp_path / "sig.mp4", sig + 20)
    rep = verify_file(bad)
    assert rep.state == "invalid" and "claimSignature.mismatch" in rep.failures


def test_truncated_files(tmp_path, signed):
    data = signed.read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    tail = tmp_path / "tail.mp4"
    tail.write_bytes(data[:-100])
    for p in (half, tail):
        try:
            rep = verify_file(p)
        except InputError as exc:  # a box running past the end: c2pa cannot parse it at all
            assert "cannot read C2PA data" in str(exc)
        else:
            assert rep.state == "invalid" and "assertion.bmffHash.mismatch" in rep.failures


@pytest.mark.parametrize("how", ["reencode", "remux"])
def test_reencoded_or_remuxed_is_absent(tmp_path, signed, how):
    out = tmp_path / f"{how}.mp4"
    if how == "reencode":
        write_clip(out, read_clip(signed), crf=28, preset="ultrafast")
    else:
        import av

        with av.open(str(signed)) as src, av.open(str(out), "w") as dst:
            s_in = src.streams.video[0]
            s_out = dst.add_stream_from_template(s_in)
            for pkt in src.demux(s_in):
                if pkt.dts is not None:
                    pkt.stream = s_out
                    dst.mux(pkt)
    rep = verify_file(out)
    assert rep.state == "absent" and rep.exit_code == 1 and rep.manifest is None


@pytest.mark.parametrize("content, message", [(b"", "empty file"), (os.urandom(4096), "cannot read C2PA"),
                                              (b"hello, not a video\n" * 10, "cannot read C2PA")])
def test_garbage_is_a_clean_input_error(tmp_path, content, message):
    p = tmp_path / "x.mp4"
    p.write_bytes(content)
    with pytest.raises(InputError, match=message):
        verify_file(p)


def test_missing_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        verify_file(tmp_path / "nope.mp4")
    with pytest.raises(InputError, match="directory"):
        verify_file(tmp_path)


def test_tampered_ingredient_is_surfaced(tmp_path, signed, keys_dir, make_clip):
    start, end = _boxes(signed.read_bytes())[b"mdat"]
    bad_parent = _flipped(signed, tmp_path / "bad-parent.mp4", (start + end) // 2)
    src = make_clip(tmp_path / "edit.mp4", frames=6, seed=2)
    child = sign_file(src, tmp_path / "child.mp4", load_identity(keys_dir), parent=bad_parent, source_type=None)
    rep = verify_file(child.path).to_dict()
    assert rep["state"] == "trusted"  # c2pa rates the top manifest on its own...
    (ing,) = rep["ingredients"]
    assert ing["state"] == "invalid" and "assertion.bmffHash.mismatch" in ing["failures"]
    assert rep["ingredient_failures"] and rep["ingredient_failures"][0]["title"] == "bad-parent.mp4"
    from provenance.report import render_card

    assert "WARNING" in render_card(rep)  # ...and the card says so


def test_trust_sources(tmp_path, signed, keys_dir, monkeypatch):
    other = init_identity(tmp_path / "other")
    # only another root: intact but not trusted
    rep = verify_file(signed, trust=[tmp_path / "other" / "ca.pem"], local_trust=False)
    assert rep.state == "valid" and rep.failures == ["signingCredential.untrusted"] and rep.exit_code == 0
    # a bundle with several roots (like the C2PA trust list) that includes ours
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"# a comment line\n" + other.root_pem + (keys_dir / "ca.pem").read_bytes())
    assert verify_file(signed, trust=[bundle], local_trust=False).state == "trusted"
    # $FRAMEMARK_TRUST, os.pathsep-separated
    monkeypatch.setenv("FRAMEMARK_TRUST", os.pathsep.join([str(tmp_path / "other" / "ca.pem"), str(bundle)]))
    pem, sources = load_trust_anchors(local=False)
    assert pem.count("BEGIN CERTIFICATE") == 2 and len(sources) == 2  # de-duplicated
    assert verify_file(signed, local_trust=False).state == "trusted"
    monkeypatch.delenv("FRAMEMARK_TRUST")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(InputError, match="junk.pem"):
        verify_file(signed, trust=[junk])
    with pytest.raises(InputError, match="no such file"):
        verify_file(signed, trust=[tmp_path / "missing.pem"])


def test_unsigned_file_is_absent(tmp_path, make_clip):
    rep = verify_file(make_clip(tmp_path / "plain.mp4", frames=4))
    assert rep.state == "absent" and rep.to_dict()["ai_generated"] is None


def test_c2pa_error_text_is_one_printable_line(tmp_path):
    # c2pa quotes the box type it choked on; here that is 4 bytes of binary
    p = tmp_path / "bin.mp4"
    p.write_bytes(b"\x00\x00\x00\x18\xff\x1b\x07\n" + bytes(range(256)) * 4)
    with pytest.raises(InputError) as info:
        verify_file(p)
    msg = str(info.value)
    assert "cannot read C2PA data" in msg and msg.isprintable() and "\ufffd" not in msg


def test_bare_manifest_store_says_what_to_do(tmp_path, make_clip, keys_dir):
    from provenance.report import render_card

    clip = make_clip(tmp_path / "a.mp4", frames=4)
    store = sign_file(clip, tmp_path / "a.c2pa", load_identity(keys_dir), sidecar=True).path
    rep = verify_file(store)  # the store alone: c2pa cannot hash an asset that is not there
    assert any("--sidecar" in n for n in rep.notes)
    assert "--sidecar" in render_card(rep.to_dict())
    assert verify_file(clip, sidecar=store).state == "trusted"


def test_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came
    with pytest.raises(InputError, match="not a regular file"):
        verify_file(fifo)
