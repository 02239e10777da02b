"""Image preprocessing before OCR (OpenCV).

Each step is a function of a uint8 image (grayscale or RGB) and can be switched on or off through
`Steps`; `DEFAULT_STEPS` holds the ones the A/B measurement (bench/reading_ab.py) showed to help.
All measurements of the page (ink, text size, skew) are taken on a small thumbnail, so the steps
cost milliseconds even on 35-megapixel scans.

Each step that moves the page (crop, turn, deskew, rescale) also returns its map from the old image's
coordinates to the new one's; `prepare` records them in the page's `PageTransform`, which takes the
boxes OCR finds back to the page itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from extraction.decode import A4_300_DPI_PIXELS
from extraction.models import IDENTITY, Affine, PageTransform

# Tesseract reads best when capital letters are ~20-40 px tall; RapidOCR rescales text lines itself.
_TARGET_TEXT_HEIGHT = 30
_THUMBNAIL_SIDE = 1000


@dataclass(frozen=True)
class Steps:
    crop: bool = True  # cut away empty scanner bed / table around the document
    scale: bool = True  # bring text to the height OCR reads best
    orientation: bool = True  # quarter turns here; upside-down pages in the OCR stage (pipeline)
    deskew: bool = True  # small rotations (up to ~10°)
    denoise: bool = False
    threshold: bool = False  # adaptive binarisation


DEFAULT_STEPS = Steps()


def prepare(
    image: np.ndarray, steps: Steps = DEFAULT_STEPS, transform: PageTransform | None = None
) -> tuple[np.ndarray, PageTransform]:
    """The image as the OCR engines should see it: grayscale, upright, cropped, text at a readable size;
    and `transform` (the image's own, by default: the image is the page) extended by the steps taken."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if transform is None:
        transform = PageTransform(width=gray.shape[1], height=gray.shape[0])
    moving = (
        (steps.crop, crop_to_document),
        (steps.orientation, fix_quarter_turn),
        (steps.deskew, deskew),
        (steps.scale, normalise_text_height),
    )
    for enabled, step in moving:
        if enabled:
            gray, moved = step(gray)
            transform = transform.then(moved)
    if steps.denoise:
        gray = cv2.fastNlMeansDenoising(gray, h=10, templateWindowSize=7, searchWindowSize=21)
    if steps.threshold:
        gray = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 15)
    return gray, transform


def _thumbnail(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """A copy whose long side is at most _THUMBNAIL_SIDE, and the factor thumbnail / original."""
    factor = min(1.0, _THUMBNAIL_SIDE / max(gray.shape))
    if factor == 1.0:
        return gray, 1.0
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), factor


def _ink(thumb: np.ndarray) -> np.ndarray:
    """Binary mask (255 = ink) of dark marks on a light page, robust to uneven lighting."""
    return cv2.adaptiveThreshold(thumb, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)


