"""Calibration boards (checkerboard, ChArUco): their geometry, and finding them in images.

Convention (board frame, metres): corner `i` of the board lies at `board.object_points[i]` = (x, y, 0), x along
the board's columns, y along its rows, z = x cross y (pointing away from a camera that sees the printed side).

Checkerboard sizes count INNER corners (OpenCV's `patternSize`): a board of 5 x 8 squares is "4x7". Its corners
come out row by row (`cols` corners per row). A checkerboard looks the same after a half turn, so which end is
corner 0 can differ between views (see `calibration.extrinsics`); ChArUco corners carry unique ids, so they cannot.
ChArUco sizes count SQUARES (OpenCV's `CharucoBoard((cols, rows), ...)`), with the OpenCV >= 4.6 layout.

Polarity: a board printed "inverted" (white squares and markers on black) is found by searching the inverted
image; `Detection.inverted` says which polarity found it. A ChArUco board printed on a transparent sheet is seen
mirrored by cameras behind it; it is found in the mirrored image and its corners keep their ids
(`Detection.mirrored`), so both sides give the same board-frame points.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from calibration.errors import RigError

logger = logging.getLogger(__name__)

BOARD_SYNTAX = "checkerboard:COLSxROWS:SQUARE_M or charuco:COLSxROWS:SQUARE_M:MARKER_M:DICT"
MIN_CHARUCO_CORNERS = 6
"""Fewest ChArUco corners a detection needs to be kept (a pose needs >= 4, a calibration view more)."""
COMMON_CHECKERBOARD_SIZES = ((9, 6), (8, 6), (7, 5), (7, 6), (6, 4), (5, 4), (4, 3), (10, 7), (11, 8), (9, 7))
"""Inner-corner sizes tried (besides off-by-one variants of the requested one) when no board is found."""
POLARITIES = ("auto", "normal", "inverted")
"""Board polarity options: "normal" = black on white, "inverted" = white on black, "auto" = try both."""


class BoardError(RigError):
    """A board description is invalid, or the board is not found where it should be; the message says why.

    A RigError (so a ValueError) so that the CLI prints it without a traceback."""


@dataclass(frozen=True)
class Board:
    """A calibration board.

    Attributes:
        kind: "checkerboard" or "charuco".
        cols, rows: checkerboard: inner corners per row / per column; charuco: squares per row / per column.
        square: side of one square, metres.
        marker: ChArUco marker side, metres (0 for checkerboards).
        dictionary: ChArUco ArUco dictionary name, e.g. "DICT_4X4_50" ("" for checkerboards).
    """

    kind: str
    cols: int
    rows: int
    square: float
    marker: float = 0.0
    dictionary: str = ""
    _object_points: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("checkerboard", "charuco"):
            raise BoardError(f"board kind: expected 'checkerboard' or 'charuco', got {self.kind!r}")
        minimum = 2 if self.kind == "checkerboard" else 3
        if min(self.cols, self.rows) < minimum:
            what = "inner corners" if self.kind == "checkerboard" else "squares"
            raise BoardError(f"board size: expected at least {minimum}x{minimum} {what}, got {self.cols}x{self.rows}")
        if self.kind == "checkerboard" and self.cols == self.rows:
            raise BoardError(
                f"board size: a square checkerboard ({self.cols}x{self.rows}) looks the same after a quarter turn; "
                "use one with different numbers of inner corners per row and column (e.g. 9x6)"
            )
        if not self.square > 0:
            raise BoardError(f"board square size: expected > 0 metres, got {self.square!r}")
        if self.kind == "charuco":
            if not 0 < self.marker < self.square:
                raise BoardError(
                    f"ChArUco marker size: expected 0 < marker < square ({self.square} m), got {self.marker!r}"
                )
            if not hasattr(cv2.aruco, self.dictionary):
                raise BoardError(f"ChArUco dictionary: unknown {self.dictionary!r}; expected e.g. DICT_4X4_50, DICT_5X5_100")
            points = self.charuco_board().getChessboardCorners()
        else:
            grid = np.stack(np.meshgrid(np.arange(self.cols), np.arange(self.rows)), axis=-1).reshape(-1, 2)
            points = np.hstack([grid * self.square, np.zeros((len(grid), 1))])
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        points.setflags(write=False)
        object.__setattr__(self, "_object_points", points)

    @property
    def object_points(self) -> np.ndarray:
        """(N, 3) corner positions in the board frame, metres (index = corner id)."""
        return self._object_points

    @property
    def num_corners(self) -> int:
        return len(self._object_points)

    @property
    def symmetric(self) -> bool:
        """True for checkerboards: a detection's corner order may be the half-turned one."""
        return self.kind == "checkerboard"

    def half_turn(self) -> np.ndarray:
        """(N,) int: corner id i <-> id half_turn()[i] after turning the board by 180 degrees in its plane."""
        return np.arange(self.num_corners)[::-1].copy()

    def charuco_board(self) -> "cv2.aruco.CharucoBoard":
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.cols, self.rows), self.square, self.marker, dictionary)

    def describe(self) -> str:
        if self.kind == "checkerboard":
            return f"checkerboard of {self.cols}x{self.rows} inner corners, {self.square * 1000:g} mm squares"
        return (
            f"ChArUco board of {self.cols}x{self.rows} squares, {self.square * 1000:g} mm squares, "
            f"{self.marker * 1000:g} mm markers, {self.dictionary}"
        )


