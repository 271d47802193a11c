"""The parser and single commands through the CLI runner (main(argv)): help, usage errors,
sample-1d and the wording of library messages."""

import numpy as np
import pytest

from bayesgen.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_for_every_command(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "demo" in out and "sample-1d" in out
    for command in [
        "demo",
        "fit",
        "sample",
        "plot",
        "inspect",
        "sample-1d",
        "check",
        "inpaint",
        "evaluate",
        "report",
    ]:
        code, out, _ = run(capsys, command, "--help")
        assert code == 0, command
        assert "Example:" in out and f"bayesgen {command}" in out


def test_fit_help_names_every_density_and_transform(capsys):
    from bayesgen.densities import DENSITY_SHORTCUTS
    from bayesgen.densities.shortcuts import _TRANSFORMS as TRANSFORMS

    code, out, _ = run(capsys, "fit", "--help")
    assert code == 0
    words = set(out.replace(",", " ").replace(";", " ").split())
    missing = [n for n in [*DENSITY_SHORTCUTS, *TRANSFORMS] if n not in words and n != "full"]
    assert not missing


def test_usage_errors_exit_2(capsys):
    assert run(capsys)[0] == 2
    assert run(capsys, "nonsense")[0] == 2
    assert run(capsys, "sample-1d", "-n", "-3")[0] == 2
    assert run(capsys, "fit", "x.csv")[0] == 2  # no -o


def test_sample_1d_matches_the_tutorial(capsys):
    code, out, _ = run(
        capsys,
        "sample-1d",
        "--dist",
        "norm",
        "--params",
        "200",
        "40",
        "-n",
        "5",
        "--seed",
        "3",
        "--check",
    )
    assert code == 0
    lines = out.strip().splitlines()
    checks = [line for line in lines if line.startswith("#")]
    assert len(checks) == 3 and all("expected" in c for c in checks)
    from scipy.stats import norm

    values = np.array(
        [[float(v) for v in line.split()] for line in lines if not line.startswith("#")]
    )
    assert values.shape == (5, 2)
    np.testing.assert_allclose(values[:, 1], norm(200, 40).ppf(values[:, 0]), rtol=1e-5)
    code2, out2, _ = run(capsys, "sample-1d", "-n", "5", "--seed", "3")
    assert out2.strip().splitlines() == [line for line in lines if not line.startswith("#")]
    code, _, err = run(capsys, "sample-1d", "--dist", "nrom")
    assert code == 2 and "norm" in err


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_help_has_an_example(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "Example:" in out and f"bayesgen {command}" in out
    assert "--real" in out and "--seed" in out and "--feature-space" in out


def test_library_messages_name_the_command_line_flag(capsys, tmp_path):
    """io says label_column= (its Python argument); through the CLI it says --label-column."""
    from bayesgen.cli import _flag_wording

    assert _flag_wording("pass label_column=<index>.") == "pass --label-column <index>."
    assert _flag_wording("choose it as label_column=.") == "choose it as --label-column."
    assert _flag_wording("label_column=7 is out of range") == "--label-column 7 is out of range"
    path = tmp_path / "d.csv"
    path.write_text("label,x\n1,2\n")
    code, _, err = run(capsys, "fit", path, "--label-column", "nope", "-o", tmp_path / "m.bgm")
    assert code == 1
    assert "--label-column" in err and "label_column=" not in err
