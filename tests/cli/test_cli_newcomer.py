"""A newcomer's first hour (issue 16), replayed through the CLI runner: every message is in
the command line's words (the flag, the column, the fix), with a "did you mean" for near
misses, and the exit code says whether the data (1) or the command line (2) was wrong."""

import pickle
import re
import zipfile

import numpy as np
import pytest

from bayesgen.cli import main
from bayesgen.cli.common import close_matches, did_you_mean

SPECIES = np.array(["Adelie", "Chinstrap", "Gentoo"])
COLUMNS = ["species", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """A numeric penguin-like table (text labels first) and a model fitted on it."""
    folder = tmp_path_factory.mktemp("penguins")
    rng = np.random.default_rng(0)
    y = SPECIES[np.arange(90) % 3]
    centre = {"Adelie": 38.8, "Chinstrap": 48.8, "Gentoo": 47.5}
    lines = [",".join(COLUMNS)]
    for label in y:
        x = [centre[label] + rng.normal(), 18 + rng.normal(), 200 + 5 * rng.normal()]
        lines.append(f"{label},{x[0]:.1f},{x[1]:.1f},{x[2]:.0f},{4000 + 300 * rng.normal():.0f}")
    data = folder / "penguins.csv"
    data.write_text("\n".join(lines) + "\n")
    model = folder / "penguins.bgm"
    assert main(["fit", str(data), "--label-column", "species", "-o", str(model)]) == 0
    return data, model


# ---------------------------------------------------------------------------- did you mean


def test_did_you_mean_helper():
    assert close_matches("adelie", ["Adelie", "Gentoo"]) == ["Adelie"]
    assert close_matches("gausian", ["gaussian", "diag", "mixture"]) == ["gaussian"]
    assert close_matches("zzz", ["gaussian"]) == []
    assert did_you_mean("spcies", ["species", "island"]) == "; did you mean 'species'?"
    assert did_you_mean("zzz", ["species"]) == ""


# ---------------------------------------------------------------------------- wording


def test_sample_to_a_name_without_format_names_the_flag_and_the_suffixes(
    penguins, tmp_path, capsys
):
    _, model = penguins
    code, _, err = run(capsys, "sample", model, "-n", "5", "-o", tmp_path / "s.txt")
    assert code == 2, err
    assert "-o " in err and "s.txt" in err and ".csv" in err and "- for CSV on stdout" in err
    assert "format=" not in err
    assert not (tmp_path / "s.txt").exists()


def test_png_of_a_table_model_says_the_model_is_a_table(penguins, tmp_path, capsys):
    _, model = penguins
    code, _, err = run(capsys, "sample", model, "-n", "5", "-o", tmp_path / "p.png")
    assert code == 1, err
    assert "-o " in err and "fitted on a table" in err and "samples.csv" in err
    assert "image_shape=" not in err and "like=" not in err
    assert list(tmp_path.iterdir()) == []


def test_plot_of_a_table_model_exits_1_not_2(penguins, tmp_path, capsys):
    _, model = penguins
    code, _, err = run(capsys, "plot", model, "-o", tmp_path / "p.png")
    assert code == 1, err  # the data are not images: bad data, not a usage error
    assert "fitted on a table" in err and "bayesgen sample" in err
    assert list(tmp_path.iterdir()) == []


def test_inspect_a_folder(tmp_path, capsys):
    folder = tmp_path / "models"
    folder.mkdir()
    code, _, err = run(capsys, "inspect", folder)
    assert code == 1
    assert "is a folder, not a model file" in err and "bayesgen fit" in err
    assert "Errno" not in err and "save the model again" not in err


def test_inspect_a_pickle_says_it_is_not_a_bayesgen_file(tmp_path, capsys):
    path = tmp_path / "model.joblib"
    with open(path, "wb") as handle:
        pickle.dump({"coef": [1.0, 2.0]}, handle)
    code, _, err = run(capsys, "inspect", path)
    assert code == 1
    assert "not a bayesgen model file" in err and "pickle" in err and "bayesgen fit" in err
    assert "truncated" not in err and "save the model again" not in err


def test_inspect_a_foreign_zip_and_a_damaged_model(penguins, tmp_path, capsys):
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "hi")
    code, _, err = run(capsys, "inspect", other)
    assert code == 1 and "not a bayesgen model file" in err and "manifest" in err
    _, model = penguins
    cut = tmp_path / "cut.bgm"
    cut.write_bytes(model.read_bytes()[:-100])
    code, _, err = run(capsys, "inspect", cut)
    assert code == 1 and "damaged or truncated" in err and "bayesgen fit" in err