def parse_board(text: str) -> Board:
    """Parse `checkerboard:COLSxROWS:SQUARE_M` or `charuco:COLSxROWS:SQUARE_M:MARKER_M:DICT` (sizes in metres).

    DICT may be written with or without the `DICT_` prefix, in any case (`4x4_50` = `DICT_4X4_50`).
    """
    parts = text.strip().split(":")
    kind = parts[0].lower()
    expected_parts = {"checkerboard": 3, "charuco": 5}
    if kind not in expected_parts or len(parts) != expected_parts[kind]:
        raise BoardError(f"--board: expected {BOARD_SYNTAX}, got {text!r}")
    size = re.fullmatch(r"(\d+)[xX](\d+)", parts[1])
    if not size:
        raise BoardError(f"--board: expected the size as COLSxROWS (e.g. 9x6), got {parts[1]!r} in {text!r}")
    try:
        lengths = [float(value) for value in parts[2:4] if value]
    except ValueError:
        raise BoardError(f"--board: expected square (and marker) sizes in metres, got {':'.join(parts[2:4])!r}") from None
    if lengths and lengths[0] > 1.0:
        raise BoardError(f"--board: square size {lengths[0]:g} looks like millimetres; give metres (e.g. 0.06)")
    cols, rows = int(size.group(1)), int(size.group(2))
    if kind == "checkerboard":
        return Board("checkerboard", cols, rows, lengths[0])
    dictionary = parts[4].upper()
    dictionary = dictionary if dictionary.startswith("DICT_") else f"DICT_{dictionary}"
    return Board("charuco", cols, rows, lengths[0], lengths[1], dictionary)


@dataclass(frozen=True, eq=False)
class Detection:
    """A board seen in one image.

    Attributes:
        ids: (N,) int corner ids (rows of `Board.object_points`), N >= 4.
        pixels: (N, 2) float64 sub-pixel corner positions.
        image_size: (width, height) of the image.
        source: where it came from (file name, or "video.mp4#frame"), for messages.
        inverted: True when the board was found in the inverted image (printed white on black).
        mirrored: True when a ChArUco board was found in the mirrored image (seen from behind a transparent board).
    """

    ids: np.ndarray
    pixels: np.ndarray
    image_size: tuple[int, int]
    source: str = ""
    inverted: bool = False
    mirrored: bool = False

    def object_points(self, board: Board) -> np.ndarray:
        """(N, 3) the board-frame positions of the detected corners, metres."""
        return board.object_points[self.ids]

    def half_turned(self, board: Board) -> "Detection":
        """The same corners with the other (half-turn) numbering; only meaningful for checkerboards."""
        return Detection(board.half_turn()[self.ids], self.pixels, self.image_size, self.source, self.inverted, self.mirrored)


def _gray(image: np.ndarray, inverted: bool = False) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.bitwise_not(gray) if inverted else gray


def _find_checkerboard(gray: np.ndarray, size: tuple[int, int], thorough: bool) -> np.ndarray | None:
    """(cols * rows, 2) sub-pixel corners, or None. Fast classic detector first, the sector-based one as fallback."""
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_FAST_CHECK
    found, corners = cv2.findChessboardCorners(gray, size, flags=flags)
    if found:
        corners = corners.reshape(-1, 2)
        grid = corners.reshape(size[1], size[0], 2)
        spacing = min(
            np.linalg.norm(np.diff(grid, axis=0), axis=-1).min(), np.linalg.norm(np.diff(grid, axis=1), axis=-1).min()
        )
        half = int(np.clip(0.4 * spacing, 2, 11))  # the window must not reach the neighbouring corners
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
        return cv2.cornerSubPix(gray, corners.reshape(-1, 1, 2).copy(), (half, half), (-1, -1), criteria).reshape(-1, 2)
    if not thorough:
        return None
    flags = cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY
    found, corners = cv2.findChessboardCornersSB(gray, size, flags=flags)
    return corners.reshape(-1, 2).astype(np.float64) if found else None


