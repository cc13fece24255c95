"""Transcripts: decoding, SRT/WebVTT cues, plain-text sentences, word tokens and timings."""

from __future__ import annotations

import itertools

import pytest

from shorts_desktop.core.errors import UserError
from shorts_desktop.core.render.transcript import (
    MIN_CUE_SECONDS,
    decode,
    parse_transcript,
    spread_words,
    words,
)
from shorts_desktop.core.render.types import Cue, WordTiming

# -- decode -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "Héllo – world".encode(),
        b"\xef\xbb\xbf" + "Héllo – world".encode(),
        "Héllo – world".encode("utf-16"),  # with the platform's BOM
        b"\xff\xfe" + "Héllo – world".encode("utf-16-le"),
        b"\xfe\xff" + "Héllo – world".encode("utf-16-be"),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16le-bom", "utf16be-bom"],
)
def test_decode_accepts_utf8_and_utf16_with_bom(data: bytes) -> None:
    assert decode(data, "t.txt") == "Héllo – world"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "t.srt is empty."),
        (b" \n\t ", "t.srt is empty."),
        ("Héllo".encode("latin-1"), "t.srt is not UTF-8 or UTF-16 text; save it as UTF-8."),
        (b"abc\x00def", "t.srt is not text (it contains binary data)."),
        (b"abc\x07def", "t.srt is not text (it contains control characters)."),
        (b"caf\xc3\xa9 \x1b[0m", "t.srt is not text (it contains control characters)."),
        ("\ufeffabc\x0bdef".encode("utf-16"),
         "t.srt is not text (it contains control characters)."),
        (b"\xef\xbb\xbf  ", "t.srt has no text in it."),
    ],
)
def test_decode_refuses_what_is_not_text(data: bytes, says: str) -> None:
    with pytest.raises(UserError) as info:
        decode(data, "t.srt")
    assert str(info.value) == says


def test_decode_refuses_over_ten_mib() -> None:
    with pytest.raises(UserError, match="larger than 10 MiB"):
        decode(b"a" * (10 * 1024 * 1024 + 1), "big.txt")


# -- SRT ----------------------------------------------------------------------------------------

SRT = (
    "\ufeff1\r\n"
    "00:00:01,000 --> 00:00:02,500\r\n"
    "<i>Hello</i> {\\an8}there,\r\n"
    "<b>world</b> &amp; friends!\r\n"
    "\r\n"
    "2\r\n"
    "00:00:03,000 --> 00:00:04,000\r\n"
    "[Music]\r\n"
    "\r\n"
    "3\r\n"
    "00:00:00,250 --> 00:00:00,900\r\n"
    "<font color=\"#ff0000\">First</font>.\r\n"
)


def test_srt_cues_are_cleaned_joined_and_sorted() -> None:
    transcript = parse_transcript(SRT, "talk.srt")
    assert transcript.timed
    assert transcript.cues == [
        Cue("First.", 0.25, 0.9),
        Cue("Hello there, world & friends!", 1.0, 2.5),
    ]
    assert transcript.text == "First. Hello there, world & friends!"


def test_srt_content_is_recognised_whatever_the_file_is_called() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nHi.\n"
    assert parse_transcript(text, "notes.txt").cues == [Cue("Hi.", 1.0, 2.0)]
    assert parse_transcript(text).timed


def test_srt_end_not_after_start_gets_the_minimum() -> None:
    text = "1\n00:00:05,000 --> 00:00:05,000\nSame.\n\n2\n00:00:09,000 --> 00:00:08,000\nBack.\n"
    cues = parse_transcript(text, "x.srt").cues
    assert [(c.start, c.end) for c in cues] == [
        (5.0, 5.0 + MIN_CUE_SECONDS),
        (9.0, 9.0 + MIN_CUE_SECONDS),
    ]


def test_srt_sloppy_layout_is_still_read() -> None:
    # No blank line between cues, a blank line inside a cue's text, dot decimals, hours > 9.
    text = (
        "1\n00:00:01.000 --> 00:00:02.000\nOne\n2\n00:00:02,000 --> 00:00:03,000\nTwo\n\n"
        "and more\n\n\n3\n10:00:00,5 --> 10:00:01,25 X1:10 X2:20\n- Three\n- Four\n"
    )
    cues = parse_transcript(text, "x.srt").cues
    assert cues == [
        Cue("One", 1.0, 2.0),
        Cue("Two and more", 2.0, 3.0),
        Cue("Three Four", 36000.5, 36001.25),
    ]


