"""Networks: critics (:mod:`.critics`), and later generators, energies and flows, one module per family."""
