"""framemark generate: the procedural world, the tiny Wan text-to-video model, its training,
the analyser, the latent watermark and the ``generate`` command.

Nothing heavy is imported here: ``generate.world`` and ``generate.analyser`` need only
numpy/scipy; ``generate.model`` and ``generate.train`` import torch and diffusers, so
import them explicitly where a model is needed.
"""

__all__: list[str] = []
