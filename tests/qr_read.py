"""Reading a QR code back from a screenshot, as a phone's camera would."""

from __future__ import annotations

import cv2
import numpy as np


def read_qr(image: np.ndarray) -> str:
    """The text of the QR code in a BGR(A) image, or "" when none decodes.

    OpenCV's ArUco-based detector finds the code wherever the classic one does, and also
    in codes whose random content (a certificate fingerprint) the classic one misses."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    bgr = np.ascontiguousarray(image[:, :, :3])
    for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
        text = detector.detectAndDecode(bgr)[0]
        if text:
            return str(text)
    return ""
