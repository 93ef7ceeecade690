from __future__ import annotations

import dataclasses
import json

import pytest

from recommender.ml.config import ARCHITECTURES, OBJECTIVES, TrainConfig


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
    ],
)
def test_invalid_fields_raise(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})
