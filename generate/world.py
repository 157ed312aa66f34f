"""The procedural world the generator is trained on, rendered with numpy alone.

A scene is a :class:`SceneSpec`: one or two :class:`ObjectSpec` (shape, colour,
size, motion), a textured background and an optional camera pan. ``render``
draws any spec deterministically (same spec -> same bytes). ``caption`` phrases
a spec in varied words (templates x synonyms); a held-out set of templates and
synonyms, and a held-out set of colour x shape x motion combinations, are never
used for training so the analyser can measure generalisation.

Design choices that matter for learning (see docs/generator.md):
- object colours are bright and saturated, backgrounds dark and desaturated, so
  an object is unambiguous at any noise level and the analyser can segment it;
- directional motions are strong (the object travels ~55% of the frame), start
  on the side opposite to where they go, and never reverse, so "left" is
  visible in every latent frame;
- textures are low-frequency, so an 8x spatial VAE can reconstruct them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from provenance.errors import UsageError

__all__ = [
    "COLOURS", "BACKGROUNDS", "SHAPES", "SIZES", "MOTIONS", "DIRECTIONS", "TEXTURES", "PANS",
    "ObjectSpec", "SceneSpec", "render", "render_with_masks", "object_masks", "caption", "random_scene",
    "is_heldout_combo", "heldout_prompts", "train_combos", "spec_from_dict", "shape_mask",
]

#: object palette: name -> RGB. Chosen far apart in RGB and far from every background.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 35, 35),
    "green": (40, 200, 60),
    "blue": (40, 90, 240),
    "yellow": (245, 225, 35),
    "purple": (165, 60, 215),
    "orange": (250, 140, 20),
    "white": (245, 245, 245),
    "cyan": (30, 215, 225),
}

#: background base colours: dark and desaturated, so no object colour is ever close
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "charcoal": (38, 38, 42),
    "slate": (48, 58, 72),
    "brown": (68, 54, 44),
    "olive": (52, 60, 40),
}

SHAPES = ("circle", "square", "triangle", "star", "cross")
#: radius (fraction of the frame side) of the circumscribed circle
SIZES: dict[str, float] = {"small": 0.11, "medium": 0.15, "large": 0.20}
#: unit direction vectors in image coordinates (x right, y down)
DIRECTIONS: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0),
    "up-left": (-0.7071, -0.7071), "up-right": (0.7071, -0.7071),
    "down-left": (-0.7071, 0.7071), "down-right": (0.7071, 0.7071),
}
MOTIONS = tuple(DIRECTIONS) + ("bounce", "rotate", "grow", "shrink")
TEXTURES = ("plain", "stripes", "checker", "noise", "gradient")
PANS = ("none", "left", "right")

#: how far a directional motion travels over the clip (fraction of the frame)
TRAVEL = 0.55


@dataclass(frozen=True)
class ObjectSpec:
    shape: str
    colour: str
    size: str = "medium"
    motion: str = "right"
    #: start offset perpendicular to the motion / position jitter, in [-1, 1]
    jitter: float = 0.0
    #: initial rotation angle in radians (used by every shape; rotation motion spins from here)
    angle: float = 0.0

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise UsageError(f"unknown shape {self.shape!r} (choose from {', '.join(SHAPES)})")
        if self.colour not in COLOURS:
            raise UsageError(f"unknown colour {self.colour!r} (choose from {', '.join(COLOURS)})")
        if self.size not in SIZES:
            raise UsageError(f"unknown size {self.size!r} (choose from {', '.join(SIZES)})")
        if self.motion not in MOTIONS:
            raise UsageError(f"unknown motion {self.motion!r} (choose from {', '.join(MOTIONS)})")


@dataclass(frozen=True)
class SceneSpec:
    objects: tuple[ObjectSpec, ...]
    background: str = "charcoal"
    texture: str = "plain"
    pan: str = "none"
    #: seeds the texture pattern only; the objects are fully described above
    texture_seed: int = 0
    #: where two objects sit (top/bottom halves) so they never overlap
    layout: str = "single"

    def __post_init__(self) -> None:
        if not 1 <= len(self.objects) <= 2:
            raise UsageError("a scene has one or two objects")
        if self.background not in BACKGROUNDS:
            raise UsageError(f"unknown background {self.background!r}")
        if self.texture not in TEXTURES:
            raise UsageError(f"unknown texture {self.texture!r}")
        if self.pan not in PANS:
            raise UsageError(f"unknown camera pan {self.pan!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def spec_from_dict(d: dict) -> SceneSpec:
    objs = tuple(ObjectSpec(**o) for o in d["objects"])
    return SceneSpec(**{**d, "objects": objs})


# ----------------------------------------------------------------------------- geometry

def _polygon(shape: str) -> np.ndarray | None:
    """Unit polygon (circumradius 1, pointing up) for polygonal shapes; None for the circle."""
    if shape == "square":
        a = np.deg2rad([45, 135, 225, 315])
        return np.stack([np.cos(a), np.sin(a)], 1)
    if shape == "triangle":
        a = np.deg2rad([-90, 30, 150])
        return np.stack([np.cos(a), np.sin(a)], 1)  # centroid = circumcentre: no offset needed
    if shape == "star":
        a = np.deg2rad(-90 + 36 * np.arange(10))
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        return np.stack([r * np.cos(a), r * np.sin(a)], 1)
    if shape == "cross":
        w = 0.36
        return np.array([[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w], [w, 1], [-w, 1],
                         [-w, w], [-1, w], [-1, -w], [-w, -w]], dtype=float)
    return None


def shape_mask(shape: str, cx: float, cy: float, radius: float, angle: float, h: int, w: int,
               supersample: int = 2) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of ``shape`` centred at (cx, cy) (fractions of the frame)."""
    s = supersample
    ys = (np.arange(h * s) + 0.5) / (h * s)
    xs = (np.arange(w * s) + 0.5) / (w * s)
    # work in units of the frame's shorter side so shapes stay round on non-square frames
    side = min(h, w)
    px = (xs[None, :] - cx) * w / side
    py = (ys[:, None] - cy) * h / side
    if shape == "circle":
        inside = (px ** 2 + py ** 2) <= (radius * 0.85) ** 2  # a disc looks bigger than polygons
    else:
        poly = _polygon(shape) * radius
        c, sn = math.cos(angle), math.sin(angle)
        poly = poly @ np.array([[c, sn], [-sn, c]])
        inside = _point_in_polygon(px, py, poly)
    cov = inside.reshape(h, s, w, s).mean(axis=(1, 3))
    return cov.astype(np.float32)


