"""The bus between stages: in-process (embedded default) or Kafka (scale-out)."""

from civic_signal.core.bus import CLASSIFIED, DEAD_LETTER, RAW, TICKETS, Bus, Consumer, Message

__all__ = ["Bus", "Consumer", "Message", "RAW", "CLASSIFIED", "DEAD_LETTER", "TICKETS", "make_bus"]


def make_bus(settings, kind: str | None = None) -> Bus:
    """The bus the settings (or ``kind``) ask for."""
    kind = kind or settings.bus.kind
    if kind == "kafka":
        from civic_signal.listener.bus.kafka import KafkaBus  # imported lazily: kafka-python is only needed here
        return KafkaBus(settings.kafka)
    from civic_signal.listener.bus.memory import MemoryBus
    return MemoryBus(max_queue=settings.bus.max_queue)
