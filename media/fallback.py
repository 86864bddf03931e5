"""The fallback ladder: when one subscriber's link cannot carry what it is sent.

Three steps, per subscriber (one peer connection): ``full`` (audio and video), ``video_paused``
(the relay stops forwarding video to that subscriber only; audio goes on) and ``audio_lost``
(even audio does not get through: no receiver report for a while although audio is sent).

The decision is a pure function of the previous state and one observation, so it is tested
with synthetic report sequences (tests/unit/test_fallback.py). The relay feeds it what it
already sees per subscriber (media/forwarding.py): each RTCP receiver report's fraction lost
and jitter, the share of packets the subscriber NACKed since its previous report, and its
REMB while video flows; and a tick once a second, which notices silence. Nothing is decoded.

Each stream keeps its own runs of bad and good reports: audio and video reports come in
their own rhythm, and an audio report that is neither good nor bad must not restart the
count of the video's bad ones (nor the other way round). A step follows whichever stream's
run is long enough.

Hysteresis: video pauses after ``pause_after_s`` of bad reports, and resumes only after
``resume_after_s`` of good ones; a pause soon after a resume (within ``flap_window_s``)
doubles the wait before the next resume (up to ``max_resume_after_s``), so a link on the
edge does not flap.

With simulcast, the ladder starts below the lowest layer: while a subscriber's video can
still go down a layer, bad reports move it down a layer (media/simulcast.py) instead of
towards a pause; only loss that even audio cannot live with goes on counting. The relay
passes ``lower_layer`` for a short while after a step down as well (media/forwarding.py,
``STEP_DOWN_SETTLE_S``): the reports that follow still tell of the layer left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

FULL = "full"
VIDEO_PAUSED = "video_paused"
AUDIO_LOST = "audio_lost"
STEPS = (FULL, VIDEO_PAUSED, AUDIO_LOST)


@dataclass(frozen=True)
class Ladder:
    """Thresholds and times (seconds) of the ladder."""

    # A report is bad at this loss (fraction, 0..1) or jitter, or when the subscriber's REMB
    # is under this share of what it is being sent (its link cannot carry that video).
    bad_loss: float = 0.10
    bad_jitter_s: float = 0.15
    remb_share: float = 0.5
    # ... and good at or under these.
    good_loss: float = 0.02
    good_jitter_s: float = 0.06
    # Loss at which even audio is not worth sending as a call.
    lost_loss: float = 0.50
    pause_after_s: float = 2.0
    resume_after_s: float = 8.0
    max_resume_after_s: float = 64.0
    flap_window_s: float = 60.0
    # No receiver report for this long while audio is sent: audio does not get through.
    silent_after_s: float = 6.0


@dataclass(frozen=True)
class Report:
    """One receiver report's worth of what a subscriber says about its link."""

    at: float
    loss: float  # fraction lost, or the share of packets NACKed, whichever is higher
    jitter_s: float = 0.0
    remb_bps: int | None = None  # only while video is forwarded
    sent_bps: float | None = None  # what was forwarded to it since its previous report
    kind: str = "video"  # the stream reported on: "audio" or "video"


@dataclass(frozen=True)
class Runs:
    """Since when one stream's reports have been bad, good, or at audio-losing loss."""

    bad_since: float | None = None
    good_since: float | None = None
    lost_since: float | None = None


@dataclass(frozen=True)
class LinkState:
    step: str = FULL
    audio: Runs = Runs()
    video: Runs = Runs()
    last_report_at: float | None = None
    resumed_at: float | None = None
    # Each pause soon after a resume doubles the next wait (the flap count).
    flaps: int = 0


def resume_wait(state: LinkState, ladder: Ladder) -> float:
    wait: float = ladder.resume_after_s * 2.0 ** min(state.flaps, 8)
    return min(ladder.max_resume_after_s, wait)


def _quality(report: Report, ladder: Ladder) -> str:
    if (
        report.loss >= ladder.bad_loss
        or report.jitter_s >= ladder.bad_jitter_s
        or (
            report.remb_bps is not None
            and report.sent_bps is not None
            and report.remb_bps < report.sent_bps * ladder.remb_share
        )
    ):
        return "bad"
    if report.loss <= ladder.good_loss and report.jitter_s <= ladder.good_jitter_s:
        return "good"
    return "fair"


def on_report(
    state: LinkState, report: Report, ladder: Ladder, *, lower_layer: bool = False
) -> LinkState:
    """The state after one receiver report. ``lower_layer``: the subscriber's video can still
    go down a simulcast layer (media/simulcast.py), so bad reports do not pause it yet."""
    now = report.at
    quality = _quality(report, ladder)
    if quality == "bad" and lower_layer and state.step == FULL:
        quality = "fair"
    runs = state.audio if report.kind == "audio" else state.video
    runs = Runs(
        bad_since=(runs.bad_since if runs.bad_since is not None else now)
        if quality == "bad"
        else None,
        good_since=(runs.good_since if runs.good_since is not None else now)
        if quality == "good"
        else None,
        lost_since=(runs.lost_since if runs.lost_since is not None else now)
        if report.loss >= ladder.lost_loss
        else None,
    )
    if report.kind == "audio":
        # Audio that gets through says itself that it is not lost, whatever video's loss.
        video = (
            state.video if runs.lost_since is not None else replace(state.video, lost_since=None)
        )
        state = replace(state, last_report_at=now, audio=runs, video=video)
    else:
        state = replace(state, last_report_at=now, video=runs)
    both = (state.audio, state.video)
    if state.step == AUDIO_LOST:
        # Reports come through again and audio mostly arrives: one step up.
        if all(r.lost_since is None for r in both):
            return replace(state, step=VIDEO_PAUSED)
        return state
    if any(r.lost_since is not None and now - r.lost_since >= ladder.pause_after_s for r in both):
        return _down(state, AUDIO_LOST, now, ladder)
    if state.step == FULL:
        if any(r.bad_since is not None and now - r.bad_since >= ladder.pause_after_s for r in both):
            return _down(state, VIDEO_PAUSED, now, ladder)
        return state
    # VIDEO_PAUSED
    wait = resume_wait(state, ladder)
    if any(r.good_since is not None and now - r.good_since >= wait for r in both):
        return replace(
            state,
            step=FULL,
            resumed_at=now,
            audio=replace(state.audio, bad_since=None),
            video=replace(state.video, bad_since=None),
        )
    return state


def on_tick(state: LinkState, now: float, sending_audio: bool, ladder: Ladder) -> LinkState:
    """The state after a second without news: silence while audio is sent means it is lost."""
    if (
        state.step != AUDIO_LOST
        and sending_audio
        and state.last_report_at is not None
        and now - state.last_report_at >= ladder.silent_after_s
    ):
        return _down(state, AUDIO_LOST, now, ladder)
    return state


def _down(state: LinkState, step: str, now: float, ladder: Ladder) -> LinkState:
    flaps = state.flaps
    if state.step == FULL:
        recent = state.resumed_at is not None and now - state.resumed_at < ladder.flap_window_s
        flaps = flaps + 1 if recent else 0
    # Video stops below FULL: its runs end with it (its old loss must not hold audio down).
    audio = replace(state.audio, good_since=None, bad_since=None)
    return replace(state, step=step, audio=audio, video=Runs(), flaps=flaps)
