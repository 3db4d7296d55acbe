"""Cast codes: how they are drawn, shown and read back from what a person typed."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

DIGITS = "0123456789"
#: Letters and digits without the look-alikes 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
LETTERS = "34679ACDEFGHJKMNPQRTWXY"
_SEPARATORS = str.maketrans("", "", " \t\r\n-_.\u00a0\u3000")


@dataclass(frozen=True, slots=True)
class CodeFormat:
    """The shape of cast codes: ``length`` symbols drawn from ``alphabet``."""

    length: int = 6
    alphabet: str = DIGITS

    def __post_init__(self) -> None:
        if not 4 <= self.length <= 16:
            raise ValueError("cast codes must be 4 to 16 symbols long")
        if len(set(self.alphabet)) != len(self.alphabet) or len(self.alphabet) < 10:
            raise ValueError("the code alphabet needs at least 10 distinct symbols")
        if self.alphabet != self.alphabet.upper():
            raise ValueError("the code alphabet must be upper case")

    @property
    def space(self) -> int:
        """How many distinct codes there are."""
        return len(self.alphabet) ** self.length

    def generate(self) -> str:
        return "".join(secrets.choice(self.alphabet) for _ in range(self.length))

    def normalize(self, text: str) -> str | None:
        """The canonical code for what a person typed, or None if it cannot be one.

        Full-width digits and letters (as typed with a CJK input method) count as ASCII.
        """
        code = clean(text)
        if len(code) != self.length or any(c not in self.alphabet for c in code):
            return None
        return code

    def typed_so_far(self, text: str) -> int | None:
        """How many code symbols ``text`` holds if it could be the start of a code, else None."""
        prefix = unicodedata.normalize("NFKC", text[:64]).translate(_SEPARATORS).upper()
        if len(prefix) > self.length or any(c not in self.alphabet for c in prefix):
            return None
        return len(prefix)

    def display(self, code: str) -> str:
        """A code grouped for reading across a room: ``482913`` -> ``482 913``."""
        return group(code)


def clean(text: str) -> str:
    """What a person typed with separators dropped, full-width forms folded and upper-cased.

    No check of length or alphabet: :meth:`CodeFormat.normalize` does that when the format is
    known.
    """
    return unicodedata.normalize("NFKC", text[:64]).translate(_SEPARATORS).upper()


def group(code: str) -> str:
    n = len(code)
    size = 3 if n % 3 == 0 else 4 if n % 4 == 0 else 3
    return " ".join(code[i : i + size] for i in range(0, n, size))


#: The most digits a TV's PIN has (it shows 4; the pairing takes up to this many).
PIN_MAX_DIGITS = 8


def pin_of(typed: str) -> str | None:
    """The digits of a PIN as a person typed it (spaces and dashes dropped, full-width digits
    folded), or ``None`` when it is not one."""
    pin = clean(typed)
    if pin.isascii() and pin.isdigit() and 1 <= len(pin) <= PIN_MAX_DIGITS:
        return pin
    return None
