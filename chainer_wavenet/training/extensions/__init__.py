"""Trainer extensions: snapshots, log, loss plot, step decay, weight average, previews and
quality measured during training."""
