"""Captions: grouping words into lines, the SRT text, the ASS script, and libass drawing it."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from shorts_desktop.core.errors import UserError
from shorts_desktop.core.render.captions import (
    caption_lines,
    caption_style,
    to_ass,
    to_srt,
    write_captions,
)
from shorts_desktop.core.render.types import CaptionLine, WordTiming

GOLD = "{\\c&H00D7FF&}"
WHITE = "{\\c&HFFFFFF&}"


def timed(*items: tuple[str, float, float]) -> list[WordTiming]:
    return [WordTiming(text, start, end) for text, start, end in items]


def steady(text: str, start: float = 0.0, step: float = 0.3) -> list[WordTiming]:
    """Words of `text` back to back, `step` seconds each."""
    return [
        WordTiming(word, start + i * step, start + (i + 1) * step)
        for i, word in enumerate(text.split())
    ]


def texts(lines: list[CaptionLine]) -> list[str]:
    return [line.text for line in lines]


# -- caption_lines ------------------------------------------------------------------------------


def test_lines_hold_at_most_three_words() -> None:
    assert texts(caption_lines(steady("a b c d e f g"))) == ["a b c", "d e f", "g"]
    assert texts(caption_lines(steady("a b c d e"), max_words=2)) == ["a b", "c d", "e"]


def test_a_line_ends_where_a_sentence_does() -> None:
    lines = caption_lines(steady("Hi. Yes! Really? Well… so “done.” then, on"))
    assert texts(lines) == ["Hi.", "Yes!", "Really?", "Well…", "so “done.”", "then, on"]


def test_a_line_ends_at_a_pause_longer_than_half_a_second() -> None:
    words = timed(("one", 0.0, 0.4), ("two", 0.9, 1.2), ("three", 1.71, 2.0), ("four", 2.0, 2.2))
    assert texts(caption_lines(words)) == ["one two", "three four"]


def test_a_line_stays_within_max_chars() -> None:
    words = steady("abcdefgh ijklmnop qrs tu")  # 8 + 1 + 8 + 1 + 3 = 21 > 20
    assert texts(caption_lines(words)) == ["abcdefgh ijklmnop", "qrs tu"]
    assert texts(caption_lines(words, max_chars=21)) == ["abcdefgh ijklmnop qrs", "tu"]


def test_a_long_word_is_a_line_of_its_own() -> None:
    words = steady("a supercalifragilisticexpialidocious b")
    assert texts(caption_lines(words)) == ["a", "supercalifragilisticexpialidocious", "b"]


def test_lines_keep_the_word_timings_and_skip_blank_words() -> None:
    words = timed(("a", 0.0, 0.5), (" ", 0.5, 0.6), ("b", 0.6, 1.0))
    (line,) = caption_lines(words)
    assert line.words == [words[0], words[2]]
    assert (line.start, line.end) == (0.0, 1.0)
    assert caption_lines([]) == []


# -- SRT ----------------------------------------------------------------------------------------


def test_srt_text_is_exact() -> None:
    lines = caption_lines(
        timed(("Hello", 0.0, 0.4), ("there,", 0.4, 0.9), ("world.", 0.9, 1.2345),
              ("Bye", 3661.5, 3662.0))
    )
    assert to_srt(lines) == (
        "1\n00:00:00,000 --> 00:00:01,234\nHello there, world.\n"
        "\n"
        "2\n01:01:01,500 --> 01:01:02,000\nBye\n"
    )
    assert to_srt([]) == ""


# -- ASS ----------------------------------------------------------------------------------------

DIALOGUE = re.compile(r"^Dialogue: 0,(\d+):(\d\d):(\d\d)\.(\d\d),(\d+):(\d\d):(\d\d)\.(\d\d),"
                      r"Caption,,0,0,0,,(.*)$")


def events(script: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of each Dialogue line, times in centiseconds."""
    out = []
    for line in script.splitlines():
        if line.startswith("Dialogue:"):
            match = DIALOGUE.match(line)
            assert match, line
            h1, m1, s1, c1, h2, m2, s2, c2 = (int(g) for g in match.groups()[:8])
            out.append(((h1 * 60 + m1) * 6000 + s1 * 100 + c1,
                        (h2 * 60 + m2) * 6000 + s2 * 100 + c2, match[9]))
    return out


