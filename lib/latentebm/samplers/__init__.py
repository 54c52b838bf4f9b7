"""Markov chains over a differentiable potential, each a small step function over an explicit state."""
