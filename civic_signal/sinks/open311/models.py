"""What the Open311 GeoReport v2 endpoint sends and receives, as frozen types.

The client turns every JSON payload into these at the boundary; nothing inward sees a raw dict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: GeoReport v2: a description holds at most 4,000 characters.
MAX_DESCRIPTION = 4000


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class AttributeValue(_Frozen):
    key: str
    name: str = ""


class ServiceAttribute(_Frozen):
    """One field of a service definition (``attributes[]``)."""

    code: str
    variable: bool = True
    datatype: str = "string"  # string | number | datetime | text | singlevaluelist | multivaluelist
    required: bool = False
    description: str = ""
    datatype_description: str = ""
    order: int = 0
    values: tuple[AttributeValue, ...] = ()


class Service(_Frozen):
    """One entry of ``services.json``."""

    code: str
    name: str = ""
    description: str = ""
    metadata: bool = False
    type: str = "realtime"  # realtime | batch | blackbox
    keywords: str = ""
    group: str = ""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Service":
        meta = d.get("metadata")
        return cls(code=str(d["service_code"]), name=str(d.get("service_name") or ""),
                   description=str(d.get("description") or ""),
                   metadata=meta is True or str(meta).lower() == "true",
                   type=str(d.get("type") or "realtime").lower(), keywords=str(d.get("keywords") or ""),
                   group=str(d.get("group") or ""))


class ServiceDefinition(_Frozen):
    service_code: str
    attributes: tuple[ServiceAttribute, ...] = ()

    @property
    def required(self) -> tuple[ServiceAttribute, ...]:
        return tuple(a for a in sorted(self.attributes, key=lambda a: a.order) if a.required and a.variable)


class TicketRequest(_Frozen):
    """The body of ``POST requests.json`` except the api key and jurisdiction (the client adds those).

    Exactly one location: ``lat`` + ``long`` when known, else ``address_string`` (sent also as
    ``address``, which some servers read instead).
    ``attributes`` maps an attribute code to one value or a tuple of values (multi-value lists).
    """

    service_code: str = Field(min_length=1)
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    address_string: str | None = None
    description: str = Field("", max_length=MAX_DESCRIPTION)
    media_url: str | None = None
    attributes: dict[str, str | tuple[str, ...]] = {}

    @model_validator(mode="after")
    def _one_location(self) -> "TicketRequest":
        has_point = self.lat is not None and self.long is not None
        if (self.lat is None) != (self.long is None):
            raise ValueError("lat and long go together")
        if has_point and self.address_string:
            raise ValueError("send one location: lat/long or address_string, not both")
        if not has_point and not self.address_string:
            raise ValueError("a request needs a location: lat/long or address_string")
        return self

    def form(self) -> list[tuple[str, str]]:
        """The form fields, in a stable order (multi-value attributes as ``attribute[CODE][]``)."""
        out: list[tuple[str, str]] = [("service_code", self.service_code)]
        if self.lat is not None and self.long is not None:
            out += [("lat", f"{self.lat:.6f}"), ("long", f"{self.long:.6f}")]
        else:  # the spec's field, and ``address``, which some servers read instead (the same value)
            out += [("address_string", self.address_string or ""), ("address", self.address_string or "")]
        if self.description:
            out.append(("description", self.description))
        if self.media_url:
            out.append(("media_url", self.media_url))
        for code, value in self.attributes.items():
            if isinstance(value, tuple):
                out += [(f"attribute[{code}][]", v) for v in value]
            else:
                out.append((f"attribute[{code}]", value))
        return out


class RequestReceipt(_Frozen):
    """What ``POST requests.json`` answered: an id (realtime), a token (batch) or neither (blackbox)."""

    service_request_id: str | None = None
    token: str | None = None
    service_notice: str | None = None


class RequestStatus(_Frozen):
    """One service request as ``GET requests.json`` shows it."""

    service_request_id: str
    status: str = "open"
    status_notes: str | None = None
    service_code: str | None = None
    description: str | None = None
    token: str | None = None
    requested_datetime: datetime | None = None
    updated_datetime: datetime | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "RequestStatus":
        def when(v: Any) -> datetime | None:
            if not v:
                return None
            try:
                dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
            except ValueError:
                return None
            return dt if dt.tzinfo else None  # aware datetimes only
        return cls(service_request_id=str(d["service_request_id"]),
                   status=str(d.get("status") or "open").lower(),
                   status_notes=d.get("status_notes") or None, service_code=d.get("service_code") or None,
                   description=d.get("description") or None,
                   token=str(d["token"]) if d.get("token") else None,
                   requested_datetime=when(d.get("requested_datetime")),
                   updated_datetime=when(d.get("updated_datetime")))
