"""Narration providers: espeak for real (offline), OpenAI against a local stub server."""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import re
import socket
import struct
import wave
from array import array
from collections.abc import Iterator
from pathlib import Path

import espeakng_loader
import pytest

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.render.narration import (
    VOICE_NAMES,
    format_length,
    plan_pieces,
    split_sentences,
    words_of,
)
from shorts_desktop.core.render.narration.espeak import (
    ESPEAK_VOICES,
    EspeakProvider,
    _fill,
    word_timings_for,
)
from shorts_desktop.core.render.narration.openai_tts import (
    KEY_REFUSED,
    MAX_INPUT_CHARS,
    NO_KEY,
    OpenAIKeyRefused,
    OpenAIProvider,
    _read_wav,
)
from shorts_desktop.core.render.types import (
    CancelToken,
    Cue,
    Narration,
    RenderCancelled,
    Transcript,
    WordTiming,
)
from tests.stubs.openai_stub import OpenAIStub, sine_wav

KEY = "sk-proj-SECRETsecret0123456789"
PLAIN = Transcript(
    [
        Cue("Hello world, this is a short test."),
        Cue("Second sentence, with a pause before it!"),
        Cue("And a third one."),
    ],
    timed=False,
)


def plain(*sentences: str) -> Transcript:
    return Transcript([Cue(s) for s in sentences], timed=False)


def read(path: Path) -> tuple[wave._wave_params, array[int]]:
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        samples = array("h")
        samples.frombytes(w.readframes(w.getnframes()))
    return params, samples


