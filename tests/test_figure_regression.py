"""The arrays behind every key figure, from a ci run in this session, against tests/baselines.

Tolerances are stated per figure in the notebook's catalogue spec. Refresh baselines deliberately with
``nox -s baselines`` and review the change.
"""

import numpy as np
import pytest
from latentebm import catalogue, paths
from latentebm.reporting.records import figure_arrays_path

from .conftest import fresh_ci_output

CASES = [(spec.name, figure) for spec in catalogue.all_specs() for figure in spec.figures]


@pytest.mark.parametrize(("notebook", "figure"), CASES, ids=[f"{n}:{f.key}" for n, f in CASES])
def test_figure_arrays_match_baseline(notebook, figure, tmp_path_factory):
    baseline_path = paths.repository_root() / "tests" / "baselines" / notebook / f"{figure.key}.npz"
    assert baseline_path.is_file(), f"no baseline for {notebook}:{figure.key}; run `nox -s baselines`"
    output = fresh_ci_output(notebook, tmp_path_factory.mktemp(notebook))
    current = np.load(figure_arrays_path(output, notebook, figure.key))
    baseline = np.load(baseline_path)
    assert sorted(current.files) == sorted(baseline.files)
    for name in baseline.files:
        np.testing.assert_allclose(current[name], baseline[name], rtol=figure.rtol, atol=figure.atol,
                                   err_msg=f"{notebook}:{figure.key}:{name} moved beyond tolerance")
