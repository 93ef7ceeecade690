from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from recommender.ml.config import (
    ARCHITECTURES,
    DEFAULT_PRESET,
    OBJECTIVES,
    PARAMS,
    PRESETS,
    SCHEMA,
    Param,
    TrainConfig,
    add_arguments,
    client_params,
    preset_config,
)


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


def test_aggregate_is_recorded_and_validated() -> None:
    assert TrainConfig().aggregate == "max"
    c = TrainConfig(aggregate="mean")
    assert c.to_dict()["aggregate"] == "mean" and TrainConfig.from_dict(c.to_dict()) == c
    recorded_before = {k: v for k, v in TrainConfig(aggregate="last").to_dict().items() if k != "aggregate"}
    assert TrainConfig.from_dict(recorded_before).aggregate == "max"
    with pytest.raises(ValueError, match="aggregate must be one of"):
        TrainConfig(aggregate="min")


def test_the_schema_lists_every_field_once_in_order() -> None:
    assert [param.name for param in SCHEMA] == [f.name for f in dataclasses.fields(TrainConfig)]
    defaults = TrainConfig()
    assert all(param.accepts(getattr(defaults, param.name)) and param.help for param in SCHEMA)
    # What a client may set, every surface can express: inclusive bounds only.
    assert all(not (p.open_minimum or p.open_maximum) for p in client_params())
    assert {p.name for p in client_params()} >= {"objective", "architecture", "epochs", "seed", "hidden_units"}
    assert "aggregate" not in {p.name for p in client_params()}  # the site's rule, not a request's


@pytest.mark.parametrize("param", [p for p in SCHEMA if p.kind in ("int", "float")], ids=lambda p: p.name)
def test_validation_follows_the_schemas_bounds(param: Param) -> None:
    step = 1 if param.kind == "int" else 1e-9
    for bound, outside, is_open in (
        (param.minimum, -step, param.open_minimum),
        (param.maximum, step, param.open_maximum),
    ):
        if bound is None:
            continue
        bound = int(bound) if param.kind == "int" else float(bound)
        if not is_open:
            TrainConfig().replace(**{param.name: bound})
        with pytest.raises(ValueError, match=param.name):
            TrainConfig().replace(**{param.name: bound + outside if not is_open else bound})


def test_list_parameters_are_bounded_per_item_and_in_length() -> None:
    units = PARAMS["hidden_units"]
    assert units.max_items is not None and units.maximum is not None
    TrainConfig(hidden_units=(int(units.maximum),) * units.max_items)
    with pytest.raises(ValueError, match="hidden_units"):
        TrainConfig(hidden_units=(1,) * (units.max_items + 1))
    with pytest.raises(ValueError, match="hidden_units"):
        TrainConfig(hidden_units=(int(units.maximum) + 1,))
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig(learning_rate=10**400)  # beyond float range: refused, not an OverflowError


def test_command_line_options_come_from_the_schema() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(parser)
    assert {a.dest for a in parser._actions if a.dest != "help"} == {p.name for p in client_params()}
    given = parser.parse_args(["--epochs", "5", "--hidden-units", "8", "4", "--architecture", "neumf"])
    assert (given.epochs, given.hidden_units, given.architecture, given.seed) == (5, [8, 4], "neumf", None)
    assert TrainConfig(hidden_units=given.hidden_units).hidden_units == (8, 4)
    assert parser.parse_args(["--learning-rate", "0.01"]).learning_rate == 0.01
    for argv in (["--epochs", "0"], ["--epochs", "1.5"], ["--learning-rate", "nan"], ["--hidden-units", "0"]):
        with pytest.raises(argparse.ArgumentError):
            parser.parse_args(argv)
    help_text = parser.format_help()
    assert "an integer in [1, 1000]" in help_text and "neumf (GMF + MLP" in help_text


# ----------------------------------------------------------------------------- large-data schedule


def test_schedule_leaves_small_data_alone():
    from recommender.ml.config import preset_config
    from recommender.ml.schedule import LARGE_DATA_MIN_SAMPLES, schedule_for

    config = preset_config("ranking")
    # 50,000 pairs x (1 + 8 negatives) = 450,000 samples per epoch: under 64 steps of 2 x 4,096
    schedule = schedule_for(config, 50_000, min_samples=LARGE_DATA_MIN_SAMPLES)
    assert schedule.regime == "" and schedule.large is False
    assert schedule.config == config and schedule.refit_warm_epochs is None
    assert schedule.describe(config) == {}
    for pairs in (10**5, 10**9):  # 0 switches every size regime off
        assert schedule_for(config, pairs, min_samples=0).config == config


