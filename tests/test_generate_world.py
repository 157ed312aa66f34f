"""The procedural world: deterministic rendering, validated specs, captions and held-out split."""

import numpy as np
import pytest

from generate import world
from provenance.errors import UsageError


def _spec(**kw):
    obj = world.ObjectSpec(shape=kw.pop("shape", "star"), colour=kw.pop("colour", "red"),
                           motion=kw.pop("motion", "left"))
    return world.SceneSpec(objects=(obj,), **kw)


def test_render_is_deterministic_and_shaped():
    spec = world.random_scene(7)
    a = world.render(spec, 9, 64, 48)
    b = world.render(spec, 9, 64, 48)
    assert a.shape == (9, 64, 48, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)


def test_texture_seed_and_pan_change_the_background_only_where_they_should():
    plain = world.render(_spec(texture="noise", texture_seed=1), 5, 32, 32)
    other = world.render(_spec(texture="noise", texture_seed=2), 5, 32, 32)
    assert not np.array_equal(plain, other)
    panned = world.render(_spec(texture="stripes", pan="left"), 5, 32, 32)
    still = world.render(_spec(texture="stripes"), 5, 32, 32)
    assert np.array_equal(panned[0], still[0])  # same first frame, then the camera moves
    assert not np.array_equal(panned[-1], still[-1])


def test_object_has_its_palette_colour_and_moves_the_asked_way():
    frames = world.render(_spec(colour="blue", motion="right"), 17, 64, 64)
    blue = np.all(frames == np.array(world.COLOURS["blue"], np.uint8), axis=-1)
    xs0 = np.nonzero(blue[0])[1].mean()
    xs1 = np.nonzero(blue[-1])[1].mean()
    assert xs1 - xs0 > 0.4 * 64  # strong, unambiguous travel


@pytest.mark.parametrize("bad", [dict(shape="hexagon"), dict(colour="pink"), dict(motion="teleport")])
def test_unknown_attributes_are_usage_errors(bad):
    with pytest.raises(UsageError):
        world.ObjectSpec(**{"shape": "star", "colour": "red", "motion": "left", **bad})


def test_bad_scene_and_render_size_are_usage_errors():
    with pytest.raises(UsageError):
        world.SceneSpec(objects=())
    with pytest.raises(UsageError):
        world.render(world.random_scene(0), 5, 8, 8)


def test_captions_vary_and_name_colour():
    spec = _spec(colour="green", shape="square", motion="up")
    texts = {world.caption(spec, i) for i in range(30)}
    assert len(texts) > 5
    assert all("green" in t for t in texts)


def test_heldout_phrasing_never_appears_in_training_captions():
    spec = _spec(colour="red", shape="circle", motion="left")
    train = {world.caption(spec, i) for i in range(200)}
    held = {world.caption(spec, i, heldout=True) for i in range(50)}
    assert not train & held
    assert all("disk" in t for t in held)  # the held-out synonym for a circle
    assert not any("disk" in t for t in train)


def test_heldout_combos_are_excluded_from_training_scenes():
    unseen = [(c, s, m) for c in world.COLOURS for s in world.SHAPES for m in world.MOTIONS
              if world.is_heldout_combo(c, s, m)]
    assert 20 < len(unseen) < 120
    rng = np.random.default_rng(0)
    for _ in range(300):
        o = world.random_scene(rng).objects[0]
        assert not world.is_heldout_combo(o.colour, o.shape, o.motion)
    prompts = world.heldout_prompts(12)
    kinds = {p.kind for p in prompts}
    assert kinds == {"unseen-combo", "paraphrase"}
    for p in prompts:
        o = p.spec.objects[0]
        assert (p.kind == "unseen-combo") == world.is_heldout_combo(o.colour, o.shape, o.motion)


def test_spec_round_trips_through_a_dict():
    spec = world.random_scene(3, two_object_prob=1.0)
    assert world.spec_from_dict(spec.to_dict()) == spec
    assert len(spec.objects) == 2


def test_render_with_masks_is_render_and_its_object_masks():
    import numpy as np

    from generate import world

    spec = world.random_scene(np.random.default_rng(7))
    frames, masks = world.render_with_masks(spec, 9, 64, 64)
    assert np.array_equal(frames, world.render(spec, 9, 64, 64))
    assert np.array_equal(masks, world.object_masks(spec, 9, 64, 64))