def _point_in_polygon(px: np.ndarray, py: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorised over pixels (works for the non-convex star and cross)."""
    px, py = np.broadcast_arrays(px, py)
    inside = np.zeros(px.shape, dtype=bool)
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (y1 > py) != (y2 > py)
        xint = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < xint)
    return inside


def _trajectory(obj: ObjectSpec, layout_slot: int, n_objects: int, t: float) -> tuple[float, float, float, float]:
    """Centre x, y, radius and angle of an object at clip time t in [0, 1]."""
    radius = SIZES[obj.size]
    angle = obj.angle
    # two-object scenes: one object per half (top / bottom) so they never collide
    if n_objects == 2:
        base_y = 0.28 if layout_slot == 0 else 0.72
        radius *= 0.8
    else:
        base_y = 0.5
    base_x = 0.5
    j = obj.jitter
    if obj.motion in DIRECTIONS:
        dx, dy = DIRECTIONS[obj.motion]
        travel = TRAVEL if n_objects == 1 else TRAVEL * 0.9
        if n_objects == 2:
            dy = 0.0 if abs(dx) > 0 else dy * 0.35  # keep each object in its own half
            norm = math.hypot(dx, dy) or 1.0
            dx, dy = dx / norm, dy / norm
            travel = travel if abs(dx) > 0 else 0.16
        # perpendicular jitter keeps the path varied without making the direction ambiguous
        perp = (-dy, dx)
        cx = base_x + perp[0] * 0.12 * j + dx * travel * (t - 0.5)
        cy = base_y + perp[1] * 0.12 * j + dy * travel * (t - 0.5)
        return cx, cy, radius, angle
    cx = base_x + 0.15 * j
    cy = base_y
    if obj.motion == "bounce":
        # two bounces off an invisible floor: |sin| keeps the hops sharp at the floor
        amp = 0.30 if n_objects == 1 else 0.14
        cy = base_y + amp * 0.5 - amp * abs(math.sin(2 * math.pi * t))
    elif obj.motion == "rotate":
        angle = obj.angle + t * math.pi * 0.9  # clockwise in image coordinates
    elif obj.motion == "grow":
        radius *= 0.55 + 0.9 * t
    elif obj.motion == "shrink":
        radius *= 1.45 - 0.9 * t
    return cx, cy, radius, angle


def _texture(spec: SceneSpec, h: int, w: int, offset_x: float) -> np.ndarray:
    """Background image float32 [h, w, 3] in 0..255; ``offset_x`` scrolls it (camera pan)."""
    base = np.array(BACKGROUNDS[spec.background], dtype=np.float32)
    ys = (np.arange(h) + 0.5) / h
    xs = (np.arange(w) + 0.5) / w + offset_x
    rng = np.random.default_rng(spec.texture_seed)
    if spec.texture == "plain":
        pat = np.zeros((h, w), np.float32)
    elif spec.texture == "stripes":
        freq = rng.uniform(3, 6)
        theta = rng.uniform(0, math.pi)
        u = xs[None, :] * math.cos(theta) + ys[:, None] * math.sin(theta)
        pat = np.sin(2 * math.pi * freq * u).astype(np.float32)
    elif spec.texture == "checker":
        k = rng.integers(3, 6)
        pat = np.where((np.floor(xs[None, :] * k) + np.floor(ys[:, None] * k)) % 2 == 0, 1.0, -1.0).astype(np.float32)
    elif spec.texture == "noise":
        # smooth value noise: a coarse random grid, bilinearly interpolated, periodic in x for pans
        g = rng.standard_normal((6, 6)).astype(np.float32)
        gx = (xs * 6) % 6
        gy = ys * 5
        x0 = np.floor(gx).astype(int)
        y0 = np.floor(gy).astype(int)
        fx = (gx - x0)[None, :]
        fy = (gy - y0)[:, None]
        x1 = (x0 + 1) % 6
        y1 = np.minimum(y0 + 1, 5)
        pat = (g[y0][:, x0] * (1 - fx) * (1 - fy) + g[y0][:, x1] * fx * (1 - fy)
               + g[y1][:, x0] * (1 - fx) * fy + g[y1][:, x1] * fx * fy)
        pat = np.clip(pat, -1.5, 1.5) / 1.5
    else:  # gradient
        theta = rng.uniform(0, 2 * math.pi)
        u = (xs[None, :] - 0.5) * math.cos(theta) + (ys[:, None] - 0.5) * math.sin(theta)
        pat = np.sin(u * math.pi).astype(np.float32)
    amp = 14.0
    img = base[None, None, :] + amp * pat[:, :, None]
    return img


def object_masks(spec: SceneSpec, num_frames: int = 17, height: int = 128, width: int = 128) -> np.ndarray:
    """Coverage masks float32 [n_objects, T, H, W] (what the analyser treats as ground truth)."""
    out = np.zeros((len(spec.objects), num_frames, height, width), np.float32)
    for t_idx in range(num_frames):
        t = t_idx / max(1, num_frames - 1)
        for k, obj in enumerate(spec.objects):
            cx, cy, r, a = _trajectory(obj, k, len(spec.objects), t)
            out[k, t_idx] = shape_mask(obj.shape, cx, cy, r, a, height, width)
    return out


def render(spec: SceneSpec, num_frames: int = 17, height: int = 128, width: int = 128) -> np.ndarray:
    """Draw ``spec`` as uint8 RGB frames [T, H, W, 3]; deterministic for a given spec and size."""
    return render_with_masks(spec, num_frames, height, width)[0]


def render_with_masks(spec: SceneSpec, num_frames: int = 17, height: int = 128,
                      width: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """:func:`render`'s frames and the :func:`object_masks` they were drawn with (the masks
    cost most of a render, so a caller that needs both should not compute them twice)."""
    if num_frames < 1 or height < 16 or width < 16:
        raise UsageError(f"cannot render {num_frames} frames of {width}x{height}")
    masks = object_masks(spec, num_frames, height, width)
    pan_speed = {"none": 0.0, "left": -0.35, "right": 0.35}[spec.pan]
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t_idx in range(num_frames):
        t = t_idx / max(1, num_frames - 1)
        # the camera panning left makes the background slide right, and vice versa
        img = _texture(spec, height, width, offset_x=-pan_speed * t)
        for k, obj in enumerate(spec.objects):
            m = masks[k, t_idx][:, :, None]
            img = img * (1 - m) + np.array(COLOURS[obj.colour], np.float32) * m
        frames[t_idx] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return frames, masks


# ----------------------------------------------------------------------------- captions

# training phrasing; the HELDOUT_* ones are only used to build the evaluation prompts
_SHAPE_WORDS = {
    "circle": ["circle", "disc", "ball", "round dot"],
    "square": ["square", "box", "block"],
    "triangle": ["triangle", "three-sided shape"],
    "star": ["star", "five-pointed star"],
    "cross": ["cross", "plus sign", "plus"],
}
_HELDOUT_SHAPE_WORDS = {"circle": ["disk"], "square": ["cube-like square"], "triangle": ["triangular shape"],
                        "star": ["star shape"], "cross": ["plus symbol"]}
_DIR_WORDS = {
    "left": ["to the left", "left", "leftward", "towards the left"],
    "right": ["to the right", "right", "rightward", "towards the right"],
    "up": ["up", "upward", "towards the top"],
    "down": ["down", "downward", "towards the bottom"],
    "up-left": ["up and to the left", "diagonally up-left", "towards the top left"],
    "up-right": ["up and to the right", "diagonally up-right", "towards the top right"],
    "down-left": ["down and to the left", "diagonally down-left", "towards the bottom left"],
    "down-right": ["down and to the right", "diagonally down-right", "towards the bottom right"],
}
_HELDOUT_DIR_WORDS = {
    "left": ["in the leftward direction"], "right": ["in the rightward direction"],
    "up": ["skyward"], "down": ["toward the floor"],
    "up-left": ["to the upper left"], "up-right": ["to the upper right"],
    "down-left": ["to the lower left"], "down-right": ["to the lower right"],
}
_MOVE_VERBS = ["moving", "moves", "sliding", "slides", "travelling", "drifting", "gliding"]
_HELDOUT_MOVE_VERBS = ["heading", "cruising"]
_OTHER_MOTION = {
    "bounce": ["bouncing", "bounces up and down", "hopping", "bouncing like a ball"],
    "rotate": ["rotating", "spinning", "turning in place", "rotates clockwise"],
    "grow": ["growing", "getting bigger", "expanding", "grows larger"],
    "shrink": ["shrinking", "getting smaller", "contracting", "shrinks away"],
}
_HELDOUT_OTHER_MOTION = {"bounce": ["jumping up and down"], "rotate": ["twirling"],
                         "grow": ["swelling in size"], "shrink": ["dwindling"]}
_TEXTURE_WORDS = {"plain": ["plain", "dark"], "stripes": ["striped"], "checker": ["checkered", "chequered"],
                  "noise": ["mottled", "cloudy"], "gradient": ["shaded", "gradient"]}
_PAN_WORDS = {"left": ["while the camera pans left", "as the camera pans to the left"],
              "right": ["while the camera pans right", "as the camera pans to the right"]}
_TEMPLATES = [
    "{a} {obj} {motion}{bg}{pan}",
    "{A} {obj} {motion}{bg}{pan}",
    "video of {a} {obj} {motion}{bg}{pan}",
    "{a} {obj} that is {motion}{bg}{pan}",
    "there is {a} {obj} {motion}{bg}{pan}",
]
_HELDOUT_TEMPLATES = [
    "footage showing {a} {obj} {motion}{bg}{pan}",
    "in this clip {a} {obj} is {motion}{bg}{pan}",
]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _object_phrase(obj: ObjectSpec, rng: np.random.Generator, heldout: bool, scene_objects: int) -> tuple[str, str]:
    shape_words = _HELDOUT_SHAPE_WORDS[obj.shape] if heldout else _SHAPE_WORDS[obj.shape]
    shape_word = shape_words[rng.integers(len(shape_words))]
    size_word = obj.size if rng.random() < 0.5 else ""
    if size_word == "medium" and rng.random() < 0.5:
        size_word = ""  # "medium" is the default and is usually left out
    words = " ".join(w for w in (size_word, obj.colour, shape_word) if w)
    if obj.motion in DIRECTIONS:
        verbs = _HELDOUT_MOVE_VERBS if heldout else _MOVE_VERBS
        dirs = _HELDOUT_DIR_WORDS[obj.motion] if heldout else _DIR_WORDS[obj.motion]
        motion = f"{verbs[rng.integers(len(verbs))]} {dirs[rng.integers(len(dirs))]}"
    else:
        table = _HELDOUT_OTHER_MOTION if heldout else _OTHER_MOTION
        opts = table[obj.motion]
        motion = opts[rng.integers(len(opts))]
    return words, motion


def caption(spec: SceneSpec, rng: np.random.Generator | int | None = None, heldout: bool = False) -> str:
    """One phrasing of ``spec``. ``heldout=True`` uses only the evaluation templates and synonyms."""
    rng = np.random.default_rng(rng)
    templates = _HELDOUT_TEMPLATES if heldout else _TEMPLATES
    tpl = templates[rng.integers(len(templates))]
    bg = ""
    if rng.random() < 0.35:
        tw = _TEXTURE_WORDS[spec.texture]
        bg = f" on a {tw[rng.integers(len(tw))]} background"
    pan = ""
    if spec.pan != "none":
        pw = _PAN_WORDS[spec.pan]
        pan = f" {pw[rng.integers(len(pw))]}"
    parts = []
    for obj in spec.objects:
        words, motion = _object_phrase(obj, rng, heldout, len(spec.objects))
        parts.append((words, motion))
    words, motion = parts[0]
    text = tpl.format(a=_article(words), A=_article(words).capitalize(), obj=words, motion=motion, bg="", pan="")
    text = text[0].lower() + text[1:]
    if len(parts) == 2:
        w2, m2 = parts[1]
        text += f" and {_article(w2)} {w2} {m2}"
    return text + bg + pan


# ----------------------------------------------------------------------------- splits and sampling

def is_heldout_combo(colour: str, shape: str, motion: str) -> bool:
    """About 1 in 8 colour x shape x motion triples never appear in training (keyed hash, stable)."""
    h = hashlib.sha256(f"{colour}|{shape}|{motion}".encode()).digest()
    return h[0] % 8 == 0


def train_combos() -> list[tuple[str, str, str]]:
    return [(c, s, m) for c in COLOURS for s in SHAPES for m in MOTIONS if not is_heldout_combo(c, s, m)]


def random_scene(rng: np.random.Generator | int | None = None, two_object_prob: float = 0.12,
                 pan_prob: float = 0.12, allow_heldout: bool = False) -> SceneSpec:
    """A random training scene; held-out combinations are excluded unless ``allow_heldout``."""
    rng = np.random.default_rng(rng)

    def one_object(exclude_colour: str | None = None) -> ObjectSpec:
        while True:
            colour = list(COLOURS)[rng.integers(len(COLOURS))]
            shape = SHAPES[rng.integers(len(SHAPES))]
            motion = MOTIONS[rng.integers(len(MOTIONS))]
            if colour == exclude_colour:
                continue
            if allow_heldout or not is_heldout_combo(colour, shape, motion):
                break
        size = list(SIZES)[rng.integers(len(SIZES))]
        return ObjectSpec(shape=shape, colour=colour, size=size, motion=motion,
                          jitter=float(rng.uniform(-1, 1)), angle=float(rng.uniform(-0.25, 0.25)))

    first = one_object()
    objects = [first]
    layout = "single"
    if rng.random() < two_object_prob:
        objects.append(one_object(exclude_colour=first.colour))
        layout = "stacked"
    return SceneSpec(
        objects=tuple(objects),
        background=list(BACKGROUNDS)[rng.integers(len(BACKGROUNDS))],
        texture=TEXTURES[rng.integers(len(TEXTURES))],
        pan=PANS[rng.integers(1, len(PANS))] if rng.random() < pan_prob else "none",
        texture_seed=int(rng.integers(1 << 30)),
        layout=layout,
    )


@dataclass(frozen=True)
class HeldoutPrompt:
    prompt: str
    spec: SceneSpec
    kind: str  # "unseen-combo" or "paraphrase"
    extra: dict = field(default_factory=dict)


def heldout_prompts(n: int = 48, seed: int = 1234) -> list[HeldoutPrompt]:
    """The evaluation set: half unseen colour x shape x motion triples, half held-out paraphrases
    of training triples. Single object, no pan, so every prompt has one correct answer."""
    rng = np.random.default_rng(seed)
    unseen = [(c, s, m) for c in COLOURS for s in SHAPES for m in MOTIONS if is_heldout_combo(c, s, m)]
    seen = train_combos()
    rng.shuffle(unseen)
    rng.shuffle(seen)
    out: list[HeldoutPrompt] = []
    for i in range(n):
        kind = "unseen-combo" if i % 2 == 0 else "paraphrase"
        pool = unseen if kind == "unseen-combo" else seen
        colour, shape, motion = pool[(i // 2) % len(pool)]
        obj = ObjectSpec(shape=shape, colour=colour, size="medium", motion=motion)
        spec = SceneSpec(objects=(obj,), background="charcoal", texture="plain")
        # unseen combos are phrased with training words (the combination is what is new);
        # paraphrases use the held-out templates and synonyms
        text = caption(spec, rng, heldout=(kind == "paraphrase"))
        out.append(HeldoutPrompt(prompt=text, spec=spec, kind=kind))
    return out


def with_motion(obj: ObjectSpec, motion: str) -> ObjectSpec:
    return replace(obj, motion=motion)
