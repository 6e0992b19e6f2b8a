"""replay_flush.py: the write+flush groups taken from a decoded capture."""
import replay_flush

DECODED = """\
254,48   0        6     0.000449910   526  D  WS 615776 + 8 [mpagectl]
254,48   0        7     0.001013240     0  C  WS 615776 + 8 [0]
254,48   0       11     0.001503990    44  D   R 2568 + 8 [kworker/0:1H]
254,48   0       16     0.002033780    44  D  WS 2568 + 8 [kworker/0:1H]
254,48   0       20     0.002450430    44  D  FN [kworker/0:1H]
254,48   0       21     0.003671040     0  C  FN [0]
254,48   0       28     0.004878640   526  D  WS 615784 + 16 [mpagectl]
254,48   0       33     0.005351390    44  Q  WS 2568 + 8 [kworker/0:1H]
254,48   0       34     0.005351390    44  D  FN [kworker/0:1H]
254,48   0       35     0.005451390    44  D  WS 9 + 8 [kworker/0:1H]
"""


def test_groups_are_the_dispatched_writes_before_each_flush():
    # reads, completions and queue events are not replayed; writes after the
    # last flush belong to no group
    assert replay_flush.groups(DECODED) == [[(615776 * 512, 4096), (2568 * 512, 4096)],
                                            [(615784 * 512, 8192)]]
