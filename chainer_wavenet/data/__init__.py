"""Datasets: folders of WAV files, the NSynth layout, and fixed-length training crops."""
