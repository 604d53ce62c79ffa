"""Small text helpers shared by modules."""

from __future__ import annotations

import unicodedata


def fold_key(text: str, *, separator: str = " ") -> str:
    """An accent-free, punctuation-free, lower-case key for matching and searching Vietnamese names:
    "Trường Tiểu học  Lê-Lợi" -> "truong tieu hoc le loi" (words joined by `separator`; with
    `separator=""`, "Phường  An Nhơn" -> "phuongannhon")."""
    text = unicodedata.normalize("NFKD", str(text).replace("đ", "d").replace("Đ", "D"))
    chars = "".join(ch if ch.isalnum() else " " for ch in text if not unicodedata.combining(ch))
    return separator.join(chars.lower().split())
