"""The training settings a retrain request may choose exist once (recommender.ml.config.SCHEMA):
the API's retrain request and the `retrain` command's options are derived from it."""

import pytest
from django.core.management import CommandError, call_command
from drf_spectacular.generators import SchemaGenerator

from api.serializers import RetrainRequestSerializer
from recommender.management.commands.retrain import Command
from recommender.ml.config import PARAMS, client_params


def test_the_api_request_fields_and_limits_come_from_the_schema():
    fields = RetrainRequestSerializer().fields
    assert set(fields) == {"force"} | {p.name for p in client_params()}
    for param in client_params():
        field = fields[param.name]
        assert field.help_text == param.help and not field.required
        limits = field.child if param.kind == "ints" else field
        if param.kind in ("int", "float", "ints"):
            assert (limits.min_value, limits.max_value) == (param.minimum, param.maximum)
        if param.kind == "choice":
            assert list(field.choices) == list(param.choices)
    assert fields["hidden_units"].max_length == PARAMS["hidden_units"].max_items


def test_the_openapi_schema_documents_the_same_limits():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    body = schema["paths"]["/api/retrain/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    properties = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["properties"]
    assert set(properties) == {"force"} | {p.name for p in client_params()}
    epochs = PARAMS["epochs"]
    assert (properties["epochs"]["minimum"], properties["epochs"]["maximum"]) == (epochs.minimum, epochs.maximum)
    assert properties["epochs"]["description"] == epochs.help
    assert properties["hidden_units"]["maxItems"] == PARAMS["hidden_units"].max_items


def test_the_command_options_come_from_the_schema():
    parser = Command().create_parser("manage.py", "retrain")
    flags = {option for action in parser._actions for option in action.option_strings}
    assert {p.flag for p in client_params()} <= flags
    options = parser.parse_args(["--hidden-units", "8", "4", "--learning-rate", "0.01", "--negatives", "2"])
    assert (options.hidden_units, options.learning_rate, options.negatives) == ([8, 4], 0.01, 2)


@pytest.mark.django_db
def test_the_command_refuses_what_the_api_refuses():
    for argv in (["--epochs", "1001"], ["--negatives", "101"], ["--hidden-units", "0"], ["--learning-rate", "2"]):
        with pytest.raises(CommandError, match="must be"):
            call_command("retrain", *argv)