def style_fields(script: str) -> dict[str, str]:
    lines = script.splitlines()
    names = next(x for x in lines if x.startswith("Format: Name,")).removeprefix("Format: ")
    values = next(x for x in lines if x.startswith("Style: ")).removeprefix("Style: ")
    return dict(zip(names.split(", "), values.split(","), strict=True))


def test_ass_header_and_style() -> None:
    script = to_ass([])
    assert script.startswith("[Script Info]\n")
    for setting in ("ScriptType: v4.00+", "PlayResX: 1080", "PlayResY: 1920", "WrapStyle: 2",
                    "ScaledBorderAndShadow: yes"):
        assert setting in script.splitlines()
    assert script.index("[V4+ Styles]") < script.index("[Events]")
    assert style_fields(script) == {
        "Name": "Caption", "Fontname": "DejaVu Sans", "Fontsize": "81",
        "PrimaryColour": "&H00FFFFFF", "SecondaryColour": "&H00FFFFFF",
        "OutlineColour": "&H00000000", "BackColour": "&H80000000",
        "Bold": "-1", "Italic": "0", "Underline": "0", "StrikeOut": "0",
        "ScaleX": "100", "ScaleY": "100", "Spacing": "0", "Angle": "0", "BorderStyle": "1",
        "Outline": "6", "Shadow": "3", "Alignment": "2",
        "MarginL": "90", "MarginR": "170", "MarginV": "576", "Encoding": "1",
    }
    assert events(script) == []


def test_ass_style_scales_with_the_frame_and_takes_a_font() -> None:
    fields = style_fields(to_ass([], width=720, height=1280, font="Noto, Sans", font_size=50))
    assert (fields["Fontname"], fields["Fontsize"], fields["Outline"]) == ("Noto Sans", "50", "4")
    assert (fields["MarginL"], fields["MarginR"], fields["MarginV"]) == ("60", "113", "384")
    assert "PlayResX: 720\nPlayResY: 1280\n" in to_ass([], width=720, height=1280)
    assert caption_style(720, 1280).font_size == 54


def test_ass_events_of_a_line_abut_and_highlight_each_word_in_turn() -> None:
    words = timed(("One", 0.333, 0.666), ("two", 0.666, 1.004), ("three.", 1.2, 1.999),
                  ("Four", 2.5, 2.9), ("five", 2.9, 3.3))
    lines = caption_lines(words)
    assert texts(lines) == ["One two three.", "Four five"]
    got = events(to_ass(lines))
    assert [(a, b) for a, b, _ in got] == [(33, 67), (67, 120), (120, 200), (250, 290),
                                           (290, 330)]
    assert [t for _, _, t in got] == [
        f"{GOLD}One{WHITE} two three.",
        f"One {GOLD}two{WHITE} three.",
        f"One two {GOLD}three.{WHITE}",
        f"{GOLD}Four{WHITE} five",
        f"Four {GOLD}five{WHITE}",
    ]


def test_ass_events_never_gap_within_a_line_nor_overlap_anywhere() -> None:
    # Awkward times: thirds of a second, a word shorter than a centisecond, and a line
    # whose last word runs past the next line's start.
    words = [WordTiming(f"w{i}", i / 3, (i + 1) / 3) for i in range(10)]
    words[4] = WordTiming("w4", 4 / 3, 4 / 3 + 0.004)
    words[5] = WordTiming("w5.", 4 / 3 + 0.004, 2.4)
    words[6] = WordTiming("w6", 2.3, 2.6)
    lines = caption_lines(words)
    got = events(to_ass(lines))
    ordered = sorted(got)
    for (_, end, _), (start, _, _) in itertools.pairwise(ordered):
        assert end <= start
    assert all(a < b for a, b, _ in got)
    position = 0
    for line in lines:
        own = [e for e in got if e[2].replace(GOLD, "").replace(WHITE, "") == line.text]
        assert own, line.text
        assert own[0][0] == round(line.start * 100)
        for (_, end, _), (start, _, _) in itertools.pairwise(own):
            assert end == start
        position += len(own)
    assert position == len(got)


def test_ass_highlight_colour_is_configurable_and_checked() -> None:
    line = CaptionLine(timed(("hey", 0.0, 1.0)))
    assert "{\\c&H0000FF&}hey" in to_ass([line], highlight="&H000000FF")
    assert "{\\c&HABCDEF&}hey" in to_ass([line], highlight="&Habcdef&")
    with pytest.raises(UserError, match="is not an ASS colour"):
        to_ass([line], highlight="gold")


