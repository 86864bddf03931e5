"""Looking at a decoded frame: is there a face, and the frame as a JPEG for the clinician.

A hint for the identity check, never a decision: the clinician confirms identity by the
two identifiers. Runs in a worker thread (the caller uses run_in_executor), never on the
event loop.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy

FACE_CASCADE = "haarcascade_frontalface_default.xml"
# Faces smaller than this in a 640x480 frame are too far from the camera to mean much.
MIN_FACE_PX = 60
JPEG_QUALITY = 80


@cache
def _cascade() -> cv2.CascadeClassifier:
    path = Path(cv2.data.haarcascades) / FACE_CASCADE  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"OpenCV face cascade missing at {path}")
    return cascade


def count_faces(bgr: numpy.ndarray) -> int:
    gray = cv2.equalizeHist(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    faces = _cascade().detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(MIN_FACE_PX, MIN_FACE_PX)
    )
    return len(faces)


def to_jpeg(bgr: numpy.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("OpenCV could not encode the still as JPEG")
    return bytes(encoded)
