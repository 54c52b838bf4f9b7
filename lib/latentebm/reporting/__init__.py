"""What a notebook run leaves behind and how the reports are built from it.

- :mod:`.records`: headline metrics, key-figure arrays and PNGs, the run record (parameters, versions, git).
- :mod:`.pipeline`: the main job: execute every notebook with papermill, render HTML, write the index.
- :mod:`.index`: the HTML index of notebooks, their headline numbers beside the paper's, and their claims'
  verdicts over seeds.
"""

from latentebm.reporting.records import (
    figure_arrays_path,
    load_metrics,
    metrics_path,
    record_claim,
    record_metrics,
    save_figure,
    show_metrics,
    write_json_atomic,
)

__all__ = [
    "figure_arrays_path",
    "load_metrics",
    "metrics_path",
    "record_claim",
    "record_metrics",
    "save_figure",
    "show_metrics",
    "write_json_atomic",
]