def test_misspelt_option_gets_the_commands_usage_and_a_suggestion(penguins, tmp_path, capsys):
    data, _ = penguins
    code, _, err = run(capsys, "fit", data, "--denisty", "gaussian", "-o", tmp_path / "m.bgm")
    assert code == 2
    assert "usage: bayesgen fit" in err and "bayesgen fit: error" in err
    assert "--denisty" in err and "did you mean --density?" in err


def test_misspelt_command_and_choice_get_a_suggestion(capsys):
    code, _, err = run(capsys, "smaple", "m.bgm", "-n", "3", "-o", "x.csv")
    assert code == 2 and "did you mean 'sample'" in err
    code, _, err = run(capsys, "plot", "m.bgm", "--kind", "grdi", "-o", "x.png")
    assert code == 2 and "did you mean 'grid'?" in err


@pytest.mark.parametrize(
    "density, words",
    [
        ("gausian", ["'gausian' is not a density family", "did you mean 'gaussian'?"]),
        ("mixture:3x", ["'mixture' is fine", "size '3x'", "mixture:3"]),
        ("mixture:0", ["size '0' must be 1 or more"]),
        ("gaussian+lgit", ["'lgit' is not a transform", "did you mean 'logit'"]),
        ("mppca:2x2*0", ["after '*' comes the number of EM runs", "mppca:5x10*3+glogit"]),
        ("gaussian*3", ["averages runs of EM", "'gaussian' is not fitted by EM"]),
    ],
)
def test_density_option_says_which_part_is_wrong(penguins, tmp_path, capsys, density, words):
    data, _ = penguins
    code, _, err = run(
        capsys, "fit", data, "--label-column", "species", "--density", density, "-o", "m.bgm"
    )
    assert code == 2, err
    assert "usage: bayesgen fit" in err and "argument --density" in err
    for word in words:
        assert word in err
    assert "unknown density" not in err and "pass a density object" not in err


def test_unknown_label_suggests_the_spelling_of_the_model(penguins, tmp_path, capsys):
    _, model = penguins
    out = tmp_path / "x.csv"
    code, _, err = run(capsys, "sample", model, "-n", "3", "--label", "adelie", "-o", out)
    assert code == 2  # a mistake on the command line, like an unknown --given category
    assert "--label 'adelie'" in err and "did you mean 'Adelie'?" in err
    assert "known labels are 'Adelie', 'Chinstrap', 'Gentoo'" in err
    assert not out.exists()
    code, _, err = run(capsys, "sample", model, "-n", "3", "--label", "Adelie", "-o", out)
    assert code == 0, err
    labels = {line.split(",")[0].strip('"') for line in out.read_text().splitlines()[1:]}
    assert labels == {"Adelie"}


def test_unknown_label_column_suggests_the_column(penguins, tmp_path, capsys):
    data, _ = penguins
    code, _, err = run(capsys, "fit", data, "--label-column", "spcies", "-o", tmp_path / "m.bgm")
    assert code == 1
    assert "--label-column 'spcies'" in err and "did you mean 'species'?" in err
    assert "'bill_length_mm'" in err and "column index" in err
    assert "label_column=" not in err
    assert list(tmp_path.iterdir()) == []


def test_check_advice_names_command_line_flags(tmp_path, capsys):
    """A judged, rejected class gets advice as flags; a class with too few rows is not
    judged, and the text recommends no family for it."""
    rng = np.random.default_rng(1)
    skewed = rng.exponential(size=(400, 3)) ** 2  # clearly not Gaussian
    few = rng.normal(size=(3, 3))  # n <= p + 1: cannot be judged
    X = np.vstack([skewed, few])
    y = np.array(["skewed"] * 400 + ["few"] * 3)
    data = tmp_path / "d.npz"
    np.savez(data, X=X, y=y)
    code, out, err = run(capsys, "check", data, "--out", tmp_path / "check")
    assert code == 0, err
    assert "--density copula" in out and "density='" not in out
    lines = {line.split()[0].strip("'"): line for line in out.splitlines()[2:-1]}
    assert "cannot judge" in lines["few"]
    assert "--density" not in lines["few"]
    overall = out.splitlines()[-1]
    assert "'skewed'" in overall and "'few'" not in overall.split(";")[0]
    assert re.search(r"no QQ panel for class\(es\) 'few'", err)
    assert (tmp_path / "check" / "qq_chi2.png").exists()


def test_evaluate_on_kaggles_unlabelled_test_csv_points_to_split(penguins, tmp_path, capsys):
    _, model = penguins
    test = tmp_path / "test.csv"
    test.write_text(",".join(f"pixel{i}" for i in range(784)) + "\n" + ",".join(["0"] * 784) + "\n")
    code, _, err = run(capsys, "evaluate", model, "--real", test)
    assert code == 1
    assert "--real" in err and "no labels" in err and "bayesgen split train.csv" in err