def test_srt_stage_directions_and_music_signs_are_dropped() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\n(laughs) So [inaudible] yes, (APPLAUSE) ♪ la la ♪\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\n(upbeat music playing)\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\n>> It was (as I said) fine.\n"
    )
    assert [c.text for c in parse_transcript(text, "x.srt").cues] == [
        "So yes, la la",
        "It was (as I said) fine.",
    ]


def test_srt_without_timings_is_refused_by_its_extension() -> None:
    with pytest.raises(UserError) as info:
        parse_transcript("Just some words.\n", "talk.srt")
    assert str(info.value) == "talk.srt has no subtitle timings (no '-->' lines)."


# -- WebVTT -------------------------------------------------------------------------------------

VTT = """WEBVTT - with a title
Kind: captions
Language: en

NOTE
This is a comment --> with an arrow
00:00.000 --> 00:01.000 it even looks like a cue

STYLE
::cue { color: yellow }

REGION
id:bill width:40%

intro
00:01.000 --> 00:02.500 align:start position:10% line:0
<v Bob>Hi <c.yellow.bg_blue>there</c><00:00:01.800> <ruby>you</ruby></v>

00:03.000 --> 00:04.000
NOTE that this line is said, it is cue text
&lt;3 &quot;quoted&quot;&nbsp;end

01:00:04.000 --> 01:00:05.000 vertical:rl
<i></i>
"""


def test_vtt_cues_skip_header_notes_styles_and_settings() -> None:
    transcript = parse_transcript(VTT, "x.vtt")
    assert transcript.timed
    assert transcript.cues == [
        Cue("Hi there you", 1.0, 2.5),
        Cue('NOTE that this line is said, it is cue text <3 "quoted" end', 3.0, 4.0),
    ]


def test_vtt_with_crlf_and_bom_and_long_timestamps() -> None:
    text = "\ufeffWEBVTT\r\n\r\n1\r\n00:00:01.500 --> 00:00:02.000\r\nOne.\r\n"
    assert parse_transcript(text, "x.vtt").cues == [Cue("One.", 1.5, 2.0)]


# -- plain text ---------------------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    transcript = parse_transcript(text, "script.txt")
    assert not transcript.timed
    assert all(c.start is None and c.end is None for c in transcript.cues)
    return [c.text for c in transcript.cues]


def test_plain_text_splits_sentences_keeping_their_punctuation() -> None:
    assert sentences("Hello there.   It works!  Does it? Yes… Good") == [
        "Hello there.",
        "It works!",
        "Does it?",
        "Yes…",
        "Good",
    ]


def test_plain_text_abbreviations_initials_and_decimals_do_not_split() -> None:
    text = (
        "Dr. Smith paid $3.50, i.e. a lot, e.g. for pi at 3.14 at 5 p.m. on Main St. today. "
        "J. K. Rowling wrote vs. Mr. Brown etc. and more. It cost approx. 20 U.S. dollars. "
        "Then he left... and came back?! Bought No. 5 from Acme Inc. The end."
    )
    assert sentences(text) == [
        "Dr. Smith paid $3.50, i.e. a lot, e.g. for pi at 3.14 at 5 p.m. on Main St. today.",
        "J. K. Rowling wrote vs. Mr. Brown etc. and more.",
        "It cost approx. 20 U.S. dollars.",
        "Then he left... and came back?!",
        "Bought No. 5 from Acme Inc.",
        "The end.",
    ]


def test_plain_text_lines_and_paragraphs_end_sentences_but_wrapped_lines_do_not() -> None:
    text = (
        "My Title\n"
        "Short one. This sentence was wrapped\n"
        "onto a second line. A new one\n"
        "\n"
        "\n"
        "Next paragraph\r\n"
        "1. First point.\n"
        "2. Second point.\n"
        "- apples\n"
        "- pears and\n"
        "plums\n"
        "Wait...\n"
        "and see"
    )
    assert sentences(text) == [
        "My Title",
        "Short one.",
        "This sentence was wrapped onto a second line.",
        "A new one",
        "Next paragraph",
        "1. First point.",
        "2. Second point.",
        "apples",
        "pears and plums",
        "Wait... and see",
    ]


