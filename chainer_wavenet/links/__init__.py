"""Layers, each with its whole-sequence form (``__call__``) and its one-sample form (``step``)."""
