"""framemark detect: what an uploaded clip is, and where it came from.

The fused detector (:mod:`detect.fuse`, ``detect_file``), its verdict rules
(:mod:`detect.verdict`), credential recovery through soft bindings
(:mod:`detect.recovery`), the forensic classifier (:mod:`detect.normalize`,
:mod:`detect.features`, :mod:`detect.classifier`, :mod:`detect.training`), batch
detection (:mod:`detect.batch`), attacks and the HTTP service. Nothing is imported
here: each submodule loads its own (sometimes heavy) dependencies when used.
"""

__all__: list[str] = []
