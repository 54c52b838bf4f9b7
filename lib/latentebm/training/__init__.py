"""Training loops. :mod:`.loop` holds what every loop shares: checkpoints that resume, the divergence guard,
the progress log, and a plain optimiser loop for dual (critic) objectives."""
