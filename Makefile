# Every target sets up what it needs: Debian packages, virtual environments, cached wheels.

PYTHON ?= python3
VENV ?= .venv
VENV_NP1 ?= .venv-np1
CACHE ?= .cache
EXTRAS ?= test,mpi
PIP_FLAGS ?= --quiet --progress-bar off --disable-pip-version-check
# One worker per core, each taking whole files (a file's shared fixtures are built once).
PYTEST_ARGS ?= -q --timeout=300 -n auto --dist loadfile
TESTS ?= tests

CHAINER_VERSION ?= 7.8.1
MPI4PY_SPEC ?= mpi4py>=3.1
# mpi4py is compiled with mpicc against the system Open MPI: about 4 min with Python's
# own -O3 on 2 cores, under a minute at -O0. MPI's work runs in libmpi, not in this wrapper.
MPI4PY_CFLAGS ?= -O0

# Wheels hold compiled code for one Python, so the cache is kept per interpreter.
PY_TAG := $(shell $(PYTHON) -c 'import sys; print("cp%d%d" % sys.version_info[:2])' 2>/dev/null)
WHEELS := $(CACHE)/wheels/$(PY_TAG)
BUILD_VENV := $(CACHE)/build-venv-$(PY_TAG)
CHAINER_WHEEL := $(WHEELS)/chainer-$(CHAINER_VERSION)-py3-none-any.whl
MPI4PY_STAMP := $(WHEELS)/mpi4py.stamp

# Demo job: change flags here.
DATASET ?= data/nsynth-small
RESULT ?= result/autoencoder
RENDER_ARGS ?= --out $(DATASET)
# A second `make demo` continues (or just reuses) the first run instead of refusing.
TRAIN_ARGS ?= --dataset $(DATASET) --out $(RESULT) \
	$(if $(wildcard $(RESULT)/snapshot_iter_*.npz),--resume)
SAMPLE_ARGS ?= reconstruct --model $(RESULT)/model.h5 --dataset $(DATASET) --split valid \
	--limit 4 --batch 4 --seconds 2 --seed 0 --out $(RESULT)/samples --force
EVALUATE_ARGS ?= evaluate --model $(RESULT)/model.h5 --dataset $(DATASET) --split valid \
	--seconds 2 --batch 8 --prime-seconds 0.25 --harmonic-filter 3 --seed 0 \
	--out $(RESULT)/evaluation --force
EMBEDDING_ARGS ?= --model $(RESULT)/model.h5 --dataset $(DATASET) --split train \
	--out $(RESULT)/embeddings --force

# Reference recipe: 24 General MIDI instruments x 25 pitches, split by instrument (valid and
# test instruments never play in train), about 2 hours of training on a 2-core CPU; a second
# `make reference` continues the run from its newest snapshot.
REFERENCE_DATA ?= data/nsynth-reference
REFERENCE ?= result/reference
REFERENCE_PROGRAMS ?= 0,4,6,11,16,21,24,26,32,33,40,41,42,48,56,57,60,64,68,71,73,74,80,81
REFERENCE_RENDER_ARGS ?= --out $(REFERENCE_DATA) --programs $(REFERENCE_PROGRAMS) \
	--pitches 48:72:1 --split-by instrument
REFERENCE_TRAIN_ARGS ?= --dataset $(REFERENCE_DATA) --out $(REFERENCE) --iteration 10000 \
	--interval 500 --quality-notes 4 --quality-interval 2000 --preview-notes 0 \
	$(if $(wildcard $(REFERENCE)/snapshot_iter_*.npz),--resume)
REFERENCE_EVALUATE_ARGS ?= evaluate --model $(REFERENCE)/model.h5 --dataset $(REFERENCE_DATA) \
	--split test --shift=-5,5 --seconds 2 --batch 8 --prime-seconds 0.25 --harmonic-filter 3 \
	--one-step --seed 0 --out $(REFERENCE)/evaluation --force

# Melody recipe: ode-to-joy rendered by the 120 GM programs at -5, 0 and +5 semitones, split
# by program; the held-out programs' timbres then play frere-jacques (timbre transfer).
MELODY_DATA ?= data/melody
MELODY ?= result/melody
MELODY_RENDER_ARGS ?= --out $(MELODY_DATA) --transpose=-5,0,5
MELODY_TRAIN_ARGS ?= --dataset $(MELODY_DATA) --out $(MELODY) --iteration 4000 --interval 500 \
	--quality-notes 4 --quality-seconds 4 --quality-interval 1000 --preview-notes 1 \
	--preview-seconds 4 $(if $(wildcard $(MELODY)/snapshot_iter_*.npz),--resume)
MELODY_TRANSFER_ARGS ?= transfer --model $(MELODY)/model.h5 --dataset $(MELODY_DATA) \
	--split test --note '*-ode-to-joy' --melody frere-jacques --batch 12 --seed 0 \
	--out $(MELODY)/transfer --force

APT_PACKAGES ?= make gcc libc6-dev libfluidsynth3 libsndfile1 openmpi-bin libopenmpi-dev espeak-ng \
	chromium
# Debian's own python3 needs these for venvs and for compiling mpi4py.
APT_PACKAGES += $(shell $(PYTHON) -c 'import ensurepip' 2>/dev/null || echo python3 python3-venv)
APT_PACKAGES += $(shell $(PYTHON) -c 'import os, sysconfig; \
	assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' \
	2>/dev/null || echo python3-dev)

