"""Generation and synthesis, and what the sampling commands read and write."""
