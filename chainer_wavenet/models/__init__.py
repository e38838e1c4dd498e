"""The networks (WaveNet, the autoencoder, the Parallel WaveNet student) and their configs."""
