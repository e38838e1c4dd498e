"""What a new user meets first: the README's commands and what `make demo` tells them."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_section(title):
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, title
    return match.group(1)


def test_two_commands_say_to_activate_the_virtual_environment():
    assert "source .venv/bin/activate" in readme_section("Two commands")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_ends_by_printing_the_activation_line():
    # A dry run prints every command of the recipe, the last one included, and runs none.
    result = subprocess.run(["make", "-n", "demo", "DATASET=tests"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "source .venv/bin/activate" in last
