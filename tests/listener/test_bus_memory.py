import threading
import time

from civic_signal.listener.bus import RAW
from civic_signal.listener.bus.memory import MemoryBus


def test_publish_blocks_when_the_topic_is_full():
    bus = MemoryBus(max_queue=2)
    bus.publish(RAW, "a", 1)
    bus.publish(RAW, "b", 2)
    done = threading.Event()

    def third():
        bus.publish(RAW, "c", 3)
        done.set()

    threading.Thread(target=third, daemon=True).start()
    assert not done.wait(0.2)  # backpressure: the producer waits
    consumer = bus.consumer(RAW, "g")
    assert [m.value for m in consumer.poll(1)] == [1]
    assert done.wait(1.0)


def test_end_is_seen_after_everything_before_it():
    bus = MemoryBus()
    for n in range(5):
        bus.publish(RAW, str(n), n)
    bus.end(RAW)
    c = bus.consumer(RAW, "g")
    got = []
    t0 = time.monotonic()
    while not c.ended and time.monotonic() - t0 < 2:
        got += [m.value for m in c.poll(2, 0.1)]
    assert got == [0, 1, 2, 3, 4] and c.ended
    assert bus.consumer(RAW, "g").poll(10, 0.1) == []  # another consumer sees the end too
