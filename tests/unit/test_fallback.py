"""The fallback ladder's decision (media/fallback.py), fed synthetic report sequences."""

from __future__ import annotations

from dataclasses import replace

from media.fallback import (
    AUDIO_LOST,
    FULL,
    VIDEO_PAUSED,
    Ladder,
    LinkState,
    Report,
    on_report,
    on_tick,
)

LADDER = Ladder()


def feed(state: LinkState, start: float, end: float, loss: float, every: float = 0.5) -> LinkState:
    """Reports every ``every`` seconds from ``start`` to ``end`` with this loss."""
    t = start
    while t <= end:
        state = on_report(state, Report(at=t, loss=loss), LADDER)
        t += every
    return state


def test_a_good_link_stays_full() -> None:
    assert feed(LinkState(), 0, 60, loss=0.0).step == FULL


def test_steady_loss_pauses_video_after_two_seconds_not_before() -> None:
    state = feed(LinkState(), 0, 1.5, loss=0.2)
    assert state.step == FULL
    assert feed(state, 2.0, 2.0, loss=0.2).step == VIDEO_PAUSED


def test_a_single_bad_report_among_good_ones_does_not_pause() -> None:
    state = LinkState()
    for i in range(40):
        state = on_report(state, Report(at=i * 0.5, loss=0.3 if i % 4 == 0 else 0.0), LADDER)
    assert state.step == FULL


def test_high_jitter_or_a_remb_under_what_is_sent_counts_as_bad() -> None:
    state = LinkState()
    for i in range(6):
        state = on_report(state, Report(at=i * 0.5, loss=0.0, jitter_s=0.2), LADDER)
    assert state.step == VIDEO_PAUSED
    low = Report(at=0, loss=0.0, remb_bps=200_000, sent_bps=600_000)
    state = LinkState()
    for i in range(6):
        state = on_report(state, replace(low, at=i * 0.5), LADDER)
    assert state.step == VIDEO_PAUSED
    # A low estimate of a small stream is no sign of trouble.
    state = LinkState()
    for i in range(6):
        state = on_report(
            state, Report(at=i * 0.5, loss=0.0, remb_bps=15_000, sent_bps=14_000), LADDER
        )
    assert state.step == FULL


def test_video_resumes_only_after_good_reports_for_a_while() -> None:
    state = feed(LinkState(), 0, 3, loss=0.2)
    assert state.step == VIDEO_PAUSED
    state = feed(state, 3.5, 3.5 + LADDER.resume_after_s - 1, loss=0.0)
    assert state.step == VIDEO_PAUSED
    # A fair report (neither good nor bad) restarts the wait.
    state = on_report(state, Report(at=11.0, loss=0.05), LADDER)
    state = feed(state, 11.5, 11.5 + LADDER.resume_after_s - 1, loss=0.0)
    assert state.step == VIDEO_PAUSED
    state = feed(state, 19.0, 20.0, loss=0.0)
    assert state.step == FULL


def test_a_link_on_the_edge_does_not_flap() -> None:
    """Bad for 3 s, good for 10 s, over and over: each pause soon after a resume doubles the
    wait, so over ten minutes video changes far less often than the link does."""
    state, changes, previous, t = LinkState(), 0, FULL, 0.0
    while t < 600:
        loss = 0.2 if (t % 13) < 3 else 0.0
        state = on_report(state, Report(at=t, loss=loss), LADDER)
        if state.step != previous:
            changes, previous = changes + 1, state.step
        t += 0.5
    assert changes <= 4  # down, up, down, up at most: the wait outgrows the good spells
    assert state.step == VIDEO_PAUSED


def test_a_pause_long_after_the_last_resume_waits_the_base_time_again() -> None:
    state = feed(LinkState(), 0, 3, loss=0.2)
    state = feed(state, 3.5, 12, loss=0.0)
    state = feed(state, 12.5, 15, loss=0.2)  # soon after: the wait doubles
    assert state.step == VIDEO_PAUSED and state.flaps == 1
    state = feed(state, 15.5, 40, loss=0.0)
    assert state.step == FULL
    state = feed(state, 40.5, 140, loss=0.0)
    state = feed(state, 140.5, 143, loss=0.2)  # long after: back to the base wait
    assert state.step == VIDEO_PAUSED and state.flaps == 0


