"""The listening page of an evaluation: ``index.html`` with every note's original and each
version played, as audio players with their spectrograms and figures side by side.

The WAVs and spectrogram PNGs go under ``audio/`` beside the page, named
``<note>_<condition>``. Opened in a browser, the page checks that every recording loads and
says so at its top (and marks each player that does not).
"""

import html

from chainer_wavenet.audio.wav import write_wav
from chainer_wavenet.files import atomic_path, ensure_output_dir
from chainer_wavenet.visualizations.plots import save_spectrogram

PAGE = "index.html"
AUDIO = "audio"

_STYLE = """body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 0.4em; vertical-align: top; text-align: left; }
td img { width: 320px; display: block; }
audio[data-state="error"] { outline: 3px solid #c00; }
.figures { font-size: 0.85em; color: #333; }"""

# Marks each player once its file has loaded (data-state, data-duration) or failed, and
# reports at the top of the page how many of them loaded.
_SCRIPT = """const players = Array.from(document.querySelectorAll("audio"));
const status = document.getElementById("status");
let settled = 0;
function settle() {
  settled += 1;
  if (settled < players.length) return;
  const failed = players.filter(p => p.dataset.state !== "loaded");
  status.dataset.state = failed.length ? "error" : "loaded";
  status.textContent = failed.length
    ? failed.length + " of " + players.length + " recordings could not be loaded: "
      + failed.map(p => p.getAttribute("src")).join(", ")
    : "all " + players.length + " recordings loaded";
}
for (const p of players) {
  const loaded = () => {
    p.dataset.state = p.duration > 0 ? "loaded" : "error";
    p.dataset.duration = p.duration;
    settle();
  };
  const failed = () => { p.dataset.state = "error"; settle(); };
  if (p.readyState >= 1) loaded();
  else if (p.error) failed();
  else {
    p.addEventListener("loadedmetadata", loaded, {once: true});
    p.addEventListener("error", failed, {once: true});
  }
}
if (!players.length) status.textContent = "no recordings";"""


def stem(note_name, condition):
    """The file name (without suffix) of ``note_name`` played in ``condition``."""
    return f"{note_name}_{condition.replace(' ', '')}"


def _figures(rows):
    """One line of figures for a note's rows in one condition (a melody: all its notes)."""
    if not rows:
        return ""
    parts = []
    within = sum(bool(r["within"]) for r in rows)
    parts.append(f"{within} of {len(rows)} within 50 cents" if len(rows) > 1
                 else ("within 50 cents" if within else "not within 50 cents"))
    voiced = [r["cents"] for r in rows if r["cents"] is not None]
    if len(rows) == 1 and voiced:
        parts.append(f"{voiced[0]:+.0f} cents")
    for key, label in (("hnr_db", "HNR"), ("hnr_gap_db", "HNR gap"),
                       ("log_mel_db", "log-mel distance")):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            parts.append(f"{label} {sum(values) / len(values):.1f} dB")
    return "; ".join(parts)


def _cell(name, condition, rows):
    base = stem(name, condition)
    return (f'<td><div>{html.escape(condition)}</div>'
            f'<audio controls preload="metadata" src="{AUDIO}/{html.escape(base)}.wav"></audio>'
            f'<img src="{AUDIO}/{html.escape(base)}.png" alt="spectrogram of '
            f'{html.escape(base)}"><div class="figures">{html.escape(_figures(rows))}</div></td>')


def _rows_of(results, name, condition):
    return [r for r in results["notes"] if r["condition"] == condition
            and (r["note"] == name or r["note"].startswith(f"{name}#"))]


def write_listening_page(folder, results, played, sample_rate, table=""):
    """Write every original and played clip (WAV + spectrogram PNG) under ``folder/audio``
    and ``folder/index.html`` listing them, one row per note. ``played``: (condition, note,
    audio) as :func:`chainer_wavenet.sampling.evaluation.evaluate` returns it; ``table``:
    the summary as Markdown, shown above the notes. Returns the page's path."""
    folder = ensure_output_dir(folder)
    audio_folder = ensure_output_dir(folder / AUDIO)
    notes = {}
    for condition, note, audio in played:
        notes.setdefault(note.name, (note, []))[1].append((condition, audio))
    lines = []
    for name, (note, versions) in notes.items():
        cells = []
        for condition, audio in [("original", note.audio), *versions]:
            base = stem(name, condition)
            write_wav(audio_folder / f"{base}.wav", audio, sample_rate, force=True)
            save_spectrogram(audio_folder / f"{base}.png", audio, sample_rate,
                             f"{name}: {condition}", force=True)
            cells.append(_cell(name, condition, _rows_of(results, name, condition)))
        lines.append(f"<tr><th>{html.escape(name)}<br>{html.escape(note.family)}, "
                     f"MIDI {note.pitch}</th>{''.join(cells)}</tr>")
    page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>Evaluation</title><style>{_STYLE}</style></head><body>\n"
            f"<h1>Evaluation</h1>\n<p id=\"status\">checking the recordings...</p>\n"
            f"<pre>{html.escape(table)}</pre>\n"
            f"<p>{html.escape(results.get('command', ''))}</p>\n"
            f"<table>\n{chr(10).join(lines)}\n</table>\n<script>{_SCRIPT}</script>\n"
            f"</body></html>\n")
    path = folder / PAGE
    with atomic_path(path, force=True) as temporary, open(temporary, "w") as f:
        f.write(page)
    return path