def test_schedule_doubles_the_batch_of_medium_data():
    from recommender.ml.config import preset_config
    from recommender.ml.schedule import LARGE_DATA_MIN_SAMPLES, MEDIUM_DATA_STEPS, schedule_for

    config = preset_config("ranking")
    # MovieLens 100K: 100,000 pairs x (1 + 8 negatives) = 900,000 samples per epoch
    medium = schedule_for(config, 100_000, min_samples=LARGE_DATA_MIN_SAMPLES)
    assert medium.regime == "medium" and medium.large is False and medium.refit_warm_epochs is None
    assert (medium.config.batch_size, medium.config.patience) == (2 * config.batch_size, 2)
    assert medium.config.learning_rate == pytest.approx(2 * config.learning_rate)
    assert medium.config.epochs == config.epochs
    assert medium.describe(config) == {
        "medium_data": True,
        "batch_size": 8192,
        "learning_rate": pytest.approx(0.004),
        "patience": 2,
    }
    # the threshold: an epoch of MEDIUM_DATA_STEPS steps of the doubled batch
    threshold_pairs = MEDIUM_DATA_STEPS * 2 * config.batch_size // 9
    assert schedule_for(config, threshold_pairs + 1, min_samples=LARGE_DATA_MIN_SAMPLES).regime == "medium"
    assert schedule_for(config, threshold_pairs - 1, min_samples=LARGE_DATA_MIN_SAMPLES).regime == ""
    # a lower patience is kept; the completion objective (no negatives) stays as it is at this size
    assert schedule_for(config.replace(patience=1), 100_000, min_samples=LARGE_DATA_MIN_SAMPLES).config.patience == 1
    assert schedule_for(preset_config("rating"), 100_000, min_samples=LARGE_DATA_MIN_SAMPLES).regime == ""


def test_schedule_trains_large_data_on_a_sample_budget():
    from recommender.ml.config import preset_config
    from recommender.ml.schedule import LARGE_DATA_BUDGET_SAMPLES, LARGE_DATA_MIN_SAMPLES, epoch_samples, schedule_for

    config = preset_config("ranking")
    assert epoch_samples(config, 1_000_000) == 9_000_000
    one_m = schedule_for(config, 1_000_000, min_samples=LARGE_DATA_MIN_SAMPLES)
    assert one_m.large is True and one_m.regime == "large" and one_m.refit_warm_epochs == 1
    # 24M samples / 9M per epoch -> 3 epochs; batches twice as large at four times the rate
    assert one_m.config.epochs == 3 == -(-LARGE_DATA_BUDGET_SAMPLES // 9_000_000)
    assert one_m.config.batch_size == 2 * config.batch_size
    assert one_m.config.learning_rate == pytest.approx(4 * config.learning_rate)
    unchanged = {"epochs": config.epochs, "batch_size": config.batch_size, "learning_rate": config.learning_rate}
    assert one_m.config.replace(**unchanged) == config
    assert one_m.describe(config) == {
        "large_data": True,
        "epochs": 3,
        "batch_size": 8192,
        "learning_rate": pytest.approx(0.008),
        "refit_warm_epochs": 1,
    }
    # ten million watches: one epoch is over the budget already
    assert schedule_for(config, 10_000_000, min_samples=LARGE_DATA_MIN_SAMPLES).config.epochs == 1
    # never more epochs than configured, and the scaled values stay within the schema's bounds
    capped = schedule_for(config.replace(epochs=2, batch_size=65536, learning_rate=0.5), 1_000_000, min_samples=1)
    assert (capped.config.epochs, capped.config.batch_size, capped.config.learning_rate) == (2, 65536, 1.0)
    # the completion objective samples no negatives: a million pairs is a million samples
    rating = preset_config("rating")
    assert epoch_samples(rating, 1_000_000) == 1_000_000
    assert schedule_for(rating, 1_000_000, min_samples=LARGE_DATA_MIN_SAMPLES).large is False
