"""Datasets: folders of WAV files (VCTK and espeak-ng speech among them), the NSynth layout,
and fixed-length training crops."""
