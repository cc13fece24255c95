"""Caption lines from word timings, written as SRT and as a styled ASS script for libass.

The ASS style keeps the words where a Short's own overlays are not: the text sits in the
lower third, above YouTube's title/description (the lowest ~20 %) and left of its like and
comment buttons (the right ~15 %). A line too wide for that box is drawn smaller, since
WrapStyle 2 never wraps it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shorts_desktop.core.errors import UserError
from shorts_desktop.core.render.types import CaptionLine, WordTiming

DEFAULT_FONT = "DejaVu Sans"
DEFAULT_HIGHLIGHT = "&H0000D7FF"  # gold, as ASS writes colours: &HAABBGGRR
#: A gap longer than this between two words starts a new caption line.
PAUSE_SECONDS = 0.5
STYLE_NAME = "Caption"
WHITE = "&HFFFFFF&"

_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")
_COLOUR = re.compile(r"&H([0-9A-Fa-f]{2})?([0-9A-Fa-f]{6})&?")
#: Breaks the escapes libass reads after a backslash (\N, \h, \{ ...) and shows nothing.
_WORD_JOINER = "\u2060"

# Advances in font sizes, after DejaVu Sans Bold (rounded up): libass gives no metrics, and
# a slightly wide guess only makes a long line a little smaller than it had to be.
_NARROW = frozenset("ijlIJ.,;:!|'`")
_SLIM = frozenset("frt()[]-/\\\"")
_WIDE = frozenset("mwMW@%&#—…")


def caption_lines(
    words: Sequence[WordTiming], max_words: int = 3, max_chars: int = 20
) -> list[CaptionLine]:
    """Words grouped into lines: a line ends at `max_words`, `max_chars`, a sentence or a pause.

    A word longer than `max_chars` is a line of its own.
    """
    if max_words < 1 or max_chars < 1:
        raise ValueError("max_words and max_chars must be at least 1")
    lines: list[CaptionLine] = []
    current: list[WordTiming] = []
    for word in words:
        if not word.text.strip():
            continue
        if current and (
            len(current) >= max_words
            or len(" ".join([*(w.text for w in current), word.text])) > max_chars
            or _SENTENCE_END.search(current[-1].text)
            or word.start - current[-1].end > PAUSE_SECONDS
        ):
            lines.append(CaptionLine(current))
            current = []
        current.append(word)
    if current:
        lines.append(CaptionLine(current))
    return lines


def to_srt(lines: Sequence[CaptionLine]) -> str:
    """An SRT file of the lines (1-based, `HH:MM:SS,mmm`), timed as the ASS script is."""
    blocks = []
    for i, (start, end, line) in enumerate(_spans(lines, 1000), 1):
        text = " ".join(line.text.split())
        blocks.append(f"{i}\n{_srt_time(start)} --> {_srt_time(end)}\n{text}\n")
    return "\n".join(blocks)


@dataclass(frozen=True)
class CaptionStyle:
    """The numbers of the caption style for one frame size (pixels of that frame)."""

    width: int
    height: int
    font: str
    font_size: int
    outline: int
    shadow: int
    margin_l: int
    margin_r: int
    margin_v: int  # from the bottom edge to the bottom of the text
    highlight: str  # \c override colour, &HBBGGRR&

    @property
    def text_width(self) -> int:
        """How wide a line may be drawn, outline and shadow included, between the margins."""
        return self.width - self.margin_l - self.margin_r - 2 * self.outline - self.shadow


def caption_style(
    width: int = 1080,
    height: int = 1920,
    font: str = DEFAULT_FONT,
    font_size: int | None = None,
    highlight: str = DEFAULT_HIGHLIGHT,
) -> CaptionStyle:
    """The style scaled to the frame: 81 px bold text and a 6 px outline at 1080 x 1920."""
    if width < 16 or height < 16:
        raise ValueError(f"frame {width}x{height} is too small for captions")
    match = _COLOUR.fullmatch(highlight.strip())
    if match is None:
        raise UserError(
            f"{highlight!r} is not an ASS colour: write it as &HBBGGRR, e.g. &H00D7FF for gold."
        )
    font = " ".join(font.replace(",", " ").split()) or DEFAULT_FONT
    return CaptionStyle(
        width=width,
        height=height,
        font=font,
        font_size=font_size if font_size and font_size > 0 else round(width * 0.075),
        outline=max(1, round(width * 6 / 1080)),
        shadow=max(1, round(width * 3 / 1080)),
        margin_l=round(width * 90 / 1080),
        margin_r=round(width * 170 / 1080),
        # The bottom of the text 30 % up puts its baseline ~31 % up: the lower third.
        margin_v=round(height * 0.30),
        highlight=f"&H{match[2].upper()}&",
    )


def to_ass(
    lines: Sequence[CaptionLine],
    *,
    width: int = 1080,
    height: int = 1920,
    font: str = DEFAULT_FONT,
    font_size: int | None = None,
    highlight: str = DEFAULT_HIGHLIGHT,
) -> str:
    """A complete ASS script: each line shown whole, its spoken word in the highlight colour.

    A line is one event per word, back to back (times in whole centiseconds, so one ends
    exactly where the next begins), from its first word's start to its last word's end.
    """
    style = caption_style(width, height, font, font_size, highlight)
    out = [
        "[Script Info]",
        "; Captions of a Short, made by shorts-desktop",
        "ScriptType: v4.00+",
        f"PlayResX: {style.width}",
        f"PlayResY: {style.height}",
        "WrapStyle: 2",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: {STYLE_NAME},{style.font},{style.font_size},&H00FFFFFF,&H00FFFFFF,&H00000000,"
        f"&H80000000,-1,0,0,0,100,100,0,0,1,{style.outline},{style.shadow},2,"
        f"{style.margin_l},{style.margin_r},{style.margin_v},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for line_start, line_end, line in _spans(lines, 100):
        texts = [_escape(w.text) for w in line.words]
        size = _fitting_size(line.text, style)
        prefix = f"{{\\fs{size}}}" if size < style.font_size else ""
        bounds = [line_start]
        for word in line.words[1:]:
            bounds.append(min(max(round(word.start * 100), bounds[-1]), line_end))
        bounds.append(line_end)
        for i in range(len(texts)):
            if bounds[i + 1] <= bounds[i]:
                continue  # too short to be seen: its neighbours close the gap
            shown = " ".join(
                f"{{\\c{style.highlight}}}{t}{{\\c{WHITE}}}" if j == i else t
                for j, t in enumerate(texts)
            )
            out.append(
                f"Dialogue: 0,{_ass_time(bounds[i])},{_ass_time(bounds[i + 1])},"
                f"{STYLE_NAME},,0,0,0,,{prefix}{shown}"
            )
    return "\n".join(out) + "\n"


def write_captions(
    lines: Sequence[CaptionLine],
    work_dir: Path,
    width: int = 1080,
    height: int = 1920,
    font: str = DEFAULT_FONT,
    *,
    font_size: int | None = None,
    highlight: str = DEFAULT_HIGHLIGHT,
) -> tuple[Path, Path]:
    """`captions.srt` (uploaded to YouTube) and `captions.ass` (burnt in) in `work_dir`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    srt, ass = work_dir / "captions.srt", work_dir / "captions.ass"
    srt.write_bytes(to_srt(lines).encode("utf-8"))
    script = to_ass(
        lines, width=width, height=height, font=font, font_size=font_size, highlight=highlight
    )
    ass.write_bytes(script.encode("utf-8"))
    return srt, ass