def test_ass_text_is_escaped() -> None:
    line = CaptionLine(timed(("{\\b1}x}", 0.0, 0.5), ("C:\\N\\", 0.5, 1.0), ("a\nb", 1.0, 1.5)))
    ((_, _, first), (_, _, second), (_, _, third)) = events(to_ass([line]))
    j = "\u2060"  # a word joiner after each backslash: libass reads no \N, \{ ... there
    assert first == f"{GOLD}\\{{\\{j}b1\\}}x\\}}{WHITE} C:\\{j}N\\{j} a b"
    assert second == f"\\{{\\{j}b1\\}}x\\}} {GOLD}C:\\{j}N\\{j}{WHITE} a b"
    assert third == f"\\{{\\{j}b1\\}}x\\}} C:\\{j}N\\{j} {GOLD}a b{WHITE}"
    assert "\r" not in to_ass([line])


def test_ass_shrinks_only_a_line_too_wide_for_the_margins() -> None:
    wide = CaptionLine(steady("MOMMA WOW MWMWMWMW"))
    narrow = CaptionLine(steady("Hi there you", start=5.0))
    got = events(to_ass([wide, narrow]))
    sizes = [re.match(r"\{\\fs(\d+)\}", t) for _, _, t in got]
    assert all(s is not None and 40 < int(s[1]) < 81 for s in sizes[:3])
    assert sizes[3:] == [None, None, None]


def test_write_captions_writes_both_files(tmp_path: Path) -> None:
    lines = caption_lines(steady("Grüße — from here"))
    srt, ass = write_captions(lines, tmp_path / "work", 720, 1280, "Liberation Sans")
    assert (srt.name, ass.name) == ("captions.srt", "captions.ass")
    assert srt.read_bytes() == to_srt(lines).encode("utf-8")
    assert ass.read_bytes() == to_ass(lines, width=720, height=1280,
                                      font="Liberation Sans").encode("utf-8")
    assert not ass.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "Grüße" in srt.read_text(encoding="utf-8")


# -- libass really draws it ---------------------------------------------------------------------

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
W, H = 1080, 1920


def render_frame(folder: Path, script: str) -> bytes:
    """One 1080x1920 black frame with `script` burnt in, as 8-bit gray pixels."""
    (folder / "captions.ass").write_text(script, encoding="utf-8")
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin",
         "-f", "lavfi", "-i", f"color=black:s={W}x{H}:r=1",
         "-vf", "ass=captions.ass:fontsdir=fonts", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        cwd=folder, capture_output=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert len(result.stdout) == W * H
    return result.stdout


def bright(pixels: bytes, top: int, bottom: int, left: int = 0, right: int = W) -> int:
    """How many pixels of rows [top, bottom) and columns [left, right) are bright."""
    return sum(
        sum(1 for v in pixels[y * W + left : y * W + right] if v > 128)
        for y in range(top, bottom)
    )


@pytest.mark.skipif(not FONT.is_file(), reason="DejaVu Sans Bold is not installed")
def test_libass_draws_the_caption_in_the_lower_third_clear_of_the_overlays(
    tmp_path: Path,
) -> None:
    (tmp_path / "fonts").mkdir()
    shutil.copy(FONT, tmp_path / "fonts" / FONT.name)
    # Wide letters: at the full size this line would run into the right-hand buttons.
    line = CaptionLine(timed(("MOMMA", 0.0, 0.4), ("WOW", 0.4, 0.7), ("MWMWMWMW", 0.7, 1.0)))
    assert len(line.text) == 18
    pixels = render_frame(tmp_path, to_ass([line]))

    band = bright(pixels, round(H * 0.62), round(H * 0.72))  # baseline ~31 % up
    assert band > 2000
    assert bright(pixels, 0, H // 2) == 0
    assert bright(pixels, round(H * 0.80), H) == 0  # YouTube's title and description
    assert bright(pixels, 0, H, left=round(W * 0.85)) == 0  # its like/comment buttons
    assert bright(pixels, 0, H) == band

    assert bright(render_frame(tmp_path, to_ass([])), 0, H) == 0