def rms(samples: array[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def espeak(
    tmp_path: Path, transcript: Transcript = PLAIN, voice: str = "alloy", *,
    name: str = "out", max_seconds: float = 180, cancel: CancelToken | None = None,
) -> Narration:
    return EspeakProvider().narrate(
        transcript, voice, tmp_path / name, cancel=cancel or CancelToken(), max_seconds=max_seconds
    )


def assert_well_formed(words: list[WordTiming], duration: float) -> None:
    for w in words:
        assert 0 <= w.start < w.end <= duration + 1e-9, w
    for a, b in itertools.pairwise(words):
        assert a.end <= b.start + 1e-9, (a, b)


class CancelAfter(CancelToken):
    """Cancels itself on the n-th check: cancelling in the middle of a narration."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.left = checks

    def check(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.cancel()
        super().check()


# --- text planning ----------------------------------------------------------------------------


def test_words_keep_punctuation_and_lone_marks_join_a_neighbour() -> None:
    assert [w.text for w in words_of("— Hello — world, ok… !")] == ["— Hello —", "world,", "ok… !"]


def test_sentences_split_at_ends_but_not_after_titles() -> None:
    assert split_sentences("Mr. Smith came. He left! Did he? “Yes.” Done") == [
        "Mr. Smith came.", "He left!", "Did he?", "“Yes.”", "Done",
    ]


def test_long_text_is_split_below_the_limit_without_losing_words() -> None:
    sentence = " ".join(["word"] * 300) + "."  # 1500 characters, no sentence end inside
    text = " ".join([sentence] * 4)
    pieces = plan_pieces(Transcript([Cue(text, 0.0, 9.0)], timed=True), max_chars=1000)
    assert all(len(p.text) <= 1000 for p in pieces)
    assert " ".join(p.text for p in pieces) == text
    assert [p.cue_start for p in pieces] == [0.0] + [None] * (len(pieces) - 1)


@pytest.mark.parametrize(
    ("seconds", "text"), [(7.4, "7 s"), (59.6, "1 min"), (192, "3 min 12 s"), (600, "10 min")]
)
def test_format_length(seconds: float, text: str) -> None:
    assert format_length(seconds) == text


# --- espeak -----------------------------------------------------------------------------------


def test_espeak_writes_a_real_22050_hz_voice_track(tmp_path: Path) -> None:
    n = espeak(tmp_path)
    assert n.audio == tmp_path / "out" / "narration.wav"
    params, samples = read(n.audio)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 22050)
    assert n.duration == pytest.approx(params.nframes / 22050)
    assert 3 < n.duration < 10
    assert rms(samples) > 500
    assert (n.provider, n.voice, n.synthetic) == ("espeak", "alloy", True)
    assert n.detail == {"espeak_voice": "en-us", "pitch": "50", "rate": "175"}


def test_espeak_is_byte_identical_for_the_same_input(tmp_path: Path) -> None:
    first = espeak(tmp_path, name="a").audio
    espeak(tmp_path, plain("Something else entirely, in between."), "coral", name="b")
    again = espeak(tmp_path, name="c")
    assert first is not None and again.audio is not None
    assert first.read_bytes() == again.audio.read_bytes()


def test_espeak_word_timings_follow_the_transcript(tmp_path: Path) -> None:
    n = espeak(tmp_path)
    assert [w.text for w in n.words] == PLAIN.text.split()
    assert n.words[1].text == "world,"
    assert_well_formed(n.words, n.duration)
    assert n.words[0].start < 0.1
    assert n.words[-1].end == pytest.approx(n.duration, abs=0.05)  # trailing silence trimmed


def test_espeak_times_numbers_hyphens_and_lone_dashes(tmp_path: Path) -> None:
    text = "In 1984, 3.5 well-known e-mails — all of them — arrived."
    n = espeak(tmp_path, plain(text))
    assert [w.text for w in n.words] == [
        "In", "1984,", "3.5", "well-known", "e-mails —", "all", "of", "them —", "arrived.",
    ]
    assert_well_formed(n.words, n.duration)


def test_words_without_an_espeak_event_share_the_time_around_them() -> None:
    words = words_of("aaa bbb ccc ddd eee")
    assert _fill([None, 100, None, None, 400], words, 500) == [0, 100, 200, 300, 400]
    assert _fill([0, 50, 50, 100], words[:4], 500) == [0, 50, 75, 100]  # repeated start
    assert _fill([0, None], words[:2], 200) == [0, 100]  # nothing after: up to the end


def test_espeak_pauses_between_plain_sentences(tmp_path: Path) -> None:
    n = espeak(tmp_path)
    _, samples = read(n.audio)  # type: ignore[arg-type]
    end_first = next(w for w in n.words if w.text == "test.").end
    second = next(w for w in n.words if w.text == "Second")
    assert second.start - end_first >= 0.25
    gap = samples[round((end_first + 0.05) * 22050) : round(second.start * 22050)]
    assert rms(gap) < 50


def test_every_voice_name_sounds_different(tmp_path: Path) -> None:
    assert set(ESPEAK_VOICES) == set(VOICE_NAMES)
    assert len({(v.name, v.pitch, v.rate) for v in ESPEAK_VOICES.values()}) == len(VOICE_NAMES)
    digests = set()
    for voice in VOICE_NAMES:
        n = espeak(tmp_path, plain("Good morning."), voice, name=voice)
        assert n.detail["espeak_voice"] == ESPEAK_VOICES[voice].name
        assert n.audio is not None
        digests.add(hashlib.sha256(n.audio.read_bytes()).hexdigest())
    assert len(digests) == len(VOICE_NAMES)


def test_timed_cue_starts_at_its_time_after_silence(tmp_path: Path) -> None:
    timed = Transcript([Cue("Hello there.", 0.0, 1.0), Cue("Second cue starts here.", 4.0, 6.0)],
                       timed=True)
    n = espeak(tmp_path, timed)
    _, samples = read(n.audio)  # type: ignore[arg-type]
    second = next(w for w in n.words if w.text == "Second")
    assert 4.0 <= second.start < 4.05
    assert n.words[1].end < 2.0
    assert rms(samples[2 * 22050 : 4 * 22050]) == 0
    assert rms(samples[4 * 22050 : round(4.5 * 22050)]) > 500
    assert_well_formed(n.words, n.duration)


def test_timed_cue_overrun_starts_right_after_the_previous_speech(tmp_path: Path) -> None:
    timed = Transcript(
        [Cue("This first cue is far too long for its little slot.", 0.0, 0.5),
         Cue("Then this one.", 0.5, 2.0)],
        timed=True,
    )
    n = espeak(tmp_path, timed)
    last_of_first = next(w for w in n.words if w.text == "slot.")
    then = next(w for w in n.words if w.text == "Then")
    assert last_of_first.end > 1.0
    assert last_of_first.end <= then.start < last_of_first.end + 0.1
    assert_well_formed(n.words, n.duration)


def test_too_long_says_how_long_it_would_be(tmp_path: Path) -> None:
    text = plain(*["This sentence is spoken again and again to make it long."] * 8)
    real = espeak(tmp_path, text, name="full", max_seconds=600).duration
    with pytest.raises(UserError) as caught:
        espeak(tmp_path, text, name="short", max_seconds=10)
    message = str(caught.value)
    m = re.search(r"would be about (?:(\d+) min ?)?(?:(\d+) s)? long; .* at most 10 s", message)
    assert m, message
    estimate = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
    assert 0.75 * real < estimate < 1.25 * real
    assert not (tmp_path / "short" / "narration.wav").exists()


def test_too_long_is_refused_before_synthesis_when_a_cue_starts_too_late(tmp_path: Path) -> None:
    timed = Transcript([Cue("Early.", 0.0, 1.0), Cue("Much later.", 300.0, 302.0)], timed=True)
    with pytest.raises(UserError, match=r"about 5 min \d+ s long; a Short can be at most 180 s"):
        espeak(tmp_path, timed)


@pytest.mark.parametrize("cues", [[], [Cue("")], [Cue("  \n "), Cue("— … !!"), Cue("♪ ♪")]])
def test_nothing_speakable_is_a_user_error(tmp_path: Path, cues: list[Cue]) -> None:
    with pytest.raises(UserError, match=r"^The transcript has nothing to say: "):
        espeak(tmp_path, Transcript(cues, timed=False))


def test_unknown_voice_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="Unknown voice 'bob'"):
        espeak(tmp_path, voice="bob")


@pytest.mark.parametrize("checks", [1, 3])
def test_cancel_stops_espeak(tmp_path: Path, checks: int) -> None:
    with pytest.raises(RenderCancelled):
        espeak(tmp_path, cancel=CancelAfter(checks))
    assert not (tmp_path / "out" / "narration.wav").exists()
    espeak(tmp_path)  # the library is usable again afterwards


def test_broken_install_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: str(tmp_path / "nope.so"))
    with pytest.raises(ShortsError) as caught:
        espeak(tmp_path)
    message = str(caught.value)
    assert message.startswith("The offline voice (eSpeak NG) could not be loaded: ")
    assert message.endswith("; reinstall shorts-desktop.")
    assert "\n" not in message


def test_word_timings_for_one_sentence() -> None:
    words, length = word_timings_for("Hello there,   friend.", "onyx")
    assert [w.text for w in words] == ["Hello", "there,", "friend."]
    assert 0.5 < length < 3
    assert_well_formed(words, length)
    assert words[-1].end == pytest.approx(length)
    assert word_timings_for(" … ", "onyx") == ([], 0.0)


# --- OpenAI against the stub ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as server:
        yield server


def openai(
    tmp_path: Path, base_url: str, transcript: Transcript = PLAIN, *, key: str = KEY,
    max_seconds: float = 180, cancel: CancelToken | None = None, timeout: float = 5,
    voice: str = "nova",
) -> Narration:
    provider = OpenAIProvider(key, base_url=base_url, timeout=timeout, retry_delays=(0.01, 0.01))
    return provider.narrate(transcript, voice, tmp_path / "oa", cancel=cancel or CancelToken(),
                            max_seconds=max_seconds)


def openai_error(tmp_path: Path, base_url: str, caplog: pytest.LogCaptureFixture,
                 **kwargs: object) -> ShortsError:
    with caplog.at_level(logging.DEBUG), pytest.raises(ShortsError) as caught:
        openai(tmp_path, base_url, **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert KEY not in message and "SECRET" not in message
    assert KEY not in caplog.text and "SECRET" not in caplog.text
    assert "\n" not in message
    assert not (tmp_path / "oa" / "narration.wav").exists()
    return caught.value


def test_openai_request_shape(tmp_path: Path, stub: OpenAIStub) -> None:
    openai(tmp_path, stub.base_url)
    assert [r.body["input"] for r in stub.requests] == [c.text for c in PLAIN.cues]
    for r in stub.requests:
        assert (r.method, r.path) == ("POST", "/v1/audio/speech")
        assert r.headers["authorization"] == f"Bearer {KEY}"
        assert r.headers["content-type"] == "application/json"
        assert r.body == {"model": "gpt-4o-mini-tts", "input": r.body["input"], "voice": "nova",
                          "response_format": "wav"}


def test_openai_splits_input_over_4096_characters(tmp_path: Path, stub: OpenAIStub) -> None:
    stub.seconds_per_char = 0.001
    sentence = "A fairly ordinary sentence that goes on for a while, as they do."
    text = " ".join([sentence] * 80)  # about 5,200 characters in one cue
    openai(tmp_path, stub.base_url, Transcript([Cue(text, 0.0, 60.0)], timed=True),
           max_seconds=3600)
    inputs = [r.body["input"] for r in stub.requests]
    assert len(inputs) == 2
    assert all(len(i) <= MAX_INPUT_CHARS for i in inputs)
    assert " ".join(inputs) == text
    assert all(i.endswith(".") for i in inputs)  # cut between sentences


@pytest.mark.parametrize("streaming", [True, False])
def test_openai_joins_the_pieces_and_scales_espeak_word_times(
    tmp_path: Path, stub: OpenAIStub, streaming: bool
) -> None:
    stub.streaming = streaming
    n = openai(tmp_path, stub.base_url)
    params, _ = read(n.audio)  # type: ignore[arg-type]
    lengths = [stub.seconds_for(c.text) for c in PLAIN.cues]
    assert params.framerate == 24000
    assert params.nframes == sum(stub.samples_for(c.text) for c in PLAIN.cues)
    assert n.duration == pytest.approx(sum(lengths))
    assert (n.provider, n.voice, n.detail) == ("openai", "nova", {"model": "gpt-4o-mini-tts"})
    assert [w.text for w in n.words] == PLAIN.text.split()
    assert_well_formed(n.words, n.duration)
    # Each sentence's words are espeak's, stretched onto that sentence's audio.
    offset = 0.0
    at = 0
    for cue, length in zip(PLAIN.cues, lengths, strict=True):
        guide, guide_length = word_timings_for(cue.text, "nova")
        mine = n.words[at : at + len(guide)]
        scale = length / guide_length
        for g, w in zip(guide, mine, strict=True):
            assert w.start == pytest.approx(offset + g.start * scale, abs=1e-6)
            assert w.end == pytest.approx(offset + g.end * scale, abs=1e-6)
        assert mine[0].start == pytest.approx(offset)
        assert mine[-1].end == pytest.approx(offset + length, abs=0.001)
        offset += length
        at += len(guide)


def test_openai_timed_cue_starts_at_its_time(tmp_path: Path, stub: OpenAIStub) -> None:
    timed = Transcript([Cue("Hi there.", 0.5, 1.0), Cue("Later on.", 10.0, 11.0)], timed=True)
    n = openai(tmp_path, stub.base_url, timed)
    _, samples = read(n.audio)  # type: ignore[arg-type]
    later = next(w for w in n.words if w.text == "Later")
    assert later.start == pytest.approx(10.0, abs=1e-4)
    assert n.words[0].start == pytest.approx(0.5, abs=1e-4)
    assert rms(samples[: 12000]) == 0
    assert rms(samples[round((0.5 + stub.seconds_for("Hi there.")) * 24000) + 1 : 10 * 24000]) == 0
    assert rms(samples[10 * 24000 : 10 * 24000 + 2400]) > 1000
    assert n.duration == pytest.approx(10.0 + stub.seconds_for("Later on."), abs=1e-4)


def test_openai_missing_key(tmp_path: Path, stub: OpenAIStub) -> None:
    with pytest.raises(UserError) as caught:
        openai(tmp_path, stub.base_url, key="  ")
    assert str(caught.value) == NO_KEY
    assert stub.requests == []


def test_openai_refused_key(tmp_path: Path, stub: OpenAIStub,
                            caplog: pytest.LogCaptureFixture) -> None:
    stub.fail(401, code="invalid_api_key", message=f"Incorrect API key provided: {KEY}.")
    error = openai_error(tmp_path, stub.base_url, caplog)
    assert isinstance(error, OpenAIKeyRefused) and isinstance(error, UserError)
    assert error.exit_code == 2
    assert str(error) == KEY_REFUSED
    assert len(stub.requests) == 1


@pytest.mark.parametrize(
    ("code", "expected", "unexpected"),
    [
        ("insufficient_quota", "quota is used up; add credit", "rate limit"),
        ("rate_limit_exceeded", "rate limiting this API key", "quota"),
    ],
)
def test_openai_429_says_quota_or_rate_limit(
    tmp_path: Path, stub: OpenAIStub, caplog: pytest.LogCaptureFixture,
    code: str, expected: str, unexpected: str,
) -> None:
    stub.fail(429, code=code, message=f"You exceeded it, key {KEY}")
    error = openai_error(tmp_path, stub.base_url, caplog)
    assert expected in str(error)
    assert unexpected not in str(error)
    assert len(stub.requests) == 1  # not retried


def test_openai_retries_a_503_then_succeeds(tmp_path: Path, stub: OpenAIStub) -> None:
    stub.fail(503)
    n = openai(tmp_path, stub.base_url)
    assert len(stub.requests) == len(PLAIN.cues) + 1
    assert stub.requests[0].body == stub.requests[1].body
    assert n.duration == pytest.approx(sum(stub.seconds_for(c.text) for c in PLAIN.cues))


def test_openai_gives_up_after_three_5xx(tmp_path: Path, stub: OpenAIStub,
                                         caplog: pytest.LogCaptureFixture) -> None:
    stub.fail(502, times=3)
    error = openai_error(tmp_path, stub.base_url, caplog)
    assert str(error) == "OpenAI had a problem on its side (HTTP 502); try again later."
    assert len(stub.requests) == 3


def test_openai_unreachable(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = openai_error(tmp_path, f"http://127.0.0.1:{port}/v1", caplog)
    assert str(error) == (
        "OpenAI could not be reached (connection refused); check the network or OPENAI_BASE_URL."
    )
    assert caplog.text.count("trying again") == 2


def test_openai_timeout(tmp_path: Path, stub: OpenAIStub, caplog: pytest.LogCaptureFixture) -> None:
    stub.hang(1.0, times=3)
    error = openai_error(tmp_path, stub.base_url, caplog, timeout=0.2)
    assert "could not be reached (no answer in time)" in str(error)


def test_openai_answer_that_is_not_a_wav(tmp_path: Path, stub: OpenAIStub,
                                         caplog: pytest.LogCaptureFixture) -> None:
    stub.garbage()
    error = openai_error(tmp_path, stub.base_url, caplog)
    assert str(error) == (
        "OpenAI answered with something that is not a WAV file (Content-Type text/html); "
        "check OPENAI_BASE_URL."
    )


def test_openai_other_refusal_quotes_the_reason_without_the_key(
    tmp_path: Path, stub: OpenAIStub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.fail(400, code="invalid_value", message=f"Model 'x' does not exist\n(key {KEY})")
    error = openai_error(tmp_path, stub.base_url, caplog)
    assert str(error).startswith("OpenAI refused the speech request (HTTP 400: Model 'x' does")
    assert "[API key]" in str(error)


def test_openai_rates_that_differ_are_refused(tmp_path: Path, stub: OpenAIStub,
                                              caplog: pytest.LogCaptureFixture) -> None:
    stub.rates = [24000, 22050]
    error = openai_error(tmp_path, stub.base_url, caplog)
    assert "22050 Hz after 24000 Hz" in str(error)


def test_openai_cancel_between_requests(tmp_path: Path, stub: OpenAIStub) -> None:
    class CancelAfterFirstRequest(CancelToken):
        def check(self) -> None:
            if stub.requests:
                self.cancel()
            super().check()

    with pytest.raises(RenderCancelled):
        openai(tmp_path, stub.base_url, cancel=CancelAfterFirstRequest())
    assert len(stub.requests) == 1


def test_openai_too_long_is_refused_before_paying(tmp_path: Path, stub: OpenAIStub) -> None:
    with pytest.raises(UserError, match=r"would be about \d+ s long; a Short can be at most 3 s"):
        openai(tmp_path, stub.base_url, max_seconds=3)
    assert stub.requests == []


def test_openai_too_long_found_while_speaking(tmp_path: Path, stub: OpenAIStub) -> None:
    stub.seconds_per_char = 0.2  # far slower than espeak's estimate
    with pytest.raises(UserError, match=r"would be about \d+ s long; a Short can be at most 9 s"):
        openai(tmp_path, stub.base_url, max_seconds=9)
    # 6.8 s for the first sentence: at that pace the rest cannot fit, so no second request.
    assert len(stub.requests) == 1


def test_wav_reader_takes_extensible_pcm_and_refuses_other_formats() -> None:
    wav = sine_wav(100, 16000, streaming=False)
    rate, samples = _read_wav(wav)
    assert (rate, len(samples)) == (16000, 100)
    fmt = struct.pack("<HHIIHH", 0xFFFE, 1, 16000, 32000, 2, 16) + struct.pack(
        "<HHI", 22, 16, 4) + struct.pack("<H", 1) + bytes(14)
    extensible = (b"RIFF" + struct.pack("<I", 0) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt))
                  + fmt + b"data" + struct.pack("<I", 0) + bytes(20))
    assert _read_wav(extensible)[0] == 16000
    assert len(_read_wav(extensible)[1]) == 10
    float_wav = wav[:20] + struct.pack("<H", 3) + wav[22:34] + struct.pack("<H", 32) + wav[36:]
    with pytest.raises(ShortsError, match="not 16-bit mono PCM"):
        _read_wav(float_wav)
    with pytest.raises(ShortsError, match="not a WAV file"):
        _read_wav(b"ID3\x03 an mp3")