def test_a_semicolon_file_is_read_and_written_back_in_its_layout(penguins, tmp_path, capsys):
    """A spreadsheet of a decimal-comma locale: ';' between fields, ',' in numbers."""
    data, _ = penguins
    semi = tmp_path / "semi.csv"
    semi.write_text(data.read_text().replace(",", ";").replace(".", ","))
    model, out = tmp_path / "m.bgm", tmp_path / "new.csv"
    code, _, err = run(capsys, "fit", semi, "--label-column", "spcies", "-o", model)
    assert code == 1 and "did you mean 'species'?" in err  # the header is split by ';'
    assert run(capsys, "fit", semi, "--label-column", "species", "-o", model)[0] == 0
    assert run(capsys, "sample", model, "-n", 20, "--seed", 0, "-o", out)[0] == 0
    lines = out.read_text().splitlines()
    assert lines[0] == ";".join(COLUMNS)
    assert all(len(line.split(";")) == len(COLUMNS) for line in lines[1:])
    assert all(re.fullmatch(r"\d+,\d", line.split(";")[1]) for line in lines[1:])
    code, out, _ = run(capsys, "inspect", model)
    assert "bill_length_mm: continuous" in out


def test_zip_codes_keep_their_leading_zeros(tmp_path, capsys):
    rng = np.random.default_rng(0)
    zips = np.array(["02680", "10001", "00501", "94110"])
    lines = ["label,zip,size"] + [
        f"{'ab'[i % 2]},{zips[rng.integers(4)]},{rng.normal(10, 2):.1f}" for i in range(120)
    ]
    data, model, out = tmp_path / "z.csv", tmp_path / "z.bgm", tmp_path / "new.csv"
    data.write_text("\n".join(lines) + "\n")
    assert run(capsys, "fit", data, "-o", model)[0] == 0
    assert "zip: categorical" in run(capsys, "inspect", model)[1]
    assert run(capsys, "sample", model, "-n", 200, "--seed", 1, "-o", out)[0] == 0
    written = {line.split(",")[1] for line in out.read_text().splitlines()[1:]}
    assert written <= set(zips) and "02680" in written


@pytest.mark.parametrize("command", ["fit", "resample"])
def test_a_missing_output_folder_is_refused_before_any_work(penguins, tmp_path, capsys, command):
    data, _ = penguins
    code, out, err = run(capsys, command, data, "-o", tmp_path / "nodir" / "x.csv")
    assert code == 1 and "output folder" in err and "does not exist" in err
    assert "label column" not in out + err  # refused before the data was read


@pytest.mark.parametrize("command", ["fit", "resample", "split"])
def test_an_output_that_is_a_folder_is_refused_before_any_work(penguins, tmp_path, capsys, command):
    data, _ = penguins
    folder = tmp_path / "out.csv"
    folder.mkdir()
    outputs = [folder, tmp_path / "test.csv"] if command == "split" else [folder]
    code, out, err = run(capsys, command, data, "-o", *outputs)
    assert code == 1 and "is a folder; give a file name" in err
    assert "label column" not in out + err  # refused before the data was read
    assert list(folder.iterdir()) == [] and not (tmp_path / "test.csv").exists()


def test_a_category_label_of_a_parquet_file_stays_a_category(tmp_path, capsys):
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "size": np.round(rng.normal(10, 2, 200), 1),
            "label": pd.Categorical(np.where(rng.random(200) < 0.3, "rare", "common")),
        }
    )
    data, model = tmp_path / "t.parquet", tmp_path / "t.bgm"
    frame.to_parquet(data, index=False)
    assert run(capsys, "fit", data, "--label-column", "label", "-o", model)[0] == 0
    for command in (["sample", model, "-n", 50], ["resample", data, "--strategy", "all"]):
        out = tmp_path / f"{command[0]}.parquet"
        assert run(capsys, *command, "-o", out)[0] == 0
        written = pd.read_parquet(out)
        assert isinstance(written["label"].dtype, pd.CategoricalDtype), command[0]
        assert set(written["label"]) <= {"rare", "common"}


def test_given_takes_iso_dates_for_a_day_first_column_and_true_for_a_boolean(tmp_path, capsys):
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 200
    days = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 730, n), "D")
    frame = pd.DataFrame(
        {
            "label": rng.choice(["a", "b"], n),
            "day": days.strftime("%d/%m/%Y"),
            "remote": rng.choice([True, False], n),
            "size": np.round(rng.normal(10, 2, n), 1),
        }
    )
    data, model, out = tmp_path / "d.csv", tmp_path / "d.bgm", tmp_path / "new.csv"
    frame.to_csv(data, index=False)
    assert run(capsys, "fit", data, "-o", model)[0] == 0
    given = ["--given", "day>=2020-01-01", "--given", "remote=true"]
    assert run(capsys, "sample", model, "-n", 300, "--seed", 1, *given, "-o", out)[0] == 0
    new = pd.read_csv(out)
    assert (pd.to_datetime(new["day"], format="%d/%m/%Y") >= "2020-01-01").all()
    assert new["remote"].all()
    code, _, err = run(capsys, "sample", model, "-n", 5, "--given", "day=2020-13-45", "-o", out)
    assert code == 2 and "ISO 8601" in err


