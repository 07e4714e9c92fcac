"""The Kafka bus: the same contract as the in-process bus, over Apache Kafka (kafka-python).

What callers may rely on:

- Logical topics (``raw``, ``classified``, ``dead_letter``, ``tickets``) map to the topic names
  in :class:`civic_signal.config.settings.KafkaSettings`; with ``create_topics`` they are created (partitions,
  replication factor) when the bus opens, and an existing topic is left as it is.
- :meth:`KafkaBus.publish` sends a versioned JSON envelope (:mod:`civic_signal.listener.bus.envelope`). With
  ``kafka.batch_items`` > 1 items of a topic are gathered into one batch envelope, sent when it
  holds ``batch_items`` items, when its first item is ``linger_ms`` old, or on
  :meth:`KafkaBus.flush` (so at every commit); one over :data:`MAX_BATCH_BYTES` goes in halves.
  A batch holds the items of one partition (the one each item's key hashes to), so one post
  still stays on one partition; the record is keyed by its first item's key. With
  ``batch_items = 1`` every item is its own record keyed by the post id. The producer uses
  ``acks=all``, retries until ``delivery_timeout_ms`` and is idempotent. While brokers are away
  it buffers and retries; a message that still could not be delivered (or a batch the linger
  thread could not hand to the producer) makes the next :meth:`KafkaBus.flush` raise
  :class:`BusError`, so the stage does not commit and its batch comes again.
- A consumer belongs to the consumer group ``<group_prefix>.<group>`` and never commits on its
  own. :meth:`KafkaTopicConsumer.commit` first flushes the producer (what the stage produced from
  the batch is on the brokers) and then commits the offsets polled so far: at-least-once. If
  either fails it rewinds to the last committed offsets, so the batch comes again, and raises
  :class:`BusError`.
- A record that is not a valid envelope of the topic's type never reaches the stage: it goes to
  the dead-letter topic as a :class:`DeadLetter` naming the error and its origin
  (``topic/partition@offset``, ``#index`` for one item of a batch: the other items go on). On
  the dead-letter topic itself it is handed to the stage as such a dead letter.
- Topics never ``end``: a Kafka stage runs until its stop event is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from civic_signal.config.errors import BusError, ParseError
from civic_signal.core.bus import CLASSIFIED, DEAD_LETTER, RAW, TICKETS, TOPICS, Bus, Consumer, Message
from civic_signal.listener.bus.envelope import decode_items, encode, encode_batch
from civic_signal.core.models import ClassifiedPost, DeadLetter, Post, Ticket

log = logging.getLogger("civic_signal.bus.kafka")

#: What each logical topic carries.
TOPIC_MODELS = {RAW: Post, CLASSIFIED: ClassifiedPost, DEAD_LETTER: DeadLetter, TICKETS: Ticket}
_TOPIC_ALREADY_EXISTS = 36
#: A batch envelope is sent once it reaches this size (the brokers' default limit is 1 MB).
MAX_BATCH_BYTES = 512 * 1024


def client_config(settings: Any) -> dict[str, Any]:
    """kafka-python connection options (servers, TLS, SASL) from :class:`KafkaSettings`.

    The SASL password is read from the settings' ``SecretStr`` here and nowhere else; it is never logged.
    """
    cfg: dict[str, Any] = {
        "bootstrap_servers": list(settings.bootstrap_servers),
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": settings.request_timeout_ms,
        "bootstrap_timeout_ms": settings.request_timeout_ms,
        # kafka-python backs off up to 30 s by default; after a broker restart that is 30 s idle
        "reconnect_backoff_max_ms": 2000,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        cfg["ssl_check_hostname"] = settings.ssl_check_hostname
        for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            if getattr(settings, key):
                cfg[key] = getattr(settings, key)
    if settings.security_protocol.startswith("SASL"):
        cfg["sasl_mechanism"] = settings.sasl_mechanism
        cfg["sasl_plain_username"] = settings.sasl_username
        cfg["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return cfg


def _kafka_error(what: str, exc: BaseException, settings: Any) -> BusError:
    return BusError(f"{what}: {exc.__class__.__name__}: {exc}",
                    hint=f"check that the brokers {', '.join(settings.bootstrap_servers)} are up and reachable "
                         "(kafka.bootstrap_servers / CIVIC_KAFKA__BOOTSTRAP_SERVERS) and the security settings")


class KafkaBus(Bus):
    """One producer (shared by every publishing thread) and any number of consumers."""

    name = "kafka"

    def __init__(self, settings: Any, *, create_topics: bool | None = None) -> None:
        self.settings = settings
        self.topics = {RAW: settings.topic_raw, CLASSIFIED: settings.topic_classified,
                       DEAD_LETTER: settings.topic_dead_letter, TICKETS: settings.topic_tickets}
        self._logical = {v: k for k, v in self.topics.items()}
        self._producer = None
        self._lock = threading.Lock()
        self._failed: list[str] = []
        self.published = 0
        self.batch_items = max(1, getattr(settings, "batch_items", 1))
        #: (topic name, partition) -> (items waiting to be sent as one batch, when the first one came)
        self._pending: dict[tuple[str, int | None], tuple[list[tuple[str | None, Any]], float]] = {}
        self._partitions: dict[str, int] = {}  # topic name -> its number of partitions
        self._pending_lock = threading.Lock()
        self._linger_s = max(settings.linger_ms, 1) / 1000
        self._lingering: threading.Thread | None = None
        self._closed = threading.Event()
        if settings.create_topics if create_topics is None else create_topics:
            self.ensure_topics()

    # -- topics ---------------------------------------------------------------------------------
    def topic(self, logical: str) -> str:
        """The Kafka topic name of a logical topic (``raw`` -> ``civic.posts.raw``)."""
        try:
            return self.topics[logical]
        except KeyError:
            raise BusError(f"unknown topic {logical!r}; known: {', '.join(TOPICS)}") from None

    def ensure_topics(self) -> None:
        """Create the four topics where they do not exist yet (partitions, replication factor)."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError
        s = self.settings
        try:
            admin = KafkaAdminClient(**client_config(s))
        except KafkaError as exc:
            raise _kafka_error("cannot reach Kafka to create the topics", exc, s) from None
        try:
            existing = set(admin.list_topics())
            wanted = {name: {"num_partitions": s.partitions, "replication_factor": s.replication_factor}
                      for name in self.topics.values() if name not in existing}
            if wanted:
                result = admin.create_topics(wanted, raise_errors=False, wait_for_metadata=True)
                for t in result.get("topics", []):
                    if t.get("error_code") not in (0, _TOPIC_ALREADY_EXISTS):
                        raise BusError(f"cannot create topic {t.get('name')}: {t.get('error_message') or t.get('error_code')}",
                                       hint="create it by hand and set kafka.create_topics = false, or fix the "
                                            "partitions / replication_factor settings")
                log.info("created topics %s", ", ".join(sorted(wanted)))
        except KafkaError as exc:
            raise _kafka_error("cannot create the topics", exc, s) from None
        finally:
            admin.close()

    # -- producing ------------------------------------------------------------------------------
    @property
    def producer(self):
        with self._lock:
            if self._producer is None:
                from kafka import KafkaProducer
                from kafka.errors import KafkaError
                s = self.settings
                try:
                    self._producer = KafkaProducer(
                        acks="all", enable_idempotence=True, retries=2**31 - 1,
                        delivery_timeout_ms=s.delivery_timeout_ms, linger_ms=s.linger_ms,
                        max_block_ms=s.delivery_timeout_ms, compression_type=s.compression_type or None,
                        batch_size=64 * 1024, **client_config(s))
                except KafkaError as exc:
                    raise _kafka_error("cannot start the Kafka producer", exc, s) from None
            return self._producer

    def _on_failure(self, topic: str, key: str | None) -> Callable[[BaseException], None]:
        def failed(exc: BaseException) -> None:
            msg = f"delivery to {topic} (key {key}) failed: {exc.__class__.__name__}: {exc}"
            log.error(msg)
            with self._lock:
                self._failed.append(msg)
        return failed

    def publish(self, topic: str, key: str | None, value: Any) -> None:
        name = self.topic(topic)
        if self.batch_items == 1:
            self._send(name, key, encode(value), 1)
            self.published += 1
            return
        slot = (name, self._partition(name, key))
        ready = None
        with self._pending_lock:
            items, since = self._pending.get(slot) or ([], time.monotonic())
            items.append((key, value))
            if len(items) >= self.batch_items:
                self._pending.pop(slot, None)
                ready = items
            else:
                self._pending[slot] = (items, since)
            self.published += 1
        if ready is not None:
            self._send_batch(slot, ready)
        elif self._lingering is None:
            self._start_lingering()

    def _partition(self, name: str, key: str | None) -> int | None:
        """The partition the producer would pick for ``key`` alone (murmur2, as Kafka's default
        partitioner): a batch holds the items of one partition, so one post stays on one partition."""
        if key is None:
            return None
        from kafka.partitioner.default import murmur2
        n = self._partitions.get(name)
        if n is None:
            try:
                n = len(self.producer.partitions_for(name) or ()) or None
            except Exception as exc:  # noqa: BLE001 - metadata unavailable: any partition will do
                log.warning("no partition count for %s yet (%s); batching without partitions", name, exc)
                return None
            if n is None:
                return None
            self._partitions[name] = n
        return (murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % n

    def _send_batch(self, slot: tuple[str, int | None], items: list[tuple[str | None, Any]]) -> None:
        data = encode_batch(items)
        if len(data) > MAX_BATCH_BYTES and len(items) > 1:  # big posts: send it in halves
            mid = len(items) // 2
            self._send_batch(slot, items[:mid])
            self._send_batch(slot, items[mid:])
            return
        self._send(slot[0], items[0][0], data, len(items), partition=slot[1])

    def _send(self, name: str, key: str | None, data: bytes, n: int, partition: int | None = None) -> None:
        from kafka.errors import KafkaError
        try:
            future = self.producer.send(name, value=data, key=key.encode("utf-8") if key is not None else None,
                                        partition=partition)
        except KafkaError as exc:  # e.g. no metadata or a full buffer for max_block_ms
            raise _kafka_error(f"cannot publish to {name}", exc, self.settings) from None
        future.add_errback(self._on_failure(name, key if n == 1 else f"{key} and {n - 1} more"))

    def _send_pending(self, older_than_s: float | None = None) -> None:
        """Send the gathered batches (only those whose first item is older than ``older_than_s``)."""
        now = time.monotonic()
        with self._pending_lock:
            slots = [slot for slot, (_, since) in self._pending.items()
                     if older_than_s is None or now - since >= older_than_s]
            ready = [(slot, self._pending.pop(slot)[0]) for slot in slots]
        for slot, items in ready:
            try:
                self._send_batch(slot, items)
            except BusError as exc:  # remembered: the next flush raises, so nothing is committed
                with self._lock:
                    self._failed.append(f"{len(items)} message(s) for {slot[0]} not handed to the producer: {exc}")

    def _start_lingering(self) -> None:
        with self._pending_lock:
            if self._lingering is not None:
                return
            self._lingering = threading.Thread(target=self._linger, name="kafka-batches", daemon=True)
            self._lingering.start()

    def _linger(self) -> None:
        """Send each batch at the latest ``linger_ms`` after its first item (a quiet source's
        post does not wait for the next one)."""
        while not self._closed.wait(self._linger_s / 2):
            try:
                self._send_pending(older_than_s=self._linger_s)
            except Exception as exc:  # noqa: BLE001 - the thread must live on; flush reports failures
                log.warning("sending lingering batches: %s", exc)

    def publish_raw(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Send bytes as they are (no envelope): for tools and tests that need a broken message."""
        self.producer.send(self.topic(topic), value=value, key=key)

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until everything published so far is on the brokers; :class:`BusError` if some is not."""
        self._send_pending()
        if self._producer is not None:
            from kafka.errors import KafkaError
            try:
                self._producer.flush(timeout=timeout_s)
            except KafkaError as exc:
                raise _kafka_error("the producer could not deliver in time", exc, self.settings) from None
        with self._lock:
            failed, self._failed = self._failed, []
        if failed:
            raise BusError(f"{len(failed)} message(s) could not be delivered; first: {failed[0]}",
                           hint="the batch stays uncommitted and is processed again")

    # -- consuming ------------------------------------------------------------------------------
    def group_id(self, group: str) -> str:
        return f"{self.settings.group_prefix}.{group}"

    def consumer(self, topic: str, group: str) -> "KafkaTopicConsumer":
        return KafkaTopicConsumer(self, topic, group)

    def lag(self, topic: str, group: str) -> int:
        """Messages on ``topic`` not yet committed by ``group`` (all partitions; a new group lags by all)."""
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import KafkaError
        name = self.topic(topic)
        try:
            probe = KafkaConsumer(group_id=self.group_id(group), enable_auto_commit=False, **client_config(self.settings))
        except KafkaError as exc:
            raise _kafka_error("cannot reach Kafka to measure the lag", exc, self.settings) from None
        try:
            parts = probe.partitions_for_topic(name) or set()
            tps = [TopicPartition(name, p) for p in sorted(parts)]
            ends = probe.end_offsets(tps)
            starts = probe.beginning_offsets(tps)
            total = 0
            for tp in tps:
                committed = probe.committed(tp)
                total += ends[tp] - (committed if committed is not None else starts[tp])
            return total
        except KafkaError as exc:
            raise _kafka_error(f"cannot measure the lag of {self.group_id(group)} on {name}", exc, self.settings) from None
        finally:
            probe.close(autocommit=False)

    def group_members(self, group: str) -> tuple[str, int]:
        """``(state, members)`` of a consumer group, e.g. ``("Stable", 2)``; ``("Dead", 0)`` when unknown."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError
        try:
            admin = KafkaAdminClient(**client_config(self.settings))
        except KafkaError as exc:
            raise _kafka_error("cannot reach Kafka to describe a group", exc, self.settings) from None
        try:
            info = admin.describe_groups([self.group_id(group)]).get(self.group_id(group)) or {}
        except KafkaError as exc:
            raise _kafka_error(f"cannot describe group {self.group_id(group)}", exc, self.settings) from None
        finally:
            admin.close()
        return str(info.get("group_state") or info.get("state") or "Dead"), len(info.get("members") or [])

    def depth(self, topic: str) -> int | None:
        return None

    def close(self) -> None:
        """Flush (best effort) and close the producer."""
        self._closed.set()
        if self._producer is not None or self._pending:
            try:
                self.flush(timeout_s=self.settings.delivery_timeout_ms / 1000)
            except BusError as exc:
                log.error("closing the producer with undelivered messages: %s", exc)
            if self._producer is not None:
                self._producer.close()
            self._producer = None


class KafkaTopicConsumer(Consumer):
    """One Kafka consumer in a consumer group, polling one logical topic. Not thread-safe."""

    def __init__(self, bus: KafkaBus, topic: str, group: str) -> None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError
        self.bus = bus
        self.topic = topic
        self.model = TOPIC_MODELS[topic]
        self.group_id = bus.group_id(group)
        s = bus.settings
        self.ended = False
        self.poisoned = 0
        self._next: dict[Any, int] = {}    # TopicPartition -> offset after the last polled record
        self._first: dict[Any, int] = {}   # TopicPartition -> first polled, uncommitted offset
        try:
            self._c = KafkaConsumer(
                bus.topic(topic), group_id=self.group_id, enable_auto_commit=False,
                auto_offset_reset=s.auto_offset_reset, session_timeout_ms=s.session_timeout_ms,
                heartbeat_interval_ms=s.heartbeat_interval_ms, max_poll_interval_ms=s.max_poll_interval_ms,
                **client_config(s))
        except KafkaError as exc:
            raise _kafka_error(f"cannot start a consumer of {bus.topic(topic)}", exc, s) from None

    def _poison(self, record: Any, origin: str, key: str | None, exc: ParseError) -> DeadLetter:
        raw = exc.raw if isinstance(exc.raw, (bytes, str)) else record.value  # one item of a batch, or the record
        payload = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else (raw or "")
        return DeadLetter(stage=f"bus:{self.topic}", reason=f"cannot decode: {exc.message}"[:1000],
                          payload=payload[:100_000], origin=origin, post_id=key)

    def poll(self, max_records: int = 256, timeout_s: float = 0.5) -> list[Message]:
        """Up to about ``max_records`` items (records are asked for by ``max_records`` divided by
        the batch size, so a poll of batch envelopes stays near ``max_records`` items)."""
        from kafka.errors import KafkaError
        records_wanted = max(1, max_records // self.bus.batch_items)
        try:
            batches = self._c.poll(timeout_ms=int(timeout_s * 1000), max_records=records_wanted)
        except KafkaError as exc:
            log.warning("poll of %s failed (will poll again): %s", self.bus.topic(self.topic), exc)
            return []
        out: list[Message] = []
        for tp, records in batches.items():
            for r in records:
                self._first.setdefault(tp, r.offset)
                self._next[tp] = r.offset + 1
                origin = f"{tp.topic}/{tp.partition}@{r.offset}"
                key = r.key.decode("utf-8", "replace") if isinstance(r.key, bytes) else None
                ts = r.timestamp / 1000 if r.timestamp and r.timestamp > 0 else None
                try:
                    items = decode_items(r.value, self.model, where=origin)  # the origin travels in dead letters
                except ParseError as exc:
                    items = [(None, exc)]
                single = len(items) == 1 and items[0][0] is None
                for n, (item_key, value) in enumerate(items):
                    at, k = (origin, key) if single else (f"{origin}#{n}", item_key)
                    if isinstance(value, ParseError):
                        self._dead(out, r, at, k, value)
                        continue
                    out.append(Message(topic=self.topic, key=k, value=value, origin=at, **({"ts": ts} if ts else {})))
        return out

    def _dead(self, out: list[Message], record: Any, origin: str, key: str | None, exc: ParseError) -> None:
        dead = self._poison(record, origin, key, exc)
        log.warning("poison message %s: %s", origin, exc.message)
        self.poisoned += 1
        if self.topic == DEAD_LETTER:
            out.append(Message(topic=self.topic, key=key, value=dead, origin=origin))
        else:
            self.bus.publish(DEAD_LETTER, key, dead)

    def commit(self) -> None:
        """Flush the producer, then commit every offset polled so far. Rewinds and raises on failure."""
        if not self._next:
            return
        from kafka import OffsetAndMetadata
        from kafka.errors import KafkaError
        try:
            self.bus.flush()
            self._c.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in self._next.items()})
        except (BusError, KafkaError) as exc:
            self.rewind()
            if isinstance(exc, BusError):
                raise
            raise _kafka_error(f"cannot commit offsets of {self.group_id}", exc, self.bus.settings) from None
        self._next.clear()
        self._first.clear()

    def rewind(self) -> None:
        """Forget what was polled since the last commit: the next poll returns it again."""
        assigned = self._c.assignment()
        for tp, offset in self._first.items():
            if tp in assigned:
                try:
                    self._c.seek(tp, offset)
                except Exception as exc:  # lost the partition meanwhile: its new owner starts at the commit
                    log.info("could not rewind %s: %s", tp, exc)
        self._next.clear()
        self._first.clear()

    def assignment(self) -> set[Any]:
        return set(self._c.assignment())

    def lag(self) -> int | None:
        total = 0
        for tp in self._c.assignment():
            high = self._c.highwater(tp)
            if high is None:
                return None
            total += max(high - self._c.position(tp), 0)
        return total

    def close(self) -> None:
        """Leave the group. Offsets not committed stay uncommitted (their messages come again)."""
        try:
            self._c.close(autocommit=False)
        except Exception as exc:
            log.warning("closing the consumer of %s: %s", self.group_id, exc)
