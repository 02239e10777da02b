"""Image preprocessing before OCR (OpenCV). Steps are applied only where measurement showed they help."""

from __future__ import annotations

import numpy as np


def prepare(image: np.ndarray) -> np.ndarray:
    """The image as the OCR engines should see it."""
    return image