def detect_board(
    image: np.ndarray,
    board: Board,
    source: str = "",
    thorough: bool = True,
    inverted: bool = False,
    mirrored: bool = False,
) -> Detection | None:
    """Find `board` in an (H, W) or (H, W, 3) BGR uint8 image; None when it is not there.

    Checkerboard corners are numbered so that corner 0 is the one nearer the image's top-left (of the two
    candidates a half turn apart), which keeps the numbering stable between similar views. `thorough` adds
    OpenCV's slower sector-based checkerboard detector when the classic one fails. `inverted` searches the
    inverted image, for boards printed white on black; `mirrored` (ChArUco only) the left-right mirrored image,
    for a transparent board seen from behind (pixels are given in the unmirrored image).
    """
    gray = _gray(image, inverted)
    height, width = gray.shape[:2]
    if board.kind == "checkerboard":
        corners = _find_checkerboard(gray, (board.cols, board.rows), thorough)
        if corners is None:
            return None
        ids = np.arange(board.num_corners)
        if corners[0].sum() > corners[-1].sum():
            ids = board.half_turn()
        return Detection(ids, corners.astype(np.float64), (width, height), source, inverted)
    if mirrored:
        gray = cv2.flip(gray, 1)
    detector = cv2.aruco.CharucoDetector(board.charuco_board())
    corners, ids, markers, _ = detector.detectBoard(gray)
    if ids is None or len(ids) < MIN_CHARUCO_CORNERS:
        return None
    # refine like checkerboard corners; the window stays inside the white gap between a corner and the markers
    marker_px = float(np.median([np.linalg.norm(np.diff(m.reshape(-1, 2), axis=0), axis=1).mean() for m in markers]))
    gap_px = marker_px * (board.square - board.marker) / (2.0 * board.marker)
    half = int(np.clip(0.8 * gap_px, 2, 11))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
    corners = cv2.cornerSubPix(gray, corners.reshape(-1, 1, 2).astype(np.float32), (half, half), (-1, -1), criteria)
    pixels = corners.reshape(-1, 2).astype(np.float64)
    if mirrored:
        pixels[:, 0] = width - 1 - pixels[:, 0]  # pixel centres at integers: column c <-> width - 1 - c
    return Detection(ids.reshape(-1).astype(np.int64), pixels, (width, height), source, inverted, mirrored)


def _checkerboard_candidates(board: Board) -> list[tuple[int, int]]:
    cols, rows = board.cols, board.rows
    near = [(cols + dc, rows + dr) for dc in (-1, 0, 1) for dr in (-1, 0, 1)]
    candidates = []
    for size in near + list(COMMON_CHECKERBOARD_SIZES):
        size = (max(size), min(size))  # a transposed size finds the same board
        if min(size) >= 2 and size != (max(cols, rows), min(cols, rows)) and size not in candidates:
            candidates.append(size)
    return candidates


def explain_missing(
    images: Iterable[tuple[str, np.ndarray]], board: Board, camera: str, searched: int, polarity: str = "auto"
) -> str:
    """A message for a camera where `board` was found in none of `searched` images; tries what else is there.

    For checkerboards it tries nearby and common inner-corner sizes (a common mistake is counting squares);
    for ChArUco it looks for ArUco markers of other dictionaries, in both polarities, and reports the marker ids
    it sees. `polarity` (one of POLARITIES) is the one the search used; the message says what it covered.
    """
    tried = {"auto": "searched both polarities, black on white and inverted", "normal": "searched black on white only",
             "inverted": "searched inverted (white on black) only"}[polarity]  # fmt: skip
    message = f"no {board.describe()} found in any of {searched} images of camera {camera} ({tried})"
    for source, image in images:
        for inverted in (False, True):
            hint = _what_is_there(_gray(image, inverted), board, f"{source}{' (inverted)' if inverted else ''}")
            if hint:
                if inverted and polarity == "normal":
                    hint += "; the board looks printed inverted (white on black): use --board-polarity auto"
                return f"{message}; {hint}"
    return message + "; check --board (size, kind) and that the board is fully visible and sharp in some images"


def _what_is_there(gray: np.ndarray, board: Board, source: str) -> str:
    """What `gray` shows instead of `board` (another checkerboard size, other ArUco markers), or ""."""
    if board.kind == "checkerboard":
        for size in _checkerboard_candidates(board):
            if _find_checkerboard(gray, size, thorough=False) is not None:
                hint = (
                    " (sizes count inner corners, i.e. squares - 1 in each direction)"
                    if (size[0] - max(board.cols, board.rows), size[1] - min(board.cols, board.rows)) == (1, 1)
                    else ""
                )
                return (
                    f"but {source} shows a checkerboard of {size[0]}x{size[1]} inner corners, "
                    f"you asked for {board.cols}x{board.rows}{hint}: use --board checkerboard:{size[0]}x{size[1]}:"
                    f"{board.square:g}"
                )
        return ""
    for name in dict.fromkeys((board.dictionary, "DICT_4X4_50", "DICT_5X5_100", "DICT_6X6_250", "DICT_7X7_250",
                               "DICT_ARUCO_ORIGINAL")):  # fmt: skip
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))
        _, ids, _ = cv2.aruco.ArucoDetector(dictionary).detectMarkers(gray)
        if ids is None or len(ids) < 2:
            continue
        ids = np.sort(ids.reshape(-1))
        expected = len(board.charuco_board().getIds())
        if name.split("_")[1] != board.dictionary.split("_")[1]:
            return f"but {source} shows {len(ids)} ArUco markers of {name}, you asked for {board.dictionary}"
        return (
            f"{source} shows {len(ids)} {board.dictionary} markers with ids {ids[0]}..{ids[-1]}, but a "
            f"{board.cols}x{board.rows} ChArUco board has ids 0..{expected - 1} and its corners were not found: "
            "check COLSxROWS (squares, not corners) and the marker / square sizes"
        )
    return ""
