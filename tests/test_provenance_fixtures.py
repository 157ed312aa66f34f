"""Interoperability: every C2PA reference file gives the outcome its README lists.

The files come from the c2pa-rs test set (../shared/fixtures/c2pa, used in place).
No trust anchors: every signed file is at best "valid" (signingCredential.untrusted).
"""

from __future__ import annotations

import time

import pytest

from provenance.errors import InputError
from provenance.verify import verify_file

# file -> (state, failure codes that must be present)
EXPECTED = {
    "video1.mp4": ("valid", {"signingCredential.untrusted"}),
    "legacy.mp4": ("valid", {"signingCredential.untrusted"}),
    "video1_no_manifest.mp4": ("absent", set()),
    "c.mov": ("absent", set()),
    "C.jpg": ("valid", {"signingCredential.untrusted"}),
    "CA.jpg": ("valid", {"signingCredential.untrusted"}),
    "XCA.jpg": ("invalid", {"assertion.dataHash.mismatch"}),
    "E-sig-CA.jpg": ("invalid", {"claimSignature.mismatch"}),
    "adobe-20220124-E-clm-CAICAI.jpg": ("invalid", {"assertion.hashedURI.mismatch", "ingredient.manifest.missing"}),
    "no_manifest.jpg": ("absent", set()),
    "dashinit.mp4": ("invalid", {"assertion.bmffHash.mismatch"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reference_file_outcome(c2pa_fixtures, name):
    state, codes = EXPECTED[name]
    rep = verify_file(c2pa_fixtures / name, local_trust=False)
    assert rep.state == state, (name, rep.failures)
    assert codes <= set(rep.failures), (name, rep.failures)
    if state == "valid":
        assert set(rep.failures) == {"signingCredential.untrusted"}
        assert rep.signer and rep.signer["common_name"]
    if state == "absent":
        assert rep.manifest is None


def test_dash_init_with_its_fragment_is_intact(c2pa_fixtures):
    rep = verify_file(c2pa_fixtures / "dashinit.mp4", fragments=[c2pa_fixtures / "dash1.m4s"], local_trust=False)
    assert rep.state == "valid" and rep.failures == ["signingCredential.untrusted"]
    assert rep.manifest_source == "fragments"


def test_nested_boxes_clean_error_no_hang(c2pa_fixtures):
    t0 = time.monotonic()
    with pytest.raises(InputError, match="nested"):
        verify_file(c2pa_fixtures / "nested_moov_1000.mp4", local_trust=False)
    assert time.monotonic() - t0 < 5


def test_ingredients_of_reference_files(c2pa_fixtures):
    rep = verify_file(c2pa_fixtures / "CA.jpg", local_trust=False).to_dict()
    (ing,) = rep["ingredients"]
    assert ing["title"] == "A.jpg" and ing["relationship"] == "parentOf"
    assert [a["action"] for a in rep["actions"]][:1] == ["c2pa.opened"]
    adobe = verify_file(c2pa_fixtures / "adobe-20220124-E-clm-CAICAI.jpg", local_trust=False).to_dict()
    assert any("ingredient.manifest.missing" in f["failures"] for f in adobe["ingredient_failures"])
    video = verify_file(c2pa_fixtures / "video1.mp4", local_trust=False).to_dict()
    assert len(video["manifest"]["manifests"]) == 2 and video["ingredients"]
