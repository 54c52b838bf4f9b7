"""Metrics: sample quality (Frechet distances on features), likelihoods, distances between samples."""
