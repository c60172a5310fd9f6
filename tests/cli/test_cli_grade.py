"""`backprop grade` on a layered network's exercise (issue 19) and on a derivative:
the table, --keys globs over tensors, --format csv/json, --feedback, --variants
written by hand, --ecf-credit, the file's `points:`, unknown keys reported."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli

ROOT = Path(__file__).resolve().parent.parent.parent
CONV = ROOT / "problems" / "grading" / "conv_exercise.yaml"
CONV_CLASS = ROOT / "problems" / "grading" / "conv_class.csv"
DERIVATIVE = ROOT / "problems" / "003e_derivative_polynomial.yaml"
KERNEL = [f"grad.K[1,1,{i},{j}]" for i in (1, 2) for j in (1, 2)]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _class(tmp_path: Path, students: tuple[str, ...], extra: tuple[str, ...] = ()) -> Path:
    """The example class's rows of ``students`` (its header not quoted), with ``extra``
    columns (each row answers 1 there)."""
    lines = CONV_CLASS.read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines[1:] if line.split(",", 1)[0] in students]
    path = tmp_path / "class.csv"
    header = ",".join([lines[0], *extra])
    path.write_text("\n".join([header, *(",".join([row, *("1" for _ in extra)])
                                         for row in rows)]) + "\n", encoding="utf-8")
    return path


# The three students whose verdicts need no recomputation from their own answers: ana
# right throughout; ida stops after a.o (0.668: 3 digits of 0.66819); jo writes a.o with
# 2 digits (0.67) and words for the loss. Points: 8 questions × 1, the kernel's four
# gradients × 0.5 (points: grad.K[*]), new.K × 2 (new.*): 12; ida 4, jo 12 − 1 − 1 = 10.
TABLE = """\
problems/grading/conv_exercise.yaml: 13 questions, 12 points

student  score  max  first wrong  diagnosis
ana         12   12  -
ida          4   12  loss         unanswered
jo          10   12  a.o          0.67 has fewer than 3 significant digits: write at least 3

