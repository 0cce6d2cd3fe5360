"""Text made safe to print on a terminal, line by line.

Names, labels, branches and messages come from users and CI variables: none
may move the cursor, clear the screen or break a table's line.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """*text* with characters that would break a line (newline, tab) or drive
    the terminal (ESC, CR, other controls) replaced by U+FFFD."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else "\ufffd" for char in text)


def printable_lines(text: str) -> str:
    """Each line of *text* made :func:`printable`, the line breaks kept."""
    return "\n".join(printable(line) for line in text.split("\n"))
