"""A Trainer extension that measures what the model plays, not only its loss."""

import chainer
from chainer.training import extension

from chainer_wavenet.sampling import evaluation

KEYS = ("validation/pitch_within_50", "validation/log_mel_db", "validation/hnr_gap_db")


class PitchAccuracy(extension.Extension):
    """Every trigger, reconstructs a few validation notes and reports how many keep their pitch.

    Reports the share within 50 cents (``validation/pitch_within_50``), the mean log-mel
    distance in dB (``validation/log_mel_db``) and the median gap between the originals'
    harmonic-to-noise ratio and the reconstructions' (``validation/hnr_gap_db``) to the
    log, before LogReport reads it, and prints one line.
    """

    priority = extension.PRIORITY_WRITER

    def __init__(self, model, notes, sample_rate, temperature=1.0, seed=0):
        self.model = model
        self.notes = notes
        self.sample_rate = sample_rate
        self.temperature = temperature
        self.seed = seed

    def __call__(self, trainer):
        with chainer.using_config("train", False):
            results, _ = evaluation.evaluate(
                self.model, self.notes, self.sample_rate, temperature=self.temperature,
                batch_size=len(self.notes), seed=self.seed, progress=False, likelihood=False,
                originals=False)
        summary = results["summary"]["reconstruction"]
        chainer.reporter.report({KEYS[0]: summary["within_50_cents"],
                                 KEYS[1]: summary["log_mel_db"]}
                                | ({} if summary["hnr_gap_db"] is None
                                   else {KEYS[2]: summary["hnr_gap_db"]}))
        within = round(summary["within_50_cents"] * summary["notes"])
        print(f"iteration {trainer.updater.iteration}: {within} of {summary['notes']} "
              f"validation notes played within 50 cents of their pitch; log-mel distance "
              f"{summary['log_mel_db']:.1f} dB; harmonic-to-noise gap "
              f"{_decibels(summary['hnr_gap_db'])}", flush=True)


def _decibels(value):
    return "-" if value is None else f"{value:.1f} dB"