def test_a_semicolon_file_of_numbers_keeps_its_separator(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lines = ["label;a;b"] + [f"{i % 2};{rng.normal():.3f};{rng.normal():.3f}" for i in range(100)]
    data, model, out = tmp_path / "n.csv", tmp_path / "n.bgm", tmp_path / "new.csv"
    data.write_text("\n".join(lines) + "\n")
    assert run(capsys, "fit", data, "-o", model)[0] == 0
    assert run(capsys, "sample", model, "-n", 10, "--seed", 0, "-o", out)[0] == 0
    assert out.read_text().splitlines()[0] == "label;a;b"
    train, test = tmp_path / "tr.csv", tmp_path / "te.csv"
    assert run(capsys, "split", data, "--test-size", 0.2, "-o", train, test)[0] == 0
    assert train.read_text().splitlines()[0] == "label;a;b"


def _numbers_label_last(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    kind = rng.choice(["x", "y"], 300)
    frame = pd.DataFrame(
        {"a": rng.normal(size=300) + (kind == "y"), "b": rng.normal(size=300), "kind": kind}
    )
    path = tmp_path / "last.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_check_and_inpaint_read_a_narrow_file_of_numbers_as_fit_does(tmp_path, capsys):
    import pandas as pd

    data, frame = _numbers_label_last(tmp_path)
    model, out = tmp_path / "m.bgm", tmp_path / "inp.csv"
    assert run(capsys, "fit", data, "-o", model)[0] == 0
    code, text, err = run(capsys, "check", data, "--out", tmp_path / "chk")
    assert code == 0 and "label column: 'kind'" in err and "2 features" in text
    code, _, err = run(
        capsys, "inpaint", model, "--input", data, "--observe", "0:1", "--rows", 2, "-o", out
    )
    assert code == 0, err
    completed = pd.read_csv(out)
    np.testing.assert_allclose(completed["a"], np.repeat(frame["a"][:2], 4), rtol=1e-12)
    assert set(completed.columns) == {"a", "b", "kind"}  # the model's label column


def test_numbers_without_a_header_and_pixel_columns_stay_matrices(tmp_path, capsys):
    from bayesgen import io as bio

    plain = tmp_path / "noheader.csv"
    np.savetxt(plain, np.random.default_rng(0).integers(0, 3, (50, 4)), delimiter=",", fmt="%d")
    code, _, err = run(capsys, "fit", plain, "-o", tmp_path / "m.bgm")
    assert code == 1 and "a header line with column names is expected" in err
    digits = tmp_path / "digits.csv"
    assert run(capsys, "dataset", "digits", "-o", digits)[0] == 0
    assert not bio.is_table_file(digits)  # 64 columns named pixel_i_j: images
    # without its header: repeated numbers in the first line are still no header
    bare = tmp_path / "bare.csv"
    bare.write_text("".join(digits.read_text().splitlines(keepends=True)[1:]))
    code, _, err = run(capsys, "fit", bare, "-o", tmp_path / "m.bgm")
    assert code == 1 and "a header line with column names is expected" in err


def test_sample_writes_images_into_an_existing_empty_folder(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [[k % 2, *rng.integers(0, 256, 784)] for k in range(60)]
    data = tmp_path / "kaggle.csv"
    header = ",".join(["label"] + [f"pixel{j}" for j in range(784)])
    data.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    model, folder = tmp_path / "m.bgm", tmp_path / "images"
    assert run(capsys, "fit", data, "--density", "diag", "-o", model)[0] == 0
    folder.mkdir()
    code, _, err = run(capsys, "sample", model, "-n", 4, "-o", folder)
    assert code == 0, err
    assert sum(1 for _ in folder.rglob("*.png")) == 4


def test_schema_override_errors_name_the_command_line_flags(penguins, tmp_path, capsys):
    data, _ = penguins
    out = tmp_path / "m.bgm"
    code, _, err = run(capsys, "fit", data, "--column-type", "body_mass_g=bogus", "-o", out)
    assert code == 1 and "--column-type gives column 'body_mass_g' the kind 'bogus'" in err
    code, _, err = run(capsys, "fit", data, "--column-type", "year=integer", "-o", out)
    assert code == 1 and "--column-type names a column 'year'" in err
    code, _, err = run(capsys, "fit", data, "--drop", "nosuch", "-o", out)
    assert code == 1 and "--drop names a column 'nosuch'" in err and not out.exists()
