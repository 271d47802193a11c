"""Table schemas rebuilt from a model file's state: values of the wrong type are refused
with a ValueError naming the field (never an elementwise comparison or a TypeError)."""

import copy

import numpy as np
import pandas as pd
import pytest

from bayesgen.tables import TableSchema


def _schema() -> TableSchema:
    frame = pd.DataFrame(
        {
            "c": ["u", "v", "u", "w"],
            "x": [0.5, 1.25, 2.0, 3.5],
            "t": ["2020/01/01", "2020/01/02", "2020/01/03", "2020/01/04"],
        }
    )
    return TableSchema.detect(frame, column_types={"c": "categorical"})


def _column(state, name):
    return next(c for c in state["columns"] if c["name"] == name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(version=np.array([1, 1])), "version must be the number 1"),
        (lambda s: s.update(version=1.0), "version must be the number 1; found 1.0"),
        (lambda s: _column(s, "x").update(kind=["continuous"]), "unknown kind a list"),
        (lambda s: _column(s, "x").update(kind="weird"), "unknown kind the text 'weird'"),
        (lambda s: _column(s, "t").update(datetime_unit=["D"]), "bad datetime unit"),
        (lambda s: _column(s, "c").update(categories=np.array(["u", "v"])), "holds an array"),
        (lambda s: _column(s, "c").update(categories=["u", "u", "w"]), "repeated categories"),
        (lambda s: _column(s, "c").pop("ordered"), r"column spec lacks \['ordered'\]"),
        (lambda s: _column(s, "c").update(extra=1), r"column spec has unknown key\(s\)"),
        (lambda s: _column(s, "x").update(step=25), "step must be None or a whole number"),
        (lambda s: _column(s, "x").update(step=1.5), "step must be None or a whole number"),
    ],
)
def test_malformed_schema_states_name_the_field(change, message):
    state = copy.deepcopy(_schema()._get_state())
    change(state)
    with pytest.raises(ValueError, match=message):
        TableSchema._from_state(state)


def test_the_schema_state_round_trips():
    schema = _schema()
    assert TableSchema._from_state(copy.deepcopy(schema._get_state())) == schema


def test_a_state_without_a_step_is_from_before_steps_were_kept():
    state = copy.deepcopy(_schema()._get_state())
    for column in state["columns"]:
        column.pop("step")
    assert TableSchema._from_state(state) == _schema()
