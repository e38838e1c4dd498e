"""The evaluation's listening page: every player loads its recording in a real browser."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from model_fixtures import make_autoencoder

from chainer_wavenet.sampling import evaluation
from chainer_wavenet.sampling.listening_page import stem, write_listening_page

RATE = 16000
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def tone(midi, samples):
    t = np.arange(samples) / RATE
    return (0.3 * np.sin(2 * np.pi * 440.0 * 2 ** ((midi - 69) / 12) * t)).astype(np.float32)


@pytest.fixture(scope="module")
def evaluated():
    model = make_autoencoder(seed=3)
    notes = [evaluation.Note(f"flute_{midi}", "flute", midi, tone(midi, 4 * 1024))
             for midi in (60, 67)]
    results, played = evaluation.evaluate(model, notes, RATE, shifts=(2,), batch_size=2,
                                          progress=False, likelihood=False,
                                          prime_seconds=1024 / RATE)
    return results, played


def rendered_dom(page):
    """The page's DOM after its scripts ran, as headless Chromium sees it."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--allow-file-access-from-files", "--autoplay-policy=no-user-gesture-required",
               "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def players(dom):
    return re.findall(r"<audio[^>]*>", dom)


def test_the_page_lists_every_note_with_its_original_and_each_version(tmp_path, evaluated):
    results, played = evaluated
    page = write_listening_page(tmp_path, results, played, RATE, "| table |")
    text = page.read_text()
    for condition in ("original", "reconstruction", "shift +2", "primed"):
        for name in ("flute_60", "flute_67"):
            base = stem(name, condition)
            assert f'src="audio/{base}.wav"' in text and f'src="audio/{base}.png"' in text
            assert (tmp_path / "audio" / f"{base}.wav").stat().st_size > 0
            assert (tmp_path / "audio" / f"{base}.png").stat().st_size > 0
    assert text.count("<audio") == 8 and "HNR gap" in text and "| table |" in text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make installs it)")
def test_every_player_loads_its_file_in_a_browser(tmp_path, evaluated):
    results, played = evaluated
    dom = rendered_dom(write_listening_page(tmp_path, results, played, RATE))
    found = players(dom)
    assert len(found) == 8
    for player in found:
        assert 'data-state="loaded"' in player, player
        duration = float(re.search(r'data-duration="([0-9.]+)"', player).group(1))
        assert duration > 0
    assert "all 8 recordings loaded" in dom


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make installs it)")
def test_a_missing_recording_is_flagged_on_the_page(tmp_path, evaluated):
    results, played = evaluated
    write_listening_page(tmp_path, results, played, RATE)
    (tmp_path / "audio" / f"{stem('flute_67', 'primed')}.wav").unlink()
    dom = rendered_dom(tmp_path / "index.html")
    failed = [p for p in players(dom) if 'data-state="error"' in p]
    assert len(failed) == 1 and "flute_67_primed.wav" in failed[0]
    assert "1 of 8 recordings could not be loaded" in dom
