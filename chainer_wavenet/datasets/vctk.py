"""VCTK's layout as downloaded: the audio folder inside the corpus folder, and its transcripts.

::

    VCTK-Corpus/wav48/p225/p225_001.wav                            (release 0.80)
    VCTK-Corpus/txt/p225/p225_001.txt
    VCTK-Corpus-0.92/wav48_silence_trimmed/p225/p225_001_mic1.flac (release 0.92)
    VCTK-Corpus-0.92/txt/p225/p225_001.txt

Release 0.92 holds every sentence from two microphones; the first (``_mic1``) is used where
both are there.
"""

from pathlib import Path

from chainer_wavenet.errors import WaveNetError

AUDIO_FOLDERS = ("wav48", "wav48_silence_trimmed")
TRANSCRIPTS = "txt"
_MICROPHONES = ("_mic1", "_mic2")


def audio_folder(root):
    """The folder of speaker folders: ``root``'s VCTK audio folder if it has one, else ``root``."""
    root = Path(root)
    for name in AUDIO_FOLDERS:
        if (root / name).is_dir():
            return root / name
    return root


def first_microphone(paths):
    """``paths`` without the ``_mic2`` recordings whose ``_mic1`` twin is there."""
    present = set(paths)
    return [path for path in paths if not (
        path.stem.endswith("_mic2") and path.with_name(
            path.name.replace("_mic2", "_mic1")) in present)]


def sentence_id(path):
    """``p225_001`` for ``p225_001.wav`` and ``p225_001_mic1.flac``."""
    stem = Path(path).stem
    for microphone in _MICROPHONES:
        stem = stem.removesuffix(microphone)
    return stem


def check_transcripts(audio_root, paths):
    """WaveNetError for a transcript of one of the speakers in ``paths`` that has no audio.

    Transcripts are looked for only where VCTK keeps them: in ``txt`` beside an audio folder
    named as VCTK names it.
    """
    transcripts = audio_root.parent / TRANSCRIPTS
    if audio_root.name not in AUDIO_FOLDERS or not transcripts.is_dir():
        return
    heard = {sentence_id(path) for path in paths}
    for speaker in sorted({path.relative_to(audio_root).parts[0] for path in paths}):
        for transcript in sorted((transcripts / speaker).glob("*.txt")):
            if transcript.stem not in heard:
                raise WaveNetError(
                    f"{transcript}: a transcript without audio (no {transcript.stem}.wav or "
                    f".flac in {audio_root / speaker}); restore the recording from the "
                    "download, or delete the transcript")
