"""`dothi simulate-sensors --city SLUG`: plausible live readings for a city's sensors (see
dothi.sensing.simulate), published over MQTT or stored directly through the ingestion service."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dothi.core.management.commands._ui import progress_bar


class Command(BaseCommand):
    help = (
        "Send plausible readings for a city's sensors: daily cycles, a rain storm (--storm) raising rainfall "
        "and then the water levels, a flood (--flood). Over MQTT (--mqtt, the default when DOTHI_MQTT_URL is "
        "set; `dothi ingest-mqtt` stores them) or straight into the database (--direct)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--city", required=True, help="the city's slug")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--mqtt", action="store_true", help="publish to the broker (DOTHI_MQTT_URL)")
        mode.add_argument("--direct", action="store_true", help="store through the ingestion service")
        parser.add_argument("--storm", action="store_true", help="a rain storm, then rising water levels")
        parser.add_argument("--flood", action="store_true", help="a flood at about half of the water sensors")
        parser.add_argument("--duration", type=float, default=None,
                            help="seconds to run (default: until Ctrl-C)")
        parser.add_argument("--rate", type=float, default=None,
                            help="readings per second, all sensors together (default: each sensor and "
                                 "quantity every 10 s)")
        parser.add_argument("--event-minutes", type=float, default=None,
                            help="how long the storm lasts on the simulation's clock (default: the "
                                 "duration, or 10 minutes)")
        parser.add_argument("--url", default=None, help="broker URL (default: DOTHI_MQTT_URL)")
        parser.add_argument("--prefix", default=None, help="topic prefix (default: DOTHI_MQTT_TOPIC_PREFIX)")
        parser.add_argument("--seed", type=int, default=0, help="random seed for the noise")

    def handle(self, *, city, mqtt, direct, storm, flood, duration, rate, event_minutes, url, prefix, seed,
               **options) -> None:
        from dothi.core.models import City
        from dothi.sensing import catalogue
        from dothi.sensing.simulate import Model, Scenario

        the_city = City.objects.filter(slug=city).first()
        if the_city is None:
            raise CommandError(f"There is no city {city!r}.")
        if duration is not None and duration <= 0 or rate is not None and rate <= 0:
            raise CommandError("--duration and --rate must be positive.")
        use_mqtt = mqtt or (not direct and bool(os.environ.get("DOTHI_MQTT_URL")))
        cat = catalogue.for_city(the_city)
        pairs = sorted(
            (sensor, quantity, cat.quantities_by_id[qid].min_value, cat.quantities_by_id[qid].max_value)
            for (sensor, quantity), (_sid, qid, _low, _high) in cat.pairs.items()
            if cat.sensors[sensor].kind != "camera"
        )
        if not pairs:
            raise CommandError(f"{the_city.slug} has no sensors to simulate (register some, or seed the "
                               "demo).")
        rate = rate or len(pairs) / 10.0
        period = len(pairs) / rate  # seconds between two readings of one sensor and quantity
        event_seconds = (event_minutes * 60) if event_minutes else (duration or 600.0)
        scenario = Scenario(storm=storm, flood=flood)
        model = Model(the_city.time_zone, scenario, seed=seed)
        sink = _MqttSink(the_city.slug, url, prefix) if use_mqtt else _DirectSink(the_city)
        stop = threading.Event()
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, lambda *_a: stop.set()) for sig in signals}
        events = " and".join(name for name, on in ((" a storm", storm), (" a flood", flood)) if on)
        events = f" with{events}" if events else ""
        self.stdout.write(
            f"Simulating {len(pairs):,} readings of {len({p[0] for p in pairs}):,} sensors in {the_city.slug}"
            f"{events}, {rate:,.0f}/s (each every {period:.1f} s), {sink.describe()}"
            + (f", for {duration:.0f} s" if duration else "; Ctrl-C to stop")
        )
        total = int(round(duration * rate)) if duration else None
        sent = 0
        started = time.monotonic()
        last_report = started
        try:
            with progress_bar("Readings", self.stdout._out if total else None) as progress:
                while not stop.is_set():
                    now_m = time.monotonic()
                    if duration and now_m - started >= duration:
                        break
                    # Spread one round of all pairs over `period`: chunks every 0.2 s at most.
                    chunk = max(1, min(len(pairs), int(rate * 0.2) or 1))
                    for start in range(0, len(pairs), chunk):
                        if stop.is_set() or (duration and time.monotonic() - started >= duration):
                            break
                        if total is not None and sent >= total:
                            break
                        batch = pairs[start:start + chunk]
                        if total is not None:
                            batch = batch[: total - sent]
                        when = datetime.now(UTC)
                        readings = []
                        for sensor, quantity, low, high in batch:
                            value = model.value(sensor, quantity, when, period, low, high)
                            if value is not None:
                                readings.append((sensor, quantity, when, round(value, 3)))
                        sink.send(readings)
                        sent += len(batch)
                        scenario.advance(len(batch) / rate / event_seconds)
                        if progress:
                            progress(sent, total)
                        elif time.monotonic() - last_report >= 60:
                            last_report = time.monotonic()
                            self.stdout.write(f"{sent:,} readings sent")
                        # Keep to the rate: wait until this chunk's share of time has passed.
                        due = started + sent / rate
                        delay = due - time.monotonic()
                        if delay > 0:
                            stop.wait(delay)
                    if total is not None and sent >= total:
                        break
        finally:
            sink.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"Sent {sent:,} readings in {time.monotonic() - started:.1f} s. {sink.summary()}")


class _DirectSink:
    """Stores through the ingestion service, as the city's data source `simulator`."""

    def __init__(self, city) -> None:
        from dothi.sensing.keys import source_get_or_create

        self.city = city
        self.source = source_get_or_create(city=city, name="simulator",
                                           description="dothi simulate-sensors --direct")
        self.accepted = self.rejected = 0

    def describe(self) -> str:
        return "stored directly"

    def send(self, readings) -> None:
        from dothi.sensing.ingestion import ingest

        if readings:
            result = ingest(city=self.city, source=self.source, items=readings)
            self.accepted += result.accepted
            self.rejected += len(result.rejected)

    def summary(self) -> str:
        return f"Stored {self.accepted:,}, rejected {self.rejected:,}."

    def close(self) -> None:
        pass


