"""The demo run: a damped oscillator simulated for many (frequency, damping) pairs.

Importable on purpose: worker processes load ``simulate`` from here by name.
"""

from __future__ import annotations

import numpy as np


def simulate(frequency: float, damping: float, duration: float = 2.0, rate: int = 500) -> tuple[np.ndarray, float]:
    """Displacement of a damped oscillator over ``duration`` seconds and its final energy."""
    t = np.arange(0.0, duration, 1.0 / rate)
    trace = np.exp(-damping * t) * np.cos(2.0 * np.pi * frequency * t)
    energy = float(0.5 * trace[-1] ** 2)
    return trace, energy


def parameters(n_calls: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_calls`` reproducible (frequency, damping) pairs."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 5.0, n_calls), rng.uniform(0.1, 2.0, n_calls)
