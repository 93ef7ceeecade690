from __future__ import annotations

import dataclasses
import json

import pytest

from recommender.ml.config import ARCHITECTURES, DEFAULT_PRESET, OBJECTIVES, PRESETS, TrainConfig, preset_config


def test_defaults() -> None:
    c = TrainConfig()
    assert c.objective == "expected_completion" and c.objective in OBJECTIVES
    assert c.architecture == "mlp" and c.architecture in ARCHITECTURES
    assert c.embedding_dim == 64 and c.hidden_units == (64, 32)
    c.validate()


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().epochs = 3  # type: ignore[misc]


def test_json_round_trip() -> None:
    c = TrainConfig(architecture="neumf", hidden_units=(16, 8, 4), l2=1e-5, seed=7)
    d = json.loads(json.dumps(c.to_dict()))
    assert d["hidden_units"] == [16, 8, 4]
    assert TrainConfig.from_dict(d) == c
    assert TrainConfig.from_dict({}) == TrainConfig()


def test_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"epochz": 3})


def test_replace_returns_validated_copy() -> None:
    c = TrainConfig()
    c2 = c.replace(epochs=5, hidden_units=[8])
    assert (c2.epochs, c2.hidden_units, c.epochs) == (5, (8,), 20)
    with pytest.raises(ValueError, match="epochs"):
        c.replace(epochs=0)
    with pytest.raises(ValueError, match="unknown"):
        c.replace(nope=1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("objective", "rating"),
        ("architecture", "transformer"),
        ("embedding_dim", 0),
        ("embedding_dim", 8.0),
        ("hidden_units", ()),
        ("hidden_units", (64, 0)),
        ("hidden_units", "64"),
        ("epochs", 0),
        ("epochs", True),
        ("batch_size", -1),
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("l2", -1e-3),
        ("negatives", -1),
        ("validation_fraction", 1.0),
        ("validation_fraction", -0.1),
        ("min_validation_samples", -1),
        ("patience", -1),
        ("seed", -1),
        ("seed", 2**32),
        ("l2_rows", -0.1),
        ("l2_rows", float("inf")),
        ("lr_decay", 0.0),
        ("lr_decay", 1.5),
        ("dropout", 1.0),
        ("dropout", -0.2),
        ("use_bias", 1),
    ],
)
def test_invalid_fields_raise(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_new_options_default_to_the_reference_network() -> None:
    c = TrainConfig()
    assert (c.l2, c.l2_rows, c.dropout, c.use_bias, c.lr_decay) == (0.0, 0.0, 0.0, False, 1.0)


def test_presets() -> None:
    assert preset_config("reference") == TrainConfig(objective="completion")
    ranking = preset_config("ranking")
    assert ranking.objective == "expected_completion" and ranking.architecture == "neumf"
    rating = preset_config("rating", seed=3)
    assert rating.objective == "completion" and rating.use_bias and rating.l2 > 0 and rating.seed == 3
    assert set(DEFAULT_PRESET) == set(OBJECTIVES) and set(DEFAULT_PRESET.values()) <= set(PRESETS)
    assert all(PRESETS[DEFAULT_PRESET[o]]["objective"] == o for o in OBJECTIVES)
    with pytest.raises(ValueError, match="preset"):
        preset_config("fastest")
    with pytest.raises(ValueError, match="epochs"):
        preset_config("ranking", epochs=0)