class _MqttSink:
    """Publishes each reading to <prefix>/<city>/<sensor>/<quantity> with QoS 1, as devices do."""

    def __init__(self, slug: str, url: str | None, prefix: str | None) -> None:
        from paho.mqtt.client import CallbackAPIVersion, Client

        from dothi.sensing.mqtt import parse_url

        self.broker = parse_url(url or settings.MQTT_URL)
        self.base = f"{(prefix or settings.MQTT_TOPIC_PREFIX).strip('/')}/{slug}"
        self.client = Client(CallbackAPIVersion.VERSION2, client_id=f"dothi-simulator-{os.getpid()}")
        if self.broker.username:
            self.client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            self.client.tls_set()
        # paho loses QoS 1 messages past 65,535 unacknowledged: wait for each chunk before the next.
        self.client.max_inflight_messages_set(1000)
        try:
            self.client.connect(self.broker.host, self.broker.port)
        except OSError as exc:
            raise CommandError(f"Cannot reach the MQTT broker at {self.broker.host}:{self.broker.port}: "
                               f"{exc}") from exc
        self.client.loop_start()
        self.published = 0

    def describe(self) -> str:
        return f"published to mqtt://{self.broker.host}:{self.broker.port}/{self.base}/…"

    def send(self, readings) -> None:
        import orjson

        infos = [
            self.client.publish(f"{self.base}/{sensor}/{quantity}",
                                orjson.dumps({"value": value, "time": when.isoformat()}), qos=1)
            for sensor, quantity, when, value in readings
        ]
        for info in infos:
            info.wait_for_publish(30)
        self.published += len(infos)

    def summary(self) -> str:
        return (f"Published {self.published:,}, each acknowledged by the broker "
                "(`dothi ingest-mqtt` stores them).")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
