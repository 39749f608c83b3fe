"""The reproduction report: exact checks computed live, the numbers of a run's executed notebooks collected."""

import json

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from reproduce.book import figures, runner, summary
from reproduce.paper import TABLE3


def test_exact_checks_state_the_paper_and_the_model():
    checks = summary.exact_checks().set_index("statement")
    assert checks.loc["layers with parameters (Section 5)", "this book"] == 22
    assert checks.loc["crops per test image (Section 7)", ["paper", "this book"]].tolist() == [144, 144]
    ops = checks.loc["multiply-adds at inference, the first layer a dense 7x7 convolution (BVLC Caffe's conv1/7x7_s2)"]
    assert ops["this book"] == 1_582_671_872 and not ops["agrees"] and ops["note"].startswith("+5.5%")
    # to the printed precision: the fc row's 1,024,000 is the printed "1M"; 4a's 73.6M is not the printed "73M"
    rows = checks.loc["Table 1 rows whose multiply-adds the filter counts give (to the printed precision)"]
    assert (rows["paper"], rows["this book"]) == (12, 9)
    assert rows["note"] == "off: conv1 +247.1%, inception4a +0.8%, inception5a -5.4%"
    assert checks["agrees"].sum() == 5


def _executed_notebook(tmp_path):
    """A notebook that glues a string, a number, a figure and a table, executed as papermill would."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\nfrom myst_nb import glue\n"
        "glue('accuracy', f'{0.873:.1%}', display=False)\nglue('count', 42, display=False)\n"
        "fig, ax = plt.subplots()\nglue('fig_x', fig, display=False)\nprint('not glued')\n"
        "import pandas as pd\nglue('table', pd.DataFrame({'a': [1]}).style, display=False)")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    path = tmp_path / "glued.ipynb"
    nbformat.write(notebook, path)
    return path


def test_glued_values_are_read_from_an_executed_notebook(tmp_path):
    assert runner.glued_values(_executed_notebook(tmp_path)) == {"accuracy": "87.3%", "count": "42"}


def test_read_results_skips_the_run_summary(tmp_path):
    (tmp_path / "training.json").write_text(json.dumps({"seconds": 60.0}))
    (tmp_path / "run.json").write_text(json.dumps({"notebooks": {}}))
    assert runner.read_results(tmp_path) == {"training": {"seconds": 60.0}}
    assert runner.read_results(tmp_path / "missing") == {}


def _record(values, parameters=None, seconds=90.0):
    return {"values": values, "parameters": parameters or {}, "seconds": seconds, "device": "CPU (2 cores)",
            "threads": 1, "git_commit": "0123456789abcdef0123"}


def test_miniature_results_take_each_value_from_its_notebook_beside_the_paper():
    results = {"training": _record({"test_top1": "89.6%", "test_top1_raw": "88.3%"},
                                   {"seeds": 3, "config": {"epochs": 1, "width": 0.5}}),
               "evaluation": _record({"base_error": "23.0", "both_change": "-16.0"})}
    table = summary.miniature_results(results).set_index(["chapter", "result"])
    training = table.loc[("training", "test top-1, GoogLeNet with auxiliary heads, Polyak-averaged weights (mean over "
                                      "seeds, 95% CI)")]
    assert training["this book"] == "89.6%"
    assert training["parameters"] == "epochs=1, width=0.5, seeds=3"  # the config's fields first, as parameters
    assert pd.isna(table.loc[("training", "the same network without auxiliary heads, Polyak-averaged"), "this book"])
    both = table.loc[("evaluation", "change with both (points)")]
    assert both["this book"] == "-16.0" and both["paper"] == f"{TABLE3[-1].top5_error - TABLE3[0].top5_error:+.2f}"
    assert both["paper"] == "-3.40" and both["parameters"] == "defaults"
    assert table.loc[("data", "test top-1 of a linear classifier on raw pixels")].isna()[["this book",
                                                                                         "parameters"]].all()
    assert [item.notebook for item in summary.REPORTED].count("evaluation") == 5


def test_chapter_times_and_their_figure():
    times = summary.chapter_times({"training": _record({}, seconds=600.0), "data": _record({}, seconds=30.0)})
    assert times["notebook"].tolist() == ["data", "training"]  # in the book's order, not the results'
    assert times["minutes"].tolist() == [0.5, 10.0] and times["git commit"].tolist() == ["0123456789ab"] * 2
    bars = [p.get_width() for p in figures.chapter_times(times).axes[0].patches]
    assert bars == pytest.approx([0.5, 10.0])


def test_findings_table_lists_every_chapters_findings_with_verdicts():
    from reproduce.analysis import findings

    found = [findings.two_samples_over_seeds([0.8, 0.82, 0.81], [0.7, 0.71, 0.69], claim="Do heads help",
                                             quantity="q", expected=1).trained_on("net A", "short runs")]
    central = [findings.two_samples_over_seeds([0.8, 0.9], [0.3, 0.4], claim="Do modules help", quantity="c",
                                               expected=1)]  # recorded without a network
    results = {"training": {"values": {"findings": findings.findings_json(found)}}, "data": {"values": {}},
               "motivation": {"values": {"findings": findings.findings_json(central)}}}
    table = summary.findings_table(results)
    assert list(table["chapter"]) == ["motivation", "training"]  # in the book's order, not the results'
    assert table.loc[1, "verdict"] == "supports" and table.loc[1, "network"] == "net A"
    assert table.loc[1, "n"] == "3 + 3 seeds" and table.loc[1, "change (points, 95% CI)"].startswith("+11.0 (95% CI")
    front = summary.front_table(results)
    assert list(front["checked on"]) == ["not recorded", "net A"]
    assert list(front["caveat"]) == ["none recorded", "short runs"]
    assert front.loc[1, "change of top-1 (points, 95% CI)"] == table.loc[1, "change (points, 95% CI)"] + ", 3 + 3 seeds"
    assert summary.findings_table({}).empty and summary.front_table({}).empty
