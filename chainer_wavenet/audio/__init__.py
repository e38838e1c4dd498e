"""Audio transforms and files: WAV I/O, mu-law and linear quantization, mel spectrograms,
pitch signals and pitch tracks."""
