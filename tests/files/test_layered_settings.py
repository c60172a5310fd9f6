"""A layered network file's batch_size, epochs and round: read as a dense network's, each
mistake at its place."""

from __future__ import annotations

import pytest

from backprop_cli.errors import ProblemError
from backprop_cli.kinds.exercise import parse_exercise
from backprop_cli.model.layered import LayeredProblem
from tests.engine.test_layered_batches import BATCHES


def test_the_settings_are_read() -> None:
    problem = parse_exercise(BATCHES + "round: 3\n", "t.yaml")
    assert isinstance(problem, LayeredProblem)
    assert (problem.batch_size, problem.epochs, problem.steps, problem.round) == (2, 2, 4, 3)
    assert [problem.batch(step) for step in (1, 2, 3, None)] == [
        range(0, 2), range(2, 3), range(0, 2), range(0, 3)]


def test_steps_override_epochs() -> None:
    problem = parse_exercise(BATCHES, "t.yaml", steps=3)
    assert isinstance(problem, LayeredProblem)
    assert problem.steps == 3 and problem.epochs_run == 1


@pytest.mark.parametrize(("change", "message"), [
    (("batch_size: 2", "batch_size: 4"), "t.yaml:15:13: batch_size is 4 but there are only 3 "
                                         "samples"),
    (("epochs: 2", "epochs: 2\nsteps: 3"), "t.yaml:16:1: give either 'steps' or 'epochs', "
                                           "not both ('steps' is at line 17)"),
    (("epochs: 2", "epochs: 2\nround: 13"), "t.yaml:17:8: round (decimals) must be"),
])
def test_each_mistake_is_reported_at_its_place(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ProblemError) as caught:
        parse_exercise(BATCHES.replace(*change), "t.yaml")
    assert str(caught.value).startswith(message), str(caught.value)
