"""Rendering for channels without buttons: numbered menus, and splitting long texts."""

from __future__ import annotations

from bot.engine import Reply, Translate

__all__ = ["render_menu", "split_text"]


def render_menu(reply: Reply, translate: Translate) -> str:
    """The reply's text followed by "1. …" lines and a one-line hint on how to answer.

    A numeric reply (scores) shows its number choices as one line to type from, and its other
    choices as bullets to type by name, so "7" always means the score 7."""
    if not reply.choices:
        return reply.text
    lines = [reply.text, ""]
    if all(choice.id.startswith("/") for choice in reply.choices):
        # buttons that are commands (a notification's «Bổ sung»): typed by their label; one
        # that names a record ("/review 12") shows the command too, since labels repeat
        for choice in reply.choices:
            _, _, args = choice.id.partition(" ")
            shown = choice.id if args.strip() and args.strip() != "!" else None
            lines.append(f"• {choice.label} — {shown}" if shown else f"• {choice.label}")
        lines.append(translate(reply.locale, "menu.hint_labels"))
    elif reply.numeric:
        # numbers answer the question (a score), so entries are typed by their label
        numbers = [c.label for c in reply.choices if c.label.isdigit()]
        others = [c.label for c in reply.choices if not c.label.isdigit()]
        if numbers:
            lines.append(" · ".join(numbers))
        lines.extend(f"• {label}" for label in others)
        lines.append(
            translate(reply.locale, "menu.hint_numeric")
            if numbers
            else translate(reply.locale, "menu.hint_labels")
        )
    else:
        lines.extend(f"{n}. {choice.label}" for n, choice in enumerate(reply.choices, 1))
        lines.append(translate(reply.locale, "menu.hint"))
    return "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line ends, else at spaces, never in a word
    unless a single word is longer than the limit."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()]
