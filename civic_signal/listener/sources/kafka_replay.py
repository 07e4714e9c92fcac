"""Replay a Kafka topic over a time range, found with ``offsets_for_times``.

For each partition the range is ``[start, end)`` in offsets: ``start`` is the first offset whose
record timestamp is at or after ``since`` (the beginning without ``since``), ``end`` the first at
or after ``until`` (the end offset at planning time without ``until``). The source reads exactly
those records and stops, without a consumer group and without committing anything, so a replay
never disturbs the live consumers. Record timestamps are when the record was produced (or the
post time, if the producer set it): see :meth:`KafkaRangeSource.plan`.

Values are bus envelopes (:mod:`civic_signal.listener.bus.envelope`: a ``post``, or the post inside a
``classified``, so the raw and the classified topics can both be replayed) or any raw stream shape
:func:`civic_signal.listener.sources.formats.parse_any` knows; a record that does not parse comes out as a
dead letter naming ``topic/partition/offset``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from civic_signal.config.errors import ParseError, SourceError
from civic_signal.core.models import DeadLetter, Post
from civic_signal.core.source import Source
from civic_signal.listener.sources.formats import decode_json, parse_any


@dataclass(frozen=True)
class PartitionRange:
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return max(self.end - self.start, 0)


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def consumer_config(kafka) -> dict[str, Any]:
    """KafkaConsumer keyword arguments from :class:`civic_signal.config.settings.KafkaSettings`: no group, no commits.

    Connection options (servers, TLS, SASL) come from the Kafka bus's ``client_config`` so that
    replay connects exactly as the pipeline does.
    """
    try:
        from civic_signal.listener.bus.kafka import client_config
        cfg = client_config(kafka)
    except (ImportError, AttributeError):  # the bus module is older or absent: the essentials only
        cfg = dict(bootstrap_servers=list(kafka.bootstrap_servers), security_protocol=kafka.security_protocol)
        if kafka.sasl_mechanism:
            cfg.update(sasl_mechanism=kafka.sasl_mechanism, sasl_plain_username=kafka.sasl_username,
                       sasl_plain_password=kafka.sasl_password.get_secret_value())
    cfg.update(client_id=f"{kafka.client_id}-replay", group_id=None, enable_auto_commit=False)
    return cfg


def default_consumer_factory(kafka) -> Any:
    try:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError
    except ImportError as exc:  # pragma: no cover - kafka-python is a dependency
        raise SourceError(f"kafka-python is not installed: {exc}") from None
    try:
        return KafkaConsumer(**consumer_config(kafka))
    except KafkaError as exc:
        raise SourceError(f"cannot reach Kafka at {','.join(kafka.bootstrap_servers)}: {exc}",
                          hint="check kafka.bootstrap_servers / CIVIC_KAFKA__BOOTSTRAP_SERVERS") from None


class KafkaRangeSource(Source):
    """The records of ``topic`` between ``since`` and ``until`` (record timestamps), then the end."""

    name = "kafka-replay"

    def __init__(self, topic: str, *, consumer_factory: Callable[[], Any], since: datetime | None = None,
                 until: datetime | None = None, poll_timeout_ms: int = 500, idle_timeout_s: float = 30.0) -> None:
        super().__init__()
        self.topic, self.since, self.until = topic, since, until
        self._factory = consumer_factory
        self._consumer: Any = None
        self._plan: list[PartitionRange] | None = None
        self.poll_timeout_ms = poll_timeout_ms
        self.idle_timeout_s = idle_timeout_s

    def _tp(self, partition: int) -> Any:
        from kafka import TopicPartition
        return TopicPartition(self.topic, partition)

    @property
    def consumer(self) -> Any:
        if self._consumer is None:
            self._consumer = self._factory()
        return self._consumer

    def plan(self) -> list[PartitionRange]:
        """The offset range per partition (computed once, on first use)."""
        if self._plan is not None:
            return self._plan
        c = self.consumer
        parts = c.partitions_for_topic(self.topic)
        if not parts:
            raise SourceError(f"Kafka topic {self.topic!r} does not exist or has no partitions",
                              hint="check the topic name after 'kafka:'")
        tps = [self._tp(p) for p in sorted(parts)]
        begin = c.beginning_offsets(tps)
        end = c.end_offsets(tps)
        start = dict(begin)
        stop = dict(end)
        if self.since is not None:
            found = c.offsets_for_times({tp: _ms(self.since) for tp in tps})
            start = {tp: (found[tp].offset if found.get(tp) is not None else end[tp]) for tp in tps}
        if self.until is not None:
            found = c.offsets_for_times({tp: _ms(self.until) for tp in tps})
            stop = {tp: (found[tp].offset if found.get(tp) is not None else end[tp]) for tp in tps}
        self._plan = [PartitionRange(tp.partition, start[tp], max(stop[tp], start[tp])) for tp in tps]
        return self._plan

    def count(self) -> int:
        """Records in the range (a batch envelope is one record holding many posts)."""
        return sum(r.size for r in self.plan())

    def _decode(self, rec: Any) -> list[Post | DeadLetter]:
        """A record's posts: from a bus envelope (``post``, or the post inside ``classified``; a
        batch envelope holds many, and a bad item costs only itself) or any raw shape."""
        origin = f"{self.topic}/{rec.partition}/{rec.offset}"
        value = rec.value
        try:
            if value is None:
                raise ParseError("empty record (tombstone)")
            obj = decode_json(value)
            if isinstance(obj, dict) and {"v", "type"} <= obj.keys() and ("data" in obj or "items" in obj):
                from civic_signal.listener.bus.envelope import decode_items
                from civic_signal.core.models import ClassifiedPost
                out: list[Post | DeadLetter] = []
                for n, (_key, item) in enumerate(decode_items(value, where=origin)):
                    if isinstance(item, ClassifiedPost):
                        item = item.post
                    elif not isinstance(item, (Post, ParseError)):
                        item = ParseError(f"a {type(item).__name__} envelope carries no post", where=origin)
                    if isinstance(item, ParseError):
                        self.health.saw_error(item.message)
                        raw = item.raw if isinstance(item.raw, (bytes, str)) else value
                        payload = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                        item = DeadLetter(stage="source", reason=item.message[:1000], payload=payload[:100_000],
                                          origin=origin if "items" not in obj else f"{origin}#{n}")
                    out.append(item)
                return out
            return [parse_any(obj)]
        except ParseError as exc:
            self.health.saw_error(f"{origin}: {exc.message}")
            payload = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            return [DeadLetter(stage="source", reason=exc.message[:1000], payload=payload[:100_000], origin=origin)]

    def __iter__(self) -> Iterator[Post | DeadLetter]:
        plan = [r for r in self.plan() if r.size]
        c = self.consumer
        try:
            if not plan:
                return
            ranges = {r.partition: r for r in plan}
            c.assign([self._tp(p) for p in ranges])
            for r in plan:
                c.seek(self._tp(r.partition), r.start)
            done: set[int] = set()
            self.health.connected = True
            last_data = time.monotonic()
            while len(done) < len(ranges) and not self.closed:
                batch = c.poll(timeout_ms=self.poll_timeout_ms)
                if not batch:
                    self._mark_done_by_position(ranges, done)
                    if len(done) < len(ranges) and time.monotonic() - last_data > self.idle_timeout_s:
                        missing = {p: ranges[p].end for p in ranges if p not in done}
                        raise SourceError(f"Kafka topic {self.topic!r} stopped before the planned end offsets "
                                          f"{missing}", hint="the records may have been deleted by retention")
                    continue
                last_data = time.monotonic()
                for tp, records in batch.items():
                    r = ranges.get(tp.partition)
                    if r is None or tp.partition in done:
                        continue
                    for rec in records:
                        if rec.offset >= r.end:
                            break
                        for item in self._decode(rec):
                            if isinstance(item, Post):
                                self.health.saw_post()
                            yield item
                    if records and (records[-1].offset >= r.end - 1):
                        done.add(tp.partition)
                        c.pause(tp)
                self._mark_done_by_position(ranges, done)
        finally:
            self.health.connected = False
            self.close_consumer()

    def _mark_done_by_position(self, ranges: dict[int, PartitionRange], done: set[int]) -> None:
        """A partition whose position passed its end is done (covers control records and compaction gaps)."""
        for p, r in ranges.items():
            if p not in done:
                tp = self._tp(p)
                if self.consumer.position(tp) >= r.end:
                    done.add(p)
                    self.consumer.pause(tp)

    def close_consumer(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close()
            finally:
                self._consumer = None
