from castapp.linkquality import LinkQuality, link_quality
from castapp.rtc.peer import PeerStats


def stats(lost=0, received=1000, rtt=10.0, fps=30.0):
    return PeerStats(at=0.0, codec="H264", bytes_sent=0, bytes_received=0, packets_sent=0,
                     packets_received=received, packets_lost=lost, rtt_ms=rtt, ice=None,
                     fps=fps)


def test_words_for_the_link():
    assert link_quality(None) is None
    assert link_quality(stats()) is LinkQuality.GOOD
    assert link_quality(stats(rtt=120)) is LinkQuality.FAIR
    assert link_quality(stats(lost=20)) is LinkQuality.FAIR
    assert link_quality(stats(lost=100)) is LinkQuality.POOR
    assert link_quality(stats(rtt=300)) is LinkQuality.POOR
    assert link_quality(stats(rtt=None, fps=None)) is LinkQuality.GOOD


def test_a_still_screen_on_a_clean_link_is_a_good_link():
    """A sender sends a frame when its screen changes: 2 frames a second of a still screen
    (60 asked) used to be called a poor link."""
    assert link_quality(stats(fps=2.0, rtt=2.0)) is LinkQuality.GOOD