class: 3 students, mean 8.67, median 10 (of 12)
question         points  right  carried forward
z.C[1,1,2]            1   100%               0%
a.P[1,1,1]            1   100%               0%
z.o                   1   100%               0%
a.o                   1    67%               0%
loss                  1    33%               0%
grad.z.o              1    67%               0%
grad.a.P[1,1,1]       1    67%               0%
grad.z.C[1,1,2]       1    67%               0%
grad.K[1,1,1,1]     0.5    67%               0%
grad.K[1,1,1,2]     0.5    67%               0%
grad.K[1,1,2,1]     0.5    67%               0%
grad.K[1,1,2,2]     0.5    67%               0%
new.K[1,1,2,2]        2    67%               0%
"""


def test_the_layered_table_and_unknown_keys_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = _class(tmp_path, ("ana", "ida", "jo"), ("z.C[1,1,3]", "K[1,1,1,1]"))
    monkeypatch.chdir(ROOT)
    code, out, err = _run("grade", "problems/grading/conv_exercise.yaml", str(answers))
    assert code == 0
    assert out == TABLE
    # reported once for the file (the first row's cell), with the nearest questions
    first_row = answers.read_text(encoding="utf-8").splitlines()[1]
    column = len(first_row) - len("1,1") + 1
    assert err == (
        f"{answers}:2:{column}: unknown value key 'z.C[1,1,3]' (did you mean 'z.C[1,1,2]' "
        "or 'grad.z.C[1,1,2]' or 'a.P[1,1,1]'?): ignored\n"
        f"{answers}:2:{column + 2}: 'K[1,1,1,1]' is given in the problem (data or a "
        "starting parameter), not asked: ignored\n")


def test_keys_glob_a_whole_tensor_and_the_gradebook_csv(tmp_path: Path) -> None:
    code, out, err = _run("grade", str(CONV), str(CONV_CLASS), "--keys", "grad.K[*]",
                          "--format", "csv")
    assert (code, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["student", "score", "max", *KERNEL]
    assert out.splitlines()[0].endswith('"grad.K[1,1,2,2]"')  # quoted: its commas
    assert rows[1] == ["ana", "2", "2", "0.5", "0.5", "0.5", "0.5"]
    assert rows[4] == ["ida", "0", "2", "0", "0", "0", "0"]
    code, _, err = _run("grade", str(CONV), str(CONV_CLASS), "--keys", "grad.Q[*]")
    assert code == 2
    assert "Invalid value for --keys: 'grad.Q[*]' matches no computed value key" in err


def test_the_json_and_the_feedback_of_a_layered_class(tmp_path: Path) -> None:
    folder = tmp_path / "feedback"
    code, out, err = _run("grade", str(CONV), str(CONV_CLASS), "--format", "json",
                          "--feedback", str(folder))
    assert code == 0 and err == f"feedback: 5 files in {folder}/\n"
    students = json.loads(out)["students"]
    jo = {r["key"]: r for r in students[4]["results"]}
    assert (jo["a.o"]["verdict"], jo["a.o"]["points"]) == ("imprecise", 0)
    assert jo["loss"]["verdict"] == "invalid"
    assert (jo["new.K[1,1,2,2]"]["verdict"], jo["new.K[1,1,2,2]"]["points"]) == ("correct", 2)
    text = (folder / "jo.md").read_text(encoding="utf-8")
    assert text.startswith("# Grading example: a 2×2 convolution, max pooling and a sigmoid "
                           "unit: feedback for jo\n\nScore: **10 / 12**\n")
    assert ("- ✗ **a.o** (the output of o): `0.67`, 0/1: too few digits; the exact value "
            "is `0.668188`\n  - 0.67 has fewer than 3 significant digits: write at least 3\n"
            "- ✗ **loss** (the loss): `about 0.05`, 0/1: not a number; the exact value is "
            "`0.0550497`\n") in text
    assert ("- ✓ **grad.K[1,1,2,2]** (∂L/∂K\\[1,1,2,2\\]): `-0.0441`, 0.5/0.5: right\n"
            in text)


def test_variants_written_by_hand(tmp_path: Path) -> None:
    # ana's variant has the bias c = 1.5: z.C[1,1,2] = 2 + 0 + 0 + 6 + 1.5 = 9.5 (her 8.5
    # is wrong there); ida has none; jo's is the exercise itself
    variants = tmp_path / "variants"
    variants.mkdir()
    text = CONV.read_text(encoding="utf-8")
    assert "bias: [0.5]" in text
    (variants / "ana.yaml").write_text(text.replace("bias: [0.5]", "bias: [1.5]"),
                                       encoding="utf-8")
    (variants / "jo.yaml").write_text(text, encoding="utf-8")
    answers = _class(tmp_path, ("ana", "ida", "jo"))
    code, out, err = _run("grade", str(CONV), str(answers), "--variants", str(variants),
                          "--format", "json", "--keys", "z.C[1,1,2]")
    assert code == 0
    assert err == f"{answers}:3: no variant for student 'ida': not graded\n"
    graded = {s["student"]: s["results"][0]["verdict"] for s in json.loads(out)["students"]}
    assert graded == {"ana": "wrong", "jo": "correct"}
    right = tmp_path / "right.csv"
    right.write_text("student,z.C[1,1,2]\nana,9.5\n", encoding="utf-8")
    code, out, _ = _run("grade", str(CONV), str(right), "--variants", str(variants),
                        "--format", "json", "--keys", "z.C[1,1,2]")
    assert json.loads(out)["students"][0]["results"][0]["verdict"] == "correct"


def test_a_derivative_with_ecf_credit_and_feedback(tmp_path: Path) -> None:
    # f'(2) = 2 (dan: 3); predicted change f'·Δx: 3·0.1 = 0.3 follows from his 3, and
    # difference = actual − predicted = 0.231 − 0.3 = −0.069 from both; eve's 0.5 follows
    # from nothing she wrote: 3·0.1 = 0.3 is the step from her own numbers
    (tmp_path / "dan.yaml").write_text(
        "answers:\n  value: 1\n  derivative.x: 3\n  predicted_change: 0.3\n"
        "  actual_change: 0.231\n  difference: -0.069\n", encoding="utf-8")
    (tmp_path / "eve.yaml").write_text(
        "answers:\n  derivative.x: 3\n  predicted_change: 0.5\n", encoding="utf-8")
    folder = tmp_path / "feedback"
    code, out, _ = _run("grade", str(DERIVATIVE), str(tmp_path / "dan.yaml"),
                        str(tmp_path / "eve.yaml"), "--keys", "*", "--ecf-credit", "0.5",
                        "--format", "csv", "--feedback", str(folder))
    assert code == 0
    assert out.splitlines() == [
        "student,score,max,value,derivative.x,new_value,predicted_change,actual_change,"
        "difference",
        "dan,3,6,1,0,0,0.5,1,0.5",
        "eve,0,6,0,0,0,0,0,0"]
    eve = (folder / "eve.md").read_text(encoding="utf-8")
    assert ("  - from your own numbers: `predicted_change = derivative.x*0.1 = 3*0.1 = 0.3`"
            in eve)


def test_points_of_a_layered_file_are_checked(tmp_path: Path) -> None:
    text = CONV.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  grad.K[*]: 0.5", "  grad.Q[*]: 0.5"), encoding="utf-8")
    line = next(n for n, row in enumerate(bad.read_text().splitlines(), 1)
                if row.startswith("  grad.Q[*]"))
    code, out, err = _run("grade", str(bad), str(CONV_CLASS))
    assert (code, out) == (1, "")
    assert err.startswith(f"{bad}:{line}:3: points: 'grad.Q[*]' matches no value key")
    negative = tmp_path / "negative.yaml"
    negative.write_text(text.replace("  new.*: 2", "  new.*: -2"), encoding="utf-8")
    code, _, err = _run("grade", str(negative), str(CONV_CLASS))
    assert code == 1 and "points 'new.*'" in err and "Traceback" not in err


def test_time_step_keys_of_an_rnn_in_yaml(tmp_path: Path) -> None:
    # z.h#1 = w·x1 + u·h0 + b = 0.5·1 + 0.9·0 + 0.1 = 0.6; a.h#1 = tanh(0.6) = 0.53705;
    # z.h#2 = 0.5·0.5 + 0.9·0.53705 + 0.1 = 0.83334, a.h#2 = tanh(0.83334) = 0.68227 (kai:
    # 0.75); `#` right after a key's name starts no YAML comment
    rnn = ROOT / "problems" / "031_rnn_bptt.yaml"
    (tmp_path / "kai.yaml").write_text(
        "student: kai\nanswers:\n  z.h#1: 0.6\n  a.h#1: 0.537\n  z.h#2: 0.8333\n"
        "  a.h#2: 0.75\n", encoding="utf-8")
    code, out, _ = _run("grade", str(rnn), str(tmp_path / "kai.yaml"), "--keys", "z.h#?",
                        "--keys", "a.h#1", "--keys", "a.h#2", "--format", "json")
    assert code == 0
    marks = {r["key"]: r["verdict"] for r in json.loads(out)["students"][0]["results"]}
    assert marks == {"z.h#1": "correct", "a.h#1": "correct", "z.h#2": "correct",
                     "a.h#2": "wrong", "z.h#3": "unanswered"}


def test_a_variant_its_kind_cannot_grade_is_reported(tmp_path: Path) -> None:
    variants = tmp_path / "variants"
    variants.mkdir()
    (variants / "dan.yaml").write_text('kind: derivative\nfunction: "f(x) = x^2"\n',
                                       encoding="utf-8")
    (tmp_path / "dan.yaml").write_text("answers:\n  value: 1\n", encoding="utf-8")
    code, out, err = _run("grade", str(DERIVATIVE), str(tmp_path / "dan.yaml"), "--keys",
                          "value", "--variants", str(variants))
    assert code == 0 and out.endswith("no student graded\n")
    assert err.startswith(f"{variants / 'dan.yaml'}: a quiz asks for values at a point")
    assert err.endswith(": student 'dan' not graded\n")