# Open MPI refuses to start as root (CI runs as root) and to run more ranks than cores.
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1

.PHONY: test lint demo reference melody system-deps clean

# Every test runs on the NumPy 2 line; the NumPy 1.26 line skips the end-to-end runs marked
# slow (seconds each, no NumPy-specific code of their own) to keep CI within its time.
test: $(VENV)/.installed $(VENV_NP1)/.installed
	@status=0; \
	echo "== ruff check ."; \
	$(VENV)/bin/ruff check . || status=1; \
	for venv in $(VENV) $(VENV_NP1); do \
		marks=$$([ $$venv = $(VENV_NP1) ] && echo "not slow" || echo ""); \
		echo "== pytest in $$venv, NumPy $$($$venv/bin/python -c 'import numpy; print(numpy.__version__)')" \
			"$${marks:+(-m '$$marks')}"; \
		$$venv/bin/python -m pytest $(PYTEST_ARGS) -m "$$marks" $(TESTS) || status=1; \
	done; \
	exit $$status

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# The demo's small model gains little from BLAS threads, and OpenBLAS threads that meet any
# other load on the cores slow each other down many times over: one thread by default.
demo: export OPENBLAS_NUM_THREADS ?= 1
demo: $(DATASET) $(VENV)/.installed
	$(VENV)/bin/python train/autoencoder.py $(TRAIN_ARGS)
	$(VENV)/bin/python sample/autoencoder.py $(SAMPLE_ARGS)
	$(VENV)/bin/python sample/autoencoder.py $(EVALUATE_ARGS)
	$(VENV)/bin/python sample/embeddings.py $(EMBEDDING_ARGS)
	@echo "== done: listen to every validation note and what the model played in" \
		"$(RESULT)/evaluation/index.html (open it in a browser); plots in $(RESULT)/*.png," \
		"$(RESULT)/samples/*.png, $(RESULT)/embeddings/*.png; pitch, spectral distance" \
		"and harmonic-to-noise ratio of every note in $(RESULT)/evaluation/"
	@echo "== to run the README's python commands, first: source $(VENV)/bin/activate"

# Rendered once; delete the folder to render again.
$(DATASET): | $(VENV)/.installed
	$(VENV)/bin/python train/render_nsynth.py $(RENDER_ARGS)

reference: export OPENBLAS_NUM_THREADS ?= 1
reference: $(REFERENCE_DATA) $(VENV)/.installed
	$(VENV)/bin/python train/autoencoder.py $(REFERENCE_TRAIN_ARGS)
	$(VENV)/bin/python sample/autoencoder.py $(REFERENCE_EVALUATE_ARGS)

$(REFERENCE_DATA): | $(VENV)/.installed
	$(VENV)/bin/python train/render_nsynth.py $(REFERENCE_RENDER_ARGS)

melody: export OPENBLAS_NUM_THREADS ?= 1
melody: $(MELODY_DATA) $(VENV)/.installed
	$(VENV)/bin/python train/autoencoder.py $(MELODY_TRAIN_ARGS)
	$(VENV)/bin/python sample/autoencoder.py $(MELODY_TRANSFER_ARGS)

$(MELODY_DATA): | $(VENV)/.installed
	$(VENV)/bin/python train/render_melody.py $(MELODY_RENDER_ARGS)

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	cmd="apt-get update && apt-get install -y"; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "Missing Debian packages; run as root:"; \
		echo "  $$cmd" $$missing; \
		exit 1; \
	fi; \
	echo "== installing" $$missing; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing

$(VENV)/.installed: setup.py requirements/numpy2.txt $(CHAINER_WHEEL) $(MPI4PY_STAMP) | system-deps
	$(call install-venv,$(VENV),requirements/numpy2.txt)

$(VENV_NP1)/.installed: setup.py requirements/numpy1.txt $(CHAINER_WHEEL) $(MPI4PY_STAMP) | system-deps
	$(call install-venv,$(VENV_NP1),requirements/numpy1.txt)

# $(1): venv folder, $(2): constraints file (picks the NumPy line).
define install-venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(1)/bin/pip install $(PIP_FLAGS) -c $(2) \
		$(CHAINER_WHEEL) $(WHEELS)/mpi4py-*.whl -e '.[$(EXTRAS)]'
	touch $(1)/.installed
endef

# Chainer 7.8.1 is sdist-only and its setup.py needs pkg_resources (setuptools<81).
$(BUILD_VENV)/.installed: | system-deps
	$(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip 'setuptools<81' wheel
	touch $@

$(CHAINER_WHEEL): $(BUILD_VENV)/.installed
	$(BUILD_VENV)/bin/pip wheel $(PIP_FLAGS) --no-build-isolation --no-deps \
		--no-binary chainer -w $(WHEELS) chainer==$(CHAINER_VERSION)

$(MPI4PY_STAMP): $(BUILD_VENV)/.installed
	rm -f $(WHEELS)/mpi4py-*.whl
	CFLAGS='$(MPI4PY_CFLAGS)' $(BUILD_VENV)/bin/pip wheel $(PIP_FLAGS) --no-deps \
		--no-binary mpi4py -w $(WHEELS) '$(MPI4PY_SPEC)'
	touch $@

clean:
	rm -rf $(VENV) $(VENV_NP1) $(CACHE) build .pytest_cache .ruff_cache .hypothesis *.egg-info
	find . -path ./data -prune -o -path ./result -prune -o \
		-name __pycache__ -type d -prune -exec rm -rf {} +