def _letters(thumb: np.ndarray) -> np.ndarray:
    """Ink of letter-sized marks only. Dust, JPEG noise and the dots of a dithered grey background
    are too small; rules, table borders and coloured paper edges are long marks whose extent and
    direction say nothing about where and which way the text runs."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(_ink(thumb))
    height, width = thumb.shape
    heights, widths = stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_WIDTH]
    letter = (heights >= 3) & (widths <= width / 8) & (heights <= height / 8)
    letter[0] = False  # the background
    return letter[labels]


def crop_to_document(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    """Cut the page out of its surroundings, when it is clearly separable.

    Two cases: a light page on a dark background (a photo on a table): keep the largest light region;
    a small document on a large light scan (a receipt on a flatbed): keep the box around the ink.
    Nothing is cut when the content already fills most of the image.
    """
    thumb, factor = _thumbnail(gray)
    height, width = thumb.shape
    blurred = cv2.GaussianBlur(thumb, (5, 5), 0)
    level, light = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    border = np.concatenate([blurred[0], blurred[-1], blurred[:, 0], blurred[:, -1]])
    # Surroundings mostly darker than the page (a table, a grey scanner lid): the page is the big
    # light region. A gap between the two levels keeps plain white scans out of this branch.
    if np.mean(border < level) > 0.5 and np.median(thumb[light > 0]) - np.median(border) > 25:
        count, _, stats, _ = cv2.connectedComponentsWithStats(light)
        if count < 2:
            return gray, IDENTITY
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        x, y, w, h = stats[largest, :4]
    else:
        x, y, w, h = _content_box(_letters(thumb))
    if w * h > 0.7 * width * height or w < 0.05 * width or h < 0.05 * height:
        return gray, IDENTITY
    margin = 0.02 * max(width, height)
    left = max(0, int((x - margin) / factor))
    top = max(0, int((y - margin) / factor))
    right = min(gray.shape[1], int((x + w + margin) / factor))
    bottom = min(gray.shape[0], int((y + h + margin) / factor))
    return gray[top:bottom, left:right], (1.0, 0.0, -left, 0.0, 1.0, -top)


def _content_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """Box around the text on a light page: ink smeared into blobs, keeping blobs with real mass,
    so scanner dust and specks far from the document do not stretch the box."""
    height, width = ink.shape
    ink = _off_the_edges(ink.astype(np.uint8))
    reach = max(3, max(height, width) // 60)
    blobs = cv2.dilate(ink, np.ones((reach, reach), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(blobs)
    if count < 2:
        return 0, 0, width, height
    mass = np.bincount(labels[ink > 0], minlength=count)
    kept = [
        i
        for i in range(1, count)
        if mass[i] >= max(30, 0.002 * mass[1:].sum())  # a short line of text, not a stray mark
        # blobs touching the image edge are scanner lids, shadows and paper edges, not content
        and stats[i, 0] > 0 and stats[i, 1] > 0
        and stats[i, 0] + stats[i, 2] < width and stats[i, 1] + stats[i, 3] < height
    ]
    if not kept:
        return 0, 0, width, height
    x0 = min(stats[i, 0] for i in kept)
    y0 = min(stats[i, 1] for i in kept)
    x1 = max(stats[i, 0] + stats[i, 2] for i in kept)
    y1 = max(stats[i, 1] + stats[i, 3] for i in kept)
    return x0, y0, x1 - x0, y1 - y0


def _off_the_edges(ink: np.ndarray) -> np.ndarray:
    """The ink without the marks that touch the image edge (a torn paper edge, a lid's shadow):
    smeared together with the text near them, they would take that text out of the box below."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink)
    height, width = ink.shape
    x, y, w, h = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    touching = (x == 0) | (y == 0) | (x + w >= width) | (y + h >= height)
    touching[0] = False  # the background
    if not touching.any():
        return ink
    return np.where(touching[labels], 0, ink).astype(np.uint8)


def text_height(gray: np.ndarray) -> float | None:
    """Median height in pixels of letter-sized ink components, or None when there is no text."""
    thumb, factor = _thumbnail(gray)
    count, _, stats, _ = cv2.connectedComponentsWithStats(_ink(thumb))
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    # Letter-shaped marks only: rules, dashes ("-----") and dotted leaders are wide and flat.
    letters = heights[(heights >= 3) & (heights <= thumb.shape[0] / 10) & (widths <= 1.5 * heights) & (widths * 5 >= heights)]
    if len(letters) < 20:
        return None
    return float(np.median(letters)) / factor


# Till printers print 32-48 characters per line; A4 and letter pages at reading size fit 65-120.
_RECEIPT_MAX_COLUMNS = 62


def is_narrow(gray: np.ndarray) -> bool:
    """Receipt-shaped: at most ~62 characters of the page's text size fit across it."""
    height = text_height(gray)
    return height is not None and gray.shape[1] / height <= _RECEIPT_MAX_COLUMNS


def normalise_text_height(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    """Scale so that text is about _TARGET_TEXT_HEIGHT px tall: big scans shrink (faster), tiny text grows."""
    height = text_height(gray)
    if height is None:
        return gray, IDENTITY
    factor = _TARGET_TEXT_HEIGHT / height
    if 0.67 <= factor <= 1.5:
        return gray, IDENTITY
    if factor > 1:  # grow small text at most 2x, and never past an A4 page at 300 dpi
        factor = min(factor, 2.0, max(1.0, (A4_300_DPI_PIXELS / gray.size) ** 0.5))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    # Given fx/fy, OpenCV maps by exactly that factor (the output size is rounded, not the map).
    return cv2.resize(gray, None, fx=factor, fy=factor, interpolation=interpolation), (factor, 0.0, 0.0, 0.0, factor, 0.0)


def _line_sharpness(points: np.ndarray, angle_degrees: float) -> float:
    """How crisp the horizontal projection of ink points is at this angle (text rows give peaks)."""
    angle = np.deg2rad(angle_degrees)
    rows = points[:, 1] * np.cos(angle) + points[:, 0] * np.sin(angle)  # y grows downwards
    # One-pixel bins, and variance relative to the mean: comparable between a receipt's narrow
    # width and its long height (rows of text alternate full and empty: high; no structure: ~0).
    histogram = np.bincount((rows - rows.min()).astype(np.int64))
    return float(np.var(histogram) / np.mean(histogram) ** 2)


def _ink_points(gray: np.ndarray) -> np.ndarray:
    thumb, _ = _thumbnail(gray)
    ys, xs = np.nonzero(_letters(thumb))
    random = np.random.default_rng(0)
    points = np.column_stack([xs, ys]).astype(np.float32)
    if len(points) > 40_000:  # a sample is enough to see the rows
        points = points[random.choice(len(points), 40_000, replace=False)]
    # Spread each pixel over its square: on the exact pixel grid, 0° would always look sharpest.
    points += random.uniform(-0.5, 0.5, points.shape).astype(np.float32)
    return points


def fix_quarter_turn(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    """Turn the page by 90° when its text rows run vertically.

    Only rows vs columns is decided here (cheaply, by projection profiles); a page that ends up upside
    down (it was turned the other way, or was upside down from the start) is caught by the OCR stage,
    which reads a poorly read page the other way up too and keeps the surer reading.
    """
    points = _ink_points(gray)
    if len(points) < 500:
        return gray, IDENTITY
    # Compare the best row sharpness either way round, over the skews deskew() would correct.
    angles = np.arange(-10, 10.5, 1.0)
    horizontal = max(_line_sharpness(points, a) for a in angles)
    vertical = max(_line_sharpness(points[:, ::-1], a) for a in angles)
    if vertical > 1.5 * horizontal:
        # Clockwise: the old left edge becomes the top, the old bottom row the left column.
        return cv2.rotate(gray, cv2.ROTATE_90_CLOCKWISE), (0.0, -1.0, float(gray.shape[0]), 1.0, 0.0, 0.0)
    return gray, IDENTITY


def turn_half(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    """The page turned by 180° (the pipeline's second try at a page that may be upside down)."""
    height, width = gray.shape[:2]
    return np.ascontiguousarray(gray[::-1, ::-1]), (-1.0, 0.0, float(width), 0.0, -1.0, float(height))


def skew_angle(gray: np.ndarray) -> float:
    """The page's small rotation in degrees (counter-clockwise positive), from projection profiles."""
    points = _ink_points(gray)
    if len(points) < 500:
        return 0.0

    def best(candidates: np.ndarray) -> float:
        return float(max(candidates, key=lambda a: _line_sharpness(points, a)))

    coarse = best(np.arange(-10, 10.5, 1.0))
    return best(np.arange(coarse - 1, coarse + 1.05, 0.1))


def deskew(gray: np.ndarray) -> tuple[np.ndarray, Affine]:
    angle = skew_angle(gray)
    if abs(angle) < 0.5:  # below half a degree OCR does not care, and rotating blurs
        return gray, IDENTITY
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width, new_height = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2
    straight = cv2.warpAffine(gray, matrix, (new_width, new_height), flags=cv2.INTER_CUBIC, borderValue=255)
    return straight, tuple(float(v) for v in matrix.ravel())  # type: ignore[return-value]