def test_silence_while_audio_is_sent_means_audio_is_lost_and_a_report_steps_back_up() -> None:
    state = feed(LinkState(), 0, 3, loss=0.2)
    assert on_tick(state, 5.0, sending_audio=True, ladder=LADDER).step == VIDEO_PAUSED
    assert on_tick(state, 10.0, sending_audio=False, ladder=LADDER).step == VIDEO_PAUSED
    state = on_tick(state, 10.0, sending_audio=True, ladder=LADDER)
    assert state.step == AUDIO_LOST
    state = on_report(state, Report(at=11.0, loss=0.0), LADDER)
    assert state.step == VIDEO_PAUSED  # one step at a time
    state = feed(state, 11.5, 11.5 + LADDER.resume_after_s, loss=0.0)
    assert state.step == FULL


def test_heavy_loss_goes_straight_to_audio_lost_and_stays_while_it_lasts() -> None:
    state = feed(LinkState(), 0, 2, loss=0.6)
    assert state.step == AUDIO_LOST
    assert feed(state, 2.5, 10, loss=0.6).step == AUDIO_LOST
    assert feed(state, 10.5, 11, loss=0.2).step == VIDEO_PAUSED


def test_no_report_yet_is_not_silence() -> None:
    assert on_tick(LinkState(), 100.0, sending_audio=True, ladder=LADDER).step == FULL


def test_an_audio_report_neither_good_nor_bad_does_not_restart_the_videos_bad_run() -> None:
    """Each stream keeps its own runs: bad video reports among fair audio ones pause video
    after ``pause_after_s`` as they would alone."""
    state, t = LinkState(), 0.0
    while t <= 2.0:
        state = on_report(state, Report(at=t, loss=0.2, kind="video"), LADDER)
        state = on_report(state, Report(at=t + 0.1, loss=0.05, kind="audio"), LADDER)
        t += 0.5
    assert state.step == VIDEO_PAUSED


def test_a_video_report_does_not_restart_the_audios_good_run_while_video_is_paused() -> None:
    state = feed(LinkState(), 0, 3, loss=0.2)
    assert state.step == VIDEO_PAUSED
    t = 3.5
    while t <= 3.5 + LADDER.resume_after_s:
        state = on_report(state, Report(at=t, loss=0.0, kind="audio"), LADDER)
        state = on_report(state, Report(at=t + 0.1, loss=0.05, kind="video"), LADDER)
        t += 0.5
    assert state.step == FULL


def test_a_bad_audio_run_pauses_video_whatever_the_video_reports_say() -> None:
    state, t = LinkState(), 0.0
    while t <= 2.0:
        state = on_report(state, Report(at=t, loss=0.2, kind="audio"), LADDER)
        state = on_report(state, Report(at=t + 0.1, loss=0.0, kind="video"), LADDER)
        t += 0.5
    assert state.step == VIDEO_PAUSED


def test_audio_lost_steps_up_once_audio_reports_come_through_after_video_loss() -> None:
    state = feed(LinkState(), 0, 2, loss=0.6)  # video reports at audio-losing loss
    assert state.step == AUDIO_LOST
    state = on_report(state, Report(at=2.5, loss=0.2, kind="audio"), LADDER)
    assert state.step == VIDEO_PAUSED


def test_audio_reports_that_get_through_keep_heavy_video_loss_from_meaning_audio_lost() -> None:
    state, t = LinkState(), 0.0
    while t <= 4.0:
        state = on_report(state, Report(at=t, loss=0.97, kind="video"), LADDER)
        state = on_report(state, Report(at=t + 0.1, loss=0.05, kind="audio"), LADDER)
        t += 0.5
    assert state.step == VIDEO_PAUSED
