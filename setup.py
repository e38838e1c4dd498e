from setuptools import find_packages, setup

setup(
    name="chainer_wavenet",
    version="0.1.0",
    description="WaveNet and the NSynth WaveNet autoencoder as Chainer 7.8.1 Chains",
    packages=find_packages(include=["chainer_wavenet*"]),
    python_requires=">=3.11",
    install_requires=[
        "chainer==7.8.1",
        "numpy>=1.26",
        "scipy",
        "h5py",
        "soundfile",
        "matplotlib",
        "tqdm",
        "pretty_midi",
        "pyfluidsynth",
        "soxr",
        "librosa",
    ],
    extras_require={
        "gpu": ["cupy-cuda13x>=14"],
        "mpi": ["mpi4py>=3.1"],
        "test": ["pytest", "pytest-timeout", "pytest-xdist", "hypothesis", "ruff"],
    },
)
