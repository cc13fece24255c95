"""Reading a transcript: its bytes, its SRT/WebVTT cues or plain-text sentences, word timings.

Subtitle files are read leniently (players accept sloppy ones, so people have them), and
everything that is not spoken is removed: markup, cue settings, [Music] and (laughs).
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from shorts_desktop.core.errors import UserError
from shorts_desktop.core.render.types import Cue, Transcript, WordTiming

#: Same limit as the upload check (services/files.py), so what uploaded also parses.
MAX_TRANSCRIPT_BYTES = 10 * 1024 * 1024
#: A cue whose end is not after its start is shown this long instead.
MIN_CUE_SECONDS = 0.5
#: Each word of a cue squeezed behind an overlapping one still gets this long.
MIN_WORD_SECONDS = 0.1

# -- subtitle syntax ----------------------------------------------------------------------------

_STAMP = r"(?:\d+:)?\d{1,2}:\d{1,2}(?:[,.]\d{1,3})?"
_TIMING = re.compile(rf"^\s*({_STAMP})\s*-->\s*({_STAMP})(?:\s.*)?$")
_SKIPPED_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:\s|$)")
_ONLY_STAMP = re.compile(r"^\s*[\[(]?\s*" + _STAMP + r"\s*[\])]?\s*$")

# -- markup and things that are not said --------------------------------------------------------

_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_ASS_BREAK = re.compile(r"\\[Nnh]")
_TAG = re.compile(r"</?(?:[A-Za-z][^<>]*|\d{1,2}(?::\d{2}){1,2}(?:[.,]\d{1,3})?)>")
_MUSIC_SIGNS = re.compile("[♪♫♩♬]")
_SQUARE = re.compile(r"\[[^\[\]]*\]")
_PAREN = re.compile(r"\(([^()]*)\)")
_SPEAKER_MARK = re.compile(r"^\s*(?:>>+|[-–—](?=\s))\s*")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?…])")

# -- sentences ----------------------------------------------------------------------------------

_CLOSERS = "\"'”’»)]"
_END = re.compile(rf"([.!?…]+)[{re.escape(_CLOSERS)}]*(?=\s|$)")
_BULLET = re.compile(r"\s*(?:[-*•–—]|\d+[.)])\s")
_LAST_TOKEN = re.compile(r"(\S+)$")
#: Followed by a period, these never end a sentence ("Dr. Who", "e.g. this", "No. 5").
_NEVER_ENDS = frozenset(
    (
        *("mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "mt", "ft", "gen", "col", "lt"),
        *("sgt", "capt", "rev", "hon", "gov", "sen", "rep", "pres", "dept", "vs", "cf"),
        *("e.g", "i.e", "viz", "al", "no", "nos", "fig", "figs", "vol", "approx"),
    )
)
#: These end a sentence only when the next word starts with a capital ("etc. Then").
_MAYBE_ENDS = frozenset(("etc", "inc", "ltd", "co", "corp", "bros"))
_DOTTED = re.compile(r"(?:[a-z]\.)+[a-z]")

# -- words --------------------------------------------------------------------------------------

#: A token made only of these belongs to the word before it ("wait —" is one caption word).
_TRAILING = frozenset(".,;:!?…—–-)]}»”’\"")
#: A token made only of these belongs to the word after it.
_LEADING = frozenset("([{«“‘¿¡")


#: Control characters no text file holds (tab, line feed, form feed and carriage return
#: are text). In UTF-8 they are single bytes no other character's bytes contain, so the
#: bytes are checked by `bytes.translate` (C speed: a 1 MiB transcript in ~0.3 ms, where a
#: regex over the text took 7 ms and a Python loop 600 ms); UTF-16 text by the regex.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20)])
_ALL_BUT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def encoding_of(data: bytes) -> str:
    """The codec of transcript bytes: UTF-16 when they start with its BOM, else UTF-8."""
    return "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"


def decode(data: bytes, name: str) -> str:
    """Text of a transcript; accepts what the upload check accepts (UTF-8, UTF-16 with BOM)."""
    text = _checked(data, name, want_text=True)
    assert text is not None
    return text


def check(data: bytes, name: str) -> str:
    """Refuse what `decode` refuses; returns the codec. ASCII bytes (most transcripts) are
    valid UTF-8 by themselves, so their text is not built: a 1 MiB file in ~0.4 ms."""
    _checked(data, name, want_text=False)
    return encoding_of(data)


def _checked(data: bytes, name: str, want_text: bool) -> str | None:
    if not data or data.isspace():  # as `not data.strip()`, without a copy of the file
        raise UserError(f"{name} is empty.")
    if len(data) > MAX_TRANSCRIPT_BYTES:
        raise UserError(f"{name} is larger than 10 MiB, too large for a transcript.")
    encoding = encoding_of(data)
    if encoding != "utf-16":
        control = data.translate(None, _ALL_BUT_CONTROL)  # one pass; NUL is one of them
        if b"\x00" in control:
            raise UserError(f"{name} is not text (it contains binary data).")
        if control:
            raise UserError(f"{name} is not text (it contains control characters).")
        if not want_text and data.isascii():  # isspace() found text: so would str.strip
            return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise UserError(f"{name} is not UTF-8 or UTF-16 text; save it as UTF-8.") from None
    if encoding == "utf-16" and _CONTROL.search(text):
        raise UserError(f"{name} is not text (it contains control characters).")
    if not text.strip():
        raise UserError(f"{name} has no text in it.")
    return text.lstrip("\ufeff")


def parse_transcript(text: str, name: str = "") -> Transcript:
    """Cues of an SRT/WebVTT transcript (told by its content, then its name) or plain sentences.

    Raises UserError when nothing in it can be said.
    """
    label = name or "The transcript"
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((line.strip() for line in lines if line.strip()), "")
    is_vtt = first.startswith("WEBVTT")
    if is_vtt or any(_TIMING.match(line) for line in lines):
        cues = _timed_cues(lines)
        timed = True
    elif PurePath(name).suffix.lower() in (".srt", ".vtt"):
        raise UserError(f"{label} has no subtitle timings (no '-->' lines).")
    else:
        cues = [Cue(sentence) for sentence in _sentences(lines)]
        timed = False
    if not cues:
        raise UserError(
            f"{label} has nothing to say: it is empty or holds only timings and markup."
        )
    return Transcript(cues=cues, timed=timed)


def words(text: str) -> list[str]:
    """Caption words of `text`: whitespace-split, punctuation kept on its word.

    A dash or mark standing alone joins the word before it (an opening bracket the word
    after), so no caption shows a lone "—".
    """
    out: list[str] = []
    prefix = ""
    for token in text.split():
        if out and not prefix and all(c in _TRAILING for c in token):
            out[-1] += token
        elif all(c in _LEADING or c in _TRAILING for c in token):
            prefix += token
        else:
            out.append(prefix + token)
            prefix = ""
    if prefix:
        if out:
            out[-1] += prefix
        else:
            out.append(prefix)
    return out


def spread_words(cues: Sequence[Cue], total: float) -> list[WordTiming]:
    """Word timings when the original audio is kept: guessed from cue times and word lengths.

    Timed cues spread their words over their own span (cut at the next cue's start, so
    words never overlap); untimed cues share [0, total]. A longer word is given longer.
    Nothing is timed past `total`, the length of the Short.
    """
    if not total > 0:
        raise ValueError(f"total must be positive, not {total}")
    timed = [(c.start, c.end, c.text) for c in cues if c.start is not None and c.end is not None]
    if len(timed) < len(cues) or not cues:
        return _spread(words(" ".join(c.text for c in cues)), 0.0, total)
    timed.sort(key=lambda cue: cue[0])
    starts = [cue[0] for cue in timed]
    out: list[WordTiming] = []
    cursor = 0.0
    for i, (cue_start, cue_end, cue_text) in enumerate(timed):
        tokens = words(cue_text)
        if not tokens:
            continue
        start = max(cue_start, cursor)
        if start >= total:
            break
        end = cue_end
        following = bisect.bisect_right(starts, start, lo=i + 1)
        if following < len(starts):
            end = min(end, starts[following])
        end = min(max(end, start + MIN_WORD_SECONDS * len(tokens)), total)
        out.extend(_spread(tokens, start, end))
        cursor = end
    return out


def _spread(tokens: list[str], start: float, end: float) -> list[WordTiming]:
    """`tokens` back to back over [start, end], each as long as its share of the characters."""
    weights = [len(t) for t in tokens]
    whole = sum(weights)
    out: list[WordTiming] = []
    done = 0
    for token, weight in zip(tokens, weights, strict=True):
        a = start + (end - start) * done / whole
        done += weight
        b = end if done == whole else start + (end - start) * done / whole
        out.append(WordTiming(token, a, b))
    return out


# -- subtitles ----------------------------------------------------------------------------------


def _seconds(stamp: str) -> float:
    clock, _, fraction = stamp.replace(",", ".").partition(".")
    seconds = 0
    for part in clock.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def _blocks(lines: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _timed_cues(lines: list[str]) -> list[Cue]:
    """Cues of SRT or WebVTT text; the two differ little enough to share one reader."""
    found: list[tuple[float, float, list[str]]] = []
    for n, block in enumerate(_blocks(lines)):
        head = block[0].strip()
        if _SKIPPED_BLOCK.match(head):
            continue
        timings = [i for i, line in enumerate(block) if _TIMING.match(line)]
        if not timings:
            # The WEBVTT header block, a stray index, or an SRT cue's text after a blank line.
            if found and not (n == 0 or (len(block) == 1 and head.isdigit())):
                found[-1][2].extend(block)
            continue
        for k, i in enumerate(timings):
            match = _TIMING.match(block[i])
            assert match is not None
            stop = timings[k + 1] if k + 1 < len(timings) else len(block)
            said = block[i + 1 : stop]
            if stop < len(block) and said and said[-1].strip().isdigit():
                said = said[:-1]  # the next cue's index, with no blank line before it
            found.append((_seconds(match[1]), _seconds(match[2]), said))
    cues: list[Cue] = []
    for start, end, text_lines in sorted(found, key=lambda cue: cue[0]):
        text = _joined(_clean_line(line) for line in text_lines)
        if _speakable(text):
            cues.append(Cue(text, start, end if end > start else start + MIN_CUE_SECONDS))
    return cues


# -- plain text ---------------------------------------------------------------------------------


def _sentences(lines: list[str]) -> list[str]:
    """Sentences of plain text: a line break ends one, unless the next line goes on in lowercase."""
    sentences: list[str] = []
    paragraph = ""
    for raw in lines:
        if not raw.strip():
            sentences.extend(_split_sentences(paragraph))
            paragraph = ""
            continue
        if _ONLY_STAMP.match(raw):
            continue
        line = _joined([_clean_line(raw)])
        if not line:
            continue
        if paragraph and line[0].islower() and not _BULLET.match(raw):
            paragraph = f"{paragraph} {line}"  # a sentence wrapped onto the next line
        else:
            sentences.extend(_split_sentences(paragraph))
            paragraph = line
    sentences.extend(_split_sentences(paragraph))
    return [s for s in sentences if _speakable(s)]


def _split_sentences(text: str) -> list[str]:
    out: list[str] = []
    begin = 0
    for match in _END.finditer(text):
        if _ends_sentence(text, begin, match):
            out.append(text[begin : match.end()].strip())
            begin = match.end()
    rest = text[begin:].strip()
    if rest:
        out.append(rest)
    return out


def _ends_sentence(text: str, begin: int, match: re.Match[str]) -> bool:
    """Whether the stop at `match` ends a sentence (not an abbreviation, initial or list number)."""
    marks = match[1]
    after = text[match.end() : match.end() + 8].lstrip()  # whitespace is collapsed already
    capital_next = bool(after) and (after.lstrip("\"'“‘«([")[:1].isupper())
    if "!" in marks or "?" in marks:
        return True
    if marks != ".":  # an ellipsis: the thought may go on in lowercase
        return not after or capital_next
    before = text[begin : match.start()]
    found = _LAST_TOKEN.search(before)
    token = found[1].lstrip("\"'“‘«([") if found else ""
    lowered = token.lower()
    if lowered in _NEVER_ENDS:
        return False
    if len(token) == 1 and token.isalpha() and token.isupper():
        return False  # an initial: "J. K. Rowling"
    if lowered in _MAYBE_ENDS or _DOTTED.fullmatch(lowered):
        return not after or capital_next
    return not (token.isdigit() and before.strip() == token)  # "1. First, ..."


# -- shared clean-up ----------------------------------------------------------------------------


def _is_direction(inner: str) -> bool:
    """(laughs), (MUSIC PLAYING), (0:15): parentheses that are not said; (as I said) is."""
    inner = inner.strip()
    if not inner or _ONLY_STAMP.match(inner):
        return True
    letters = [c for c in inner if c.isalpha()]
    return (len(inner.split()) == 1 and inner.isalpha()) or (
        len(letters) > 1 and all(c.isupper() for c in letters)
    )


def _clean_line(line: str) -> str:
    """`line` without markup or stage directions; a line that is all one (...) is one."""
    line = _ASS_OVERRIDE.sub("", line)
    line = _ASS_BREAK.sub(" ", line)
    line = _TAG.sub("", line)
    line = html.unescape(line)
    line = _MUSIC_SIGNS.sub(" ", line)
    line = _SQUARE.sub(" ", line)
    if _PAREN.fullmatch(line.strip()):
        return ""
    line = _PAREN.sub(lambda m: " " if _is_direction(m[1]) else m[0], line)
    return _SPEAKER_MARK.sub("", line)


def _joined(parts: Iterable[str]) -> str:
    """One line of text: whitespace collapsed, no space left before punctuation."""
    text = " ".join(" ".join(parts).split())
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def _speakable(text: str) -> bool:
    return any(c.isalnum() for c in text)
