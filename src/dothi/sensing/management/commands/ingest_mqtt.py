"""`dothi ingest-mqtt`: store the observations published to the MQTT broker (see dothi.sensing.mqtt)."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand, CommandError

from dothi.sensing import mqtt


class Command(BaseCommand):
    help = (
        "Subscribe to the MQTT broker in DOTHI_MQTT_URL (QoS 1, persistent session) and store the readings "
        "published to <prefix>/<city>/<sensor>/<quantity> and <prefix>/<city>/batch, acknowledging each "
        "message once it is stored. Stops cleanly on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default=None, help="broker URL (default: DOTHI_MQTT_URL)")
        parser.add_argument("--client-id", default=None,
                            help="the persistent session's client id (default: DOTHI_MQTT_CLIENT_ID)")
        parser.add_argument("--prefix", default=None, help="topic prefix (default: DOTHI_MQTT_TOPIC_PREFIX)")
        parser.add_argument("--share-group", default=None,
                            help="share the stream with the ingesters of this group (default: "
                                 "DOTHI_MQTT_SHARE_GROUP)")
        parser.add_argument("--max-messages", type=int, default=mqtt.MAX_MESSAGES,
                            help="messages stored together, at most (default: %(default)s)")
        parser.add_argument("--max-wait", type=float, default=mqtt.MAX_WAIT,
                            help="seconds to wait for more messages before storing (default: %(default)s)")

    def handle(self, *, url, client_id, prefix, share_group, max_messages, max_wait, **options) -> None:
        if max_messages < 1 or max_wait < 0:
            raise CommandError("--max-messages must be at least 1 and --max-wait not negative.")
        try:
            ingester = mqtt.Ingester(url=url, client_id=client_id, prefix=prefix, max_messages=max_messages,
                                     max_wait=max_wait, share_group=share_group)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        signal.signal(signal.SIGTERM, ingester.stop)
        signal.signal(signal.SIGINT, ingester.stop)
        broker = ingester.broker
        try:
            ingester.start()
        except (OSError, ConnectionError) as exc:
            raise CommandError(f"Cannot reach the MQTT broker at {broker.host}:{broker.port}: {exc}") from exc
        self.stdout.write(
            f"Ingesting from mqtt{'s' if broker.tls else ''}://{broker.host}:{broker.port} as "
            f"{ingester.client_id!r}: {', '.join(t for t, _q in ingester.topics())}"
        )
        stats = ingester.run()
        self.stdout.write(
            f"Stopped: {stats.messages:,} messages, {stats.accepted:,} observations stored, "
            f"{stats.duplicates:,} already stored, {stats.rejected:,} rejected."
        )