def test_plain_text_drops_stage_directions_markup_and_timestamp_lines() -> None:
    text = (
        "0:00\n[Music]\nWelcome   back (laughs) to\tthe <b>show</b> &amp; more.\n"
        "(applause)\n0:05\nIt was (as I said) fine, {\\i1}really{\\i0}.\n[00:01:02] Bye!"
    )
    assert sentences(text) == [
        "Welcome back to the show & more.",
        "It was (as I said) fine, really.",
        "Bye!",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t\n",
        "... !!! ?",
        "[Music]\n(laughs)\n♪ ♪",
        "<i></i> {\\an8}",
        "0:00\n0:05\n[01:02]",
        "1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:02,000 --> 00:00:03,000\n[Music]\n",
        "WEBVTT\n\nNOTE only a note\n",
        "WEBVTT\n",
    ],
)
def test_nothing_speakable_is_refused(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_transcript(text, "empty.vtt" if text.startswith("WEBVTT") else "empty.txt")
    assert str(info.value).endswith(
        "has nothing to say: it is empty or holds only timings and markup."
    )


def test_nothing_speakable_without_a_name() -> None:
    with pytest.raises(UserError, match=r"^The transcript has nothing to say"):
        parse_transcript("[Music]")


# -- words --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello,  world!\n(yes)", ["Hello,", "world!", "(yes)"]),
        ("wait — what", ["wait—", "what"]),
        ("wait -- what ?", ["wait--", "what?"]),
        ("— Hello there", ["—Hello", "there"]),
        ("« Bonjour »", ["«Bonjour»"]),
        ("—", ["—"]),
        ("   ", []),
        ("well—actually 3.5 e.g.", ["well—actually", "3.5", "e.g."]),
    ],
)
def test_words_keep_punctuation_and_attach_lone_dashes(text: str, expected: list[str]) -> None:
    assert words(text) == expected


# -- spread_words -------------------------------------------------------------------------------


def spans(timings: list[WordTiming]) -> list[tuple[str, float, float]]:
    return [(w.text, round(w.start, 6), round(w.end, 6)) for w in timings]


def test_timed_words_spread_over_their_cue_by_length() -> None:
    cues = [Cue("a bbb", 1.0, 5.0), Cue("cc, dd", 6.0, 7.0)]
    assert spans(spread_words(cues, 60.0)) == [
        ("a", 1.0, 2.0),
        ("bbb", 2.0, 5.0),
        ("cc,", 6.0, 6.6),
        ("dd", 6.6, 7.0),
    ]


def test_timed_words_are_sorted_back_to_back_and_never_overlap() -> None:
    # The second cue overlaps the first; the third starts with the second.
    cues = [Cue("later", 10.0, 11.0), Cue("one two", 0.0, 4.0), Cue("three", 2.0, 3.0),
            Cue("four", 2.0, 2.5)]
    timings = spread_words(cues, 60.0)
    assert [w.text for w in timings] == ["one", "two", "three", "four", "later"]
    assert spans(timings)[:2] == [("one", 0.0, 1.0), ("two", 1.0, 2.0)]  # cut at "three"
    for earlier, later in itertools.pairwise(timings):
        assert earlier.start < earlier.end <= later.start
    assert spans(timings)[-1] == ("later", 10.0, 11.0)


def test_timed_words_stop_at_the_end_of_the_short() -> None:
    cues = [Cue("aa bb", 0.0, 2.0), Cue("cc dd", 3.0, 5.0), Cue("gone", 8.0, 9.0)]
    timings = spread_words(cues, 4.0)
    assert spans(timings) == [("aa", 0.0, 1.0), ("bb", 1.0, 2.0), ("cc", 3.0, 3.5),
                              ("dd", 3.5, 4.0)]


def test_untimed_cues_share_the_whole_duration_by_length() -> None:
    cues = [Cue("Hi."), Cue("Go on, then.")]  # 3 + 2 + 3 + 5 characters
    timings = spread_words(cues, 6.5)
    assert spans(timings) == [
        ("Hi.", 0.0, 1.5),
        ("Go", 1.5, 2.5),
        ("on,", 2.5, 4.0),
        ("then.", 4.0, 6.5),
    ]
    assert timings[-1].end == 6.5


def test_spread_words_of_nothing_is_nothing() -> None:
    assert spread_words([], 5.0) == []
    assert spread_words([Cue("  ", 0.0, 1.0)], 5.0) == []


def test_spread_words_needs_a_duration() -> None:
    with pytest.raises(ValueError, match="positive"):
        spread_words([Cue("hi")], 0.0)
