"""The analyser reads the world's own renders perfectly and refuses nonsense."""

import numpy as np
import pytest

from generate import analyser, world
from provenance.errors import UsageError


def test_renders_of_heldout_prompts_score_100_percent():
    report, clips, labels = analyser.evaluate_model(n=10, renders=True)
    s = report["summary"]
    assert s["colour"]["rate"] == 1.0 and s["shape"]["rate"] == 1.0 and s["motion"]["rate"] == 1.0
    assert s["identity_consistency"] == 1.0
    assert s["size_cv_mean"] < 0.05
    assert len(clips) == len(labels) == 10


@pytest.mark.parametrize("motion", ["left", "down-right", "bounce", "rotate", "grow", "shrink"])
def test_each_motion_is_recognised_on_textured_backgrounds(motion):
    obj = world.ObjectSpec(shape="square", colour="orange", size="large", motion=motion, jitter=0.3)
    spec = world.SceneSpec(objects=(obj,), background="slate", texture="checker", texture_seed=5, pan="right")
    r = analyser.score_clip(world.render(spec, 17, 96, 96), spec)
    assert r["colour_ok"] and r["shape_ok"] and r["motion_ok"], r


def test_every_shape_is_told_apart():
    for shape in world.SHAPES:
        obj = world.ObjectSpec(shape=shape, colour="cyan", size="large", motion="up")
        spec = world.SceneSpec(objects=(obj,), texture="noise", texture_seed=1)
        assert analyser.analyse_clip(world.render(spec, 9, 128, 128))["shape"] == shape


def test_a_clip_without_any_object_is_not_found():
    frames = np.full((9, 64, 64, 3), 40, np.uint8)
    got = analyser.analyse_clip(frames)
    assert got["found"] is False
    spec = world.heldout_prompts(1)[0].spec
    assert analyser.score_clip(frames, spec)["colour_ok"] is False


def test_wrong_shape_input_is_a_usage_error():
    with pytest.raises(UsageError):
        analyser.analyse_clip(np.zeros((4, 8, 8), np.uint8))


def test_contact_sheet_has_one_row_per_clip():
    clips = [world.render(world.random_scene(i), 5, 32, 32) for i in range(3)]
    sheet = analyser.contact_sheet(clips, ["a", "b", "c"], frames_per_clip=3)
    assert sheet.height == 3 * (32 + 14 + 2)