def _spans(lines: Sequence[CaptionLine], per_second: int) -> list[tuple[int, int, CaptionLine]]:
    """(start, end, line) in whole ticks; a line ends by the next one's start, so none overlap."""
    spans: list[tuple[int, int, CaptionLine]] = []
    for i, line in enumerate(lines):
        if not line.words:
            continue
        start = round(line.start * per_second)
        end = max(round(line.end * per_second), start)
        if i + 1 < len(lines) and lines[i + 1].words:
            following = round(lines[i + 1].start * per_second)
            if following > start:
                end = min(end, following)
        if end > start:
            spans.append((start, end, line))
    return spans


def _escape(text: str) -> str:
    """`text` as ASS shows it literally: braces escaped, backslashes disarmed, one line."""
    text = text.replace("\\", "\\" + _WORD_JOINER)
    text = text.replace("{", "\\{").replace("}", "\\}")
    return " ".join(text.split())


def _advance(char: str) -> float:
    if char.isspace():
        return 0.30
    if char in _NARROW:
        return 0.33
    if char in _SLIM:
        return 0.45
    if char in _WIDE:
        return 0.95
    if unicodedata.combining(char):
        return 0.0
    if unicodedata.east_asian_width(char) in "WF":
        return 1.0
    if char.isdigit():
        return 0.60
    return 0.73 if char.isupper() else 0.62


def _fitting_size(text: str, style: CaptionStyle) -> int:
    """The style's font size, or the smaller one that keeps `text` inside the margins."""
    needed = sum(_advance(c) for c in text) * style.font_size
    if needed <= style.text_width:
        return style.font_size
    return max(1, int(style.font_size * style.text_width / needed))


def _srt_time(ms: int) -> str:
    seconds, ms = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{ms:03d}"


def _ass_time(cs: int) -> str:
    seconds, cs = divmod(cs, 100)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{cs:02d}"
