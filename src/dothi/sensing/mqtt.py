"""The MQTT edge adapter behind `dothi ingest-mqtt`: observations published to the broker in
`DOTHI_MQTT_URL` go through the same ingestion service as every other path
(`dothi.sensing.ingestion.ingest`).

Topics (the prefix is `dothi`, or DOTHI_MQTT_TOPIC_PREFIX):

- `dothi/<city>/<sensor>/<quantity>`: one reading. The payload is a number (`23.5`) or a JSON object
  `{"value": 23.5, "time": "2026-11-23T08:00:00+07:00"}`. Without a time, the time the ingester
  received the message is used (send the time: a reading without one is not idempotent when it is
  redelivered after a crash).
- `dothi/<city>/batch`: many readings, the bulk API's body `{"observations": [{"sensor", "quantity",
  "time", "value"}, …]}` (a bare JSON array is accepted too).

`<city>` is the city's slug. Observations are stored for the city's data source named `mqtt`
(created on first use), so rejections are counted there like on any path. Publishers are
authenticated and authorised by the broker (users, passwords or client certificates, and an ACL
letting each publisher write only under its own city's topics): see docs/deployment.md.

Delivery guarantees. The ingester subscribes with QoS 1 under a fixed client id (DOTHI_MQTT_CLIENT_ID)
in a persistent MQTT 5 session (clean start off, a session expiry of a week), so what is published
while it is down waits in the broker. Messages are acknowledged only after the transaction that stored
them committed (paho's manual acknowledgements): a crash between the two means the broker sends them
again, and ingestion is idempotent on (sensor, quantity, time), so nothing is lost and nothing is
counted twice. Bad payloads and bad items are rejected and counted by the ingestion service, then
acknowledged (they would be refused again).

Scaling out: run several ingesters, each with its own client id and the same DOTHI_MQTT_SHARE_GROUP;
they subscribe through an MQTT 5 shared subscription (`$share/<group>/…`) and the broker gives each
message to one of them.

Throughput. paho's network thread receives messages into a queue; the main thread takes up to
`max_messages` messages (or `max_items` observations), waiting at most `max_wait` seconds for more,
and stores them with one `ingest` call per city. MQTT 5's Receive Maximum lets the broker have that
many unacknowledged messages in flight to us (MQTT 3.1.1 brokers allow only about 20).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

SOURCE_NAME = "mqtt"
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
MAX_MESSAGES = 10000  # messages stored per call, at most (fewer calls: rollups are updated once a call)
MAX_ITEMS = 20000  # observations stored per call, at most (a batch message is never split)
MAX_WAIT = 0.05  # seconds to wait for more messages once one arrived
CITY_RETRY_SECONDS = 10.0  # an unknown city slug is looked up again after this long


class Broker(NamedTuple):
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_url(url: str) -> Broker:
    """`mqtt://[user[:password]@]host[:port]` (1883) or `mqtts://…` (TLS, 8883)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ValueError(f"Not an MQTT URL (mqtt://host:port or mqtts://host:port): {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    return Broker(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=urllib.parse.unquote(parts.username) if parts.username else None,
        password=urllib.parse.unquote(parts.password) if parts.password else None,
        tls=tls,
    )


