"""Plots: spectrograms, embeddings, evaluations."""
