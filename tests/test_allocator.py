"""Large temporaries reuse freed memory (chainer_wavenet.allocator): page faults of real
training steps, each setting in a fresh process."""

import json
import subprocess
import sys

import pytest

PROGRAM = """
import json, resource, sys
import chainer_wavenet
import chainer, numpy as np
from chainer_wavenet.allocator import keep_freed_memory
from chainer_wavenet.models.config import WAVENET_PRESETS
from chainer_wavenet.models.wavenet import WaveNet
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
model = WaveNet(WAVENET_PRESETS["small"])
optimizer = chainer.optimizers.Adam()
optimizer.setup(model)
x = np.random.default_rng(0).integers(0, 256, (4, model.receptive_field + 8192)).astype(np.int32)
optimizer.update(model.loss, x)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    optimizer.update(model.loss, x)
print(json.dumps({"kept": kept,
                  "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def faults(mode):
    result = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True,
                            text=True, check=True, timeout=120)
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_training_steps_reuse_freed_memory_instead_of_fresh_pages():
    """Three Adam steps of the small WaveNet on 4 x 8,192 samples: with glibc's own
    thresholds they fault in tens of thousands of fresh pages (80,000-87,000 measured);
    keeping freed memory, a few hundred."""
    default, kept = faults("default"), faults("keep")
    assert kept["kept"] is True
    assert default["faults"] > 20_000, default
    assert kept["faults"] * 20 < default["faults"], (kept, default)
