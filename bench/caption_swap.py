"""How much the transformer reads each part of a prompt: teacher-forced denoising with the
true caption against the same caption with one attribute swapped.

World clips (the training distribution, seeded) are encoded by the model's own VAE, noised
to a few sigmas with fixed noise, and the transformer predicts the clean latent from each
caption. On the latent cells an object touches (``generate.train.latent_cover``) a model
that draws what it is told does worse when told the wrong shape, colour or motion; a model
that ignores a word does the same either way. The "no caption" row is the whole prompt's
worth (the unconditional branch classifier-free guidance starts from).

    nice -n 10 .venv/bin/python -m bench.caption_swap [--model DIR] [--clips 48] [--size large] [--path pooled|cross] [--probe] [--json out.json]

Prints a Markdown table: the object cells' x0 error with the true caption, and how much
larger (in %) it is with each swap; the background error for reference.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace

import numpy as np

SIGMAS = (0.9, 0.7, 0.5, 0.3)
_OPPOSITE = {"left": "right", "up": "down", "up-left": "down-right", "up-right": "down-left",
             "bounce": "rotate", "grow": "shrink"}
_OPPOSITE.update({v: k for k, v in list(_OPPOSITE.items())})


def swapped(spec, attribute: str):
    """``spec`` with every object's ``attribute`` changed to a different value of the world's."""
    from generate import world

    def change(obj):
        if attribute == "shape":
            return replace(obj, shape=world.SHAPES[(world.SHAPES.index(obj.shape) + 2) % len(world.SHAPES)])
        if attribute == "colour":
            names = list(world.COLOURS)
            return replace(obj, colour=names[(names.index(obj.colour) + 3) % len(names)])
        if attribute == "motion":
            return replace(obj, motion=_OPPOSITE[obj.motion])
        raise ValueError(attribute)

    return replace(spec, objects=tuple(change(o) for o in spec.objects))


@contextlib.contextmanager
def prompt_path(path: str, empty):
    """Let the caption reach the transformer through one of its two paths only: ``pooled``
    (the pooled vector added to the timestep embedding, AdaLN) or ``cross`` (cross-attention
    to the token states); the other path gets ``empty``, the empty prompt's embedding [1, L, D].
    ``both`` changes nothing."""
    from generate.model import PooledTimeTextEmbedding

    if path == "both":
        yield
        return
    if path not in ("pooled", "cross"):
        raise ValueError(path)
    original = PooledTimeTextEmbedding.forward

    def forward(self, timestep, encoder_hidden_states, *args, **kwargs):
        blank = empty[:1].expand(encoder_hidden_states.shape[0], -1, -1).to(encoder_hidden_states.dtype)
        pooled_from, cross_from = (encoder_hidden_states, blank) if path == "pooled" else (blank, encoder_hidden_states)
        temb, timestep_proj, _, image = original(self, timestep, pooled_from, *args, **kwargs)
        cross = original(self, timestep, cross_from, *args, **kwargs)[2]
        return temb, timestep_proj, cross, image

    PooledTimeTextEmbedding.forward = forward
    try:
        yield
    finally:
        PooledTimeTextEmbedding.forward = original


def measure(model_dir=None, clips: int = 48, seed: int = 0, threads: int = 2, size: str | None = None,
            path: str = "both") -> dict:
    """The report; ``size`` makes every clip one object of that size (is shape a matter of
    how many tokens an object covers?); ``path``: see :func:`prompt_path`."""
    import torch

    from generate import world
    from generate.inversion import latent_stats
    from generate.model import encode_prompts, load_pipeline
    from generate.train import encode_world_clips, latent_cover

    torch.set_num_threads(threads)
    pipe = load_pipeline(model_dir)
    cfg = pipe.framemark_config
    vae, model = pipe.vae.eval(), pipe.transformer.eval()
    rng = np.random.default_rng([seed, 7])
    if size is None:
        specs = [world.random_scene(rng) for _ in range(clips)]
    else:
        specs = [world.random_scene(rng, two_object_prob=0.0) for _ in range(clips)]
        specs = [replace(sp, objects=tuple(replace(o, size=size) for o in sp.objects)) for sp in specs]
    mean, std = latent_stats(vae)
    x0 = (encode_world_clips(vae, specs, cfg) - mean) / std
    cover = latent_cover(specs, cfg, (vae.config.scale_factor_temporal, vae.config.scale_factor_spatial))
    # the same phrasing (template, synonyms' positions) for a caption and its swaps
    captions = {"true": [world.caption(sp, i + 1000 * seed) for i, sp in enumerate(specs)]}
    for attr in ("shape", "colour", "motion"):
        captions[attr] = [world.caption(swapped(sp, attr), i + 1000 * seed) for i, sp in enumerate(specs)]
    captions["no caption"] = [""] * clips
    embeddings = {k: encode_prompts(v, cfg.max_sequence_length) for k, v in captions.items()}
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    rows = []
    with torch.no_grad(), prompt_path(path, embeddings["no caption"]):
        for sigma in SIGMAS:
            xt = (1 - sigma) * x0 + sigma * noise
            errs = {}
            for name, emb in embeddings.items():
                pred = torch.cat([model(hidden_states=xt[i:i + 16], timestep=torch.full((len(xt[i:i + 16]),), sigma * 1000),
                                        encoder_hidden_states=emb[i:i + 16], return_dict=False)[0]
                                  for i in range(0, clips, 16)])
                err = ((xt - sigma * pred - x0) ** 2).mean(1, keepdim=True)
                errs[name] = (float((err * cover).sum() / cover.sum()),
                              float((err * (1 - cover)).sum() / (1 - cover).sum()))
            true_obj, true_bg = errs["true"]
            rows.append({"sigma": sigma, "object_error": true_obj, "background_error": true_bg,
                         **{f"{k}_increase_pct": 100.0 * (errs[k][0] / true_obj - 1.0)
                            for k in ("shape", "colour", "motion", "no caption")}})
    from generate.model import model_info

    return {"model": model_info(pipe), "clips": clips, "seed": seed, "size": size, "path": path, "rows": rows,
            "example": {k: v[0] for k, v in captions.items()}}


def text_probe(captions: int = 1200, seed: int = 0) -> dict:
    """How well each attribute can be read linearly from the pooled prompt embedding (the
    vector the transformer's AdaLN path gets): 3-fold cross-validated logistic regression on
    single-object training captions. Shape as readable as colour means a transformer that
    ignores shape does so on its own side, not for want of it in the text."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from generate import world
    from generate.model import DEFAULT_CONFIG, encode_prompts, pooled_prompt

    rng = np.random.default_rng([seed, 8])
    specs = [world.random_scene(rng, two_object_prob=0.0) for _ in range(captions)]
    emb = encode_prompts([world.caption(sp, rng) for sp in specs], DEFAULT_CONFIG.max_sequence_length)
    pooled = pooled_prompt(emb).numpy()
    return {attr: float(cross_val_score(LogisticRegression(C=1.0, max_iter=2000), pooled,
                                        [getattr(sp.objects[0], attr) for sp in specs], cv=3).mean())
            for attr in ("shape", "colour", "motion")}


def table(report: dict) -> str:
    out = [f"e.g. {report['example']['true']!r} / {report['example']['shape']!r}",
           "| sigma | object x0 error | wrong shape | wrong colour | wrong motion | no caption | background error |",
           "|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        out.append(f"| {r['sigma']} | {r['object_error']:.3f} | {r['shape_increase_pct']:+.1f} % | "
                   f"{r['colour_increase_pct']:+.1f} % | {r['motion_increase_pct']:+.1f} % | "
                   f"{r['no caption_increase_pct']:+.1f} % | {r['background_error']:.3f} |")
    if "text_probe_accuracy" in report:
        out.append("pooled prompt embedding, linear probe accuracy: "
                   + ", ".join(f"{k} {100 * v:.1f} %" for k, v in report["text_probe_accuracy"].items()))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from bench.model_report import run

    def measure_all(a) -> dict:
        report = measure(a.model, a.clips, a.seed, size=a.size, path=a.path)
        if a.probe:
            report["text_probe_accuracy"] = text_probe(seed=a.seed)
        return report

    def probe_option(p) -> None:
        from generate.world import SIZES

        p.add_argument("--probe", action="store_true",
                       help="also: how well the pooled prompt embedding itself tells each attribute (linear probe)")
        p.add_argument("--size", choices=list(SIZES), help="every clip one object of this size")
        p.add_argument("--path", choices=("both", "pooled", "cross"), default="both",
                       help="the caption reaches the transformer through this path only (default both)")

    return run("bench.caption_swap", __doc__, 48, measure_all, table, argv, extra=probe_option)


if __name__ == "__main__":
    sys.exit(main())
