from castapp.linkquality import LinkQuality, link_quality
from castapp.rtc.peer import PeerStats


def stats(lost=0, received=1000, rtt=10.0, fps=30.0):
    return PeerStats(at=0.0, codec="H264", bytes_sent=0, bytes_received=0, packets_sent=0,
                     packets_received=received, packets_lost=lost, rtt_ms=rtt, ice=None,
                     fps=fps)


def test_words_for_the_link():
    assert link_quality(None) is None
    assert link_quality(stats(), 30) is LinkQuality.GOOD
    assert link_quality(stats(rtt=120), 30) is LinkQuality.FAIR
    assert link_quality(stats(lost=20), 30) is LinkQuality.FAIR
    assert link_quality(stats(lost=100), 30) is LinkQuality.POOR
    assert link_quality(stats(fps=10), 30) is LinkQuality.POOR
    assert link_quality(stats(rtt=None, fps=None)) is LinkQuality.GOOD