class Received(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    qos: int
    at: datetime  # when the ingester received it (the time of a reading sent without one)
    generation: int  # the connection it arrived on: acknowledgements only go back on that one


def _number(payload: bytes) -> Any:
    """A bare payload: JSON (a number or an object), else a plain number such as `NaN`, else the text
    itself (which the ingestion service rejects as not a number)."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        text = payload.decode("utf-8", "replace").strip()
        try:
            return float(text)
        except ValueError:
            return text[:100]


def reading_item(sensor: str, quantity: str, payload: bytes, at: datetime) -> dict[str, Any]:
    """The observation of a single-reading message, as the ingestion service takes it."""
    body = _number(payload)
    if isinstance(body, dict):
        time_ = body.get("time", body.get("observedAt"))
        return {"sensor": sensor, "quantity": quantity, "value": body.get("value"),
                "time": at if time_ is None else time_}
    return {"sensor": sensor, "quantity": quantity, "value": body, "time": at}


def batch_items(payload: bytes) -> list[Any]:
    """The observations of a batch message; a payload that is not a batch becomes one invalid item, so
    the service rejects and counts it like any bad item."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        body = body.get("observations")
    if isinstance(body, list):
        return body
    return [{"invalid_batch": payload[:200].decode("utf-8", "replace")}]


@dataclass
class Stats:
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unknown_city: int = 0  # messages for a city slug that does not exist (logged, acknowledged)
    failed: int = 0  # messages the service failed on with an unexpected error (logged, acknowledged)
    batches: int = 0
    by_code: dict[str, int] = field(default_factory=dict)

    @property
    def observations(self) -> int:
        return self.accepted + self.duplicates + self.rejected


class Ingester:
    """Subscribes, batches and stores. `start()` connects and waits for the subscriptions, `run()`
    stores until `stop()` (from a signal handler or another thread), then disconnects cleanly."""

    def __init__(
        self, *, url: str | None = None, client_id: str | None = None, prefix: str | None = None,
        max_messages: int = MAX_MESSAGES, max_items: int = MAX_ITEMS, max_wait: float = MAX_WAIT,
        receive_maximum: int | None = None, session_expiry: int = SESSION_EXPIRY_SECONDS,
        share_group: str | None = None,
    ) -> None:
        self.broker = parse_url(url or settings.MQTT_URL)
        self.client_id = client_id or settings.MQTT_CLIENT_ID
        self.prefix = (prefix or settings.MQTT_TOPIC_PREFIX).strip("/")
        self.max_messages = max_messages
        self.max_items = max_items
        self.max_wait = max_wait
        self.receive_maximum = min(receive_maximum or 2 * max_messages, 65535)
        self.session_expiry = session_expiry
        # Several ingesters (each its own client id) share the stream through an MQTT 5 shared
        # subscription: the broker gives each message to one of them.
        self.share_group = settings.MQTT_SHARE_GROUP if share_group is None else share_group
        self.stats = Stats()
        self._queue: queue.SimpleQueue[Received] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._generation = 0
        self._cities: dict[str, tuple[Any, Any, float]] = {}  # slug → (city, source, looked up at)
        self._client = None
        self._last_log = time.monotonic()

    # --- The connection (paho's network thread) ------------------------------------------------------

    def topics(self) -> list[tuple[str, int]]:
        share = f"$share/{self.share_group}/" if self.share_group else ""
        return [(f"{share}{self.prefix}/+/+/+", 1), (f"{share}{self.prefix}/+/batch", 1)]

    def start(self, timeout: float = 10.0) -> None:
        """Connect and wait until the broker confirmed the subscriptions."""
        from paho.mqtt.client import CallbackAPIVersion, Client
        from paho.mqtt.enums import MQTTProtocolVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        client = Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        protocol=MQTTProtocolVersion.MQTTv5, manual_ack=True)
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 30)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry
        props.ReceiveMaximum = self.receive_maximum
        self._client = client
        client.connect(self.broker.host, self.broker.port, keepalive=30, clean_start=False, properties=props)
        client.loop_start()
        if not self._subscribed.wait(timeout):
            self._shutdown_client()
            raise ConnectionError(
                f"MQTT: no subscription confirmed by {self.broker.host}:{self.broker.port} "
                f"within {timeout:.0f} s"
            )

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            logger.error("MQTT: the broker refused the connection: %s", reason_code)
            return
        self._generation += 1
        if not flags.session_present:
            logger.info("MQTT: new session %r (nothing was waiting)", self.client_id)
        else:
            logger.info("MQTT: resumed session %r", self.client_id)
        client.subscribe(self.topics())

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            logger.error("MQTT: subscription refused (%s): check the broker's ACL", ", ".join(failed))
            return
        logger.info("MQTT: subscribed to %s", ", ".join(t for t, _ in self.topics()))
        self._subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if not self._stop.is_set():
            logger.warning("MQTT: disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        self._queue.put(Received(message.topic, message.payload, message.mid, message.qos,
                                 datetime.now(UTC), self._generation))

    def _shutdown_client(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    # --- Storing (the calling thread) ------------------------------------------------------------------

    def stop(self, *_args: Any) -> None:
        """Store and acknowledge what is being stored, then leave `run()` (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> Stats:
        try:
            while not self._stop.is_set():
                batch = self._collect()
                if batch:
                    self._store_until_done(batch)
                self._log_progress()
        finally:
            # Messages received but not stored stay unacknowledged: the broker sends them again.
            self._shutdown_client()
            connection.close()
            logger.info("MQTT: stopped; %s", self._summary())
        return self.stats

    def _collect(self) -> list[Received]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        items = 1
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_messages and items < self.max_items:
            try:
                message = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    message = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            batch.append(message)
            # A batch message counts by its size (about 60 bytes an observation) without parsing it twice.
            items += 1 if len(message.payload) < 200 else len(message.payload) // 60
        return batch

    def _store_until_done(self, batch: list[Received]) -> None:
        """Store the batch, retrying while the database is unreachable; nothing is acknowledged before
        the data are committed. On stop during an outage the batch is left unacknowledged."""
        delay = 0.5
        while True:
            try:
                self.store(batch)
                break
            except (OperationalError, InterfaceError) as exc:
                if self._stop.is_set():
                    logger.warning("MQTT: stopping with %d messages not stored (the broker keeps them)",
                                   len(batch))
                    return
                logger.warning("MQTT: the database failed (%s); retrying in %.0f s", exc, delay)
                connection.close()
                self._stop.wait(delay)
                delay = min(delay * 2, 30)
        self.acknowledge(batch)

    def acknowledge(self, batch: Sequence[Received]) -> None:
        client = self._client
        if client is None:
            return
        current = self._generation
        for message in batch:
            # A message received before a reconnection is sent again by the broker: acknowledging its
            # old packet id on the new connection could acknowledge another message.
            if message.qos and message.generation == current:
                client.ack(message.mid, message.qos)

    def _city(self, slug: str):
        from dothi.core.models import City
        from dothi.sensing.keys import source_get_or_create

        entry = self._cities.get(slug)
        if entry and (entry[0] is not None or time.monotonic() - entry[2] < CITY_RETRY_SECONDS):
            return entry[0], entry[1]
        city = City.objects.filter(slug=slug).first()
        source = None
        if city is not None:
            source = source_get_or_create(city=city, name=SOURCE_NAME,
                                          description="MQTT broker (dothi ingest-mqtt)")
        self._cities[slug] = (city, source, time.monotonic())
        return city, source

    def items(self, batch: Sequence[Received]) -> dict[str, list[Any]]:
        """The batch's observations by city slug, in message order."""
        groups: dict[str, list[Any]] = {}
        depth = self.prefix.count("/") + 1
        for message in batch:
            levels = message.topic.split("/")[depth:]
            if len(levels) == 3:
                slug, sensor, quantity = levels
                item = reading_item(sensor, quantity, message.payload, message.at)
                groups.setdefault(slug, []).append(item)
            elif len(levels) == 2 and levels[1] == "batch":
                groups.setdefault(levels[0], []).extend(batch_items(message.payload))
            else:  # not one of our topics (a broker bridging more than we subscribed to)
                logger.warning("MQTT: ignoring a message on %r", message.topic)
        return groups

    def store(self, batch: Sequence[Received]) -> None:
        """Store one batch: one ingestion call (one transaction) per city."""
        from dothi.sensing.ingestion import ingest

        self.stats.messages += len(batch)
        self.stats.batches += 1
        for slug, items in self.items(batch).items():
            city, source = self._city(slug)
            if city is None:
                self.stats.unknown_city += len(items)
                logger.warning("MQTT: %d observation(s) for an unknown city %r were dropped",
                               len(items), slug)
                continue
            try:
                result = ingest(city=city, source=source, items=items)
            except (OperationalError, InterfaceError):
                raise  # a passing outage: the caller retries the whole batch
            except Exception:
                # Not an outage: store the observations one by one so one cannot block the stream.
                logger.exception("MQTT: storing %d observations for %s failed; storing one by one",
                                 len(items), slug)
                self._store_one_by_one(city, source, items)
                continue
            self._count(result)

    def _store_one_by_one(self, city, source, items: list[Any]) -> None:
        from dothi.sensing.ingestion import ingest

        for item in items:
            try:
                self._count(ingest(city=city, source=source, items=[item]))
            except (OperationalError, InterfaceError):
                raise
            except Exception:
                self.stats.failed += 1
                logger.exception("MQTT: could not store %r; dropped", item)

    def _count(self, result) -> None:
        self.stats.accepted += result.accepted
        self.stats.duplicates += result.duplicates
        self.stats.rejected += len(result.rejected)
        for rejection in result.rejected:
            self.stats.by_code[rejection.code] = self.stats.by_code.get(rejection.code, 0) + 1

    def _summary(self) -> str:
        s = self.stats
        return (f"{s.messages:,} messages, {s.accepted:,} stored, {s.duplicates:,} already stored, "
                f"{s.rejected:,} rejected, {s.unknown_city:,} for unknown cities")

    def _log_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_log >= 60:
            self._last_log = now
            logger.info("MQTT: %s", self._summary())
