"""Every notebook: paired and in sync (regenerated, not by file time), opens with the seed result it derives,
then a ``parameters`` cell with the common parameters, and has a catalogue spec."""

import jupytext
import pytest
from latentebm import catalogue, paths
from latentebm.parameters import COMMON

SOURCES = sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.py"))


def test_there_are_notebooks():
    assert SOURCES


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_pair_is_in_sync(source):
    paired = source.with_suffix(".ipynb")
    assert paired.is_file(), f"{paired.name} is missing: jupytext --sync {source.name}"
    regenerated = jupytext.writes(jupytext.read(paired), fmt="py:percent")
    assert regenerated == source.read_text(), f"{source.name} and {paired.name} differ: run jupytext --sync"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_opens_with_derivation_then_parameters(source):
    notebook = jupytext.read(source)
    first, second = notebook.cells[0], notebook.cells[1]
    assert first.cell_type == "markdown" and "Derives" in first.source
    assert second.cell_type == "code" and "parameters" in second.metadata.get("tags", [])
    for name in COMMON:
        assert f"{name} = " in second.source


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_has_a_spec_whose_knobs_are_all_in_the_parameters_cell(source):
    spec = catalogue.get(source.stem)
    parameters_cell = jupytext.read(source).cells[1].source
    for knob in spec.knobs:
        assert f"{knob.name} = None" in parameters_cell


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_paired_notebook_holds_outputs(source):
    notebook = jupytext.read(source.with_suffix(".ipynb"))
    assert any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
