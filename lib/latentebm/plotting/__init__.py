"""Plotting functions: each takes arrays (and optionally an ``ax``) and returns a matplotlib Figure; none calls
``plt.show()``. One module per topic; :mod:`.style` holds the shared look."""
