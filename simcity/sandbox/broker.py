"""A small in-process MQTT 3.1.1 broker for the simulated city (asyncio, pure Python).

The run command must work without system packages, so the sandbox brings its own broker
unless given one (``--mqtt-url``, e.g. Mosquitto, which the tests use). It implements what
telemetry needs: CONNECT with a last will, PUBLISH at QoS 0 and 1 (delivered at QoS 0),
retained messages, SUBSCRIBE / UNSUBSCRIBE with ``+`` and ``#`` wildcards (``$`` topics are
not matched by a leading wildcard), PINGREQ and DISCONNECT. No persistence, no auth, no
QoS 2, loopback only.

Why not amqtt: amqtt 0.12.1 (the newest on the index) was tried in this broker's place and
fails the sandbox. On every CONNECT it replays the retained messages matching *every*
client's subscriptions (``Broker._handle_client_session`` loops over the broker-wide
``self._subscriptions``), so a client subscribed to ``b/#`` also gets ``a/1`` retained for
another client, and a pull received a ``$status`` message ("online") as a telemetry row. The
same loop awaits while other sessions are cleaned up, raising "RuntimeError: dictionary
changed size during iteration" in ``client_connected_cb`` and dropping the connection
(aiomqtt: "Unexpected disconnection"). Under ``cityhub sync`` of the 28 systems:
vehicle-gps, pump-gate-scada and muck-gps down; tank-sensors 1 row of 18,000 (reported ok).
amqtt 0.11.1 has no replay bug but sends the first of 18,000 retained messages 3.5 s after
the SUBSCRIBE (this broker: 0.16 s), past the transport's 1 s quiet window, the likely cause
of its sync's tank-sensors 0 of 18,000 and warehouse-iot 118 of 4,000 rows, reported ok; and
it pins typer==0.15.4 and websockets==15.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field


def matches(topic_filter: str, topic: str) -> bool:
    f_parts, t_parts = topic_filter.split("/"), topic.split("/")
    if topic.startswith("$") and f_parts[0] in ("+", "#"):
        return False
    for i, part in enumerate(f_parts):
        if part == "#":
            return True
        if i >= len(t_parts) or (part != "+" and part != t_parts[i]):
            return False
    return len(f_parts) == len(t_parts)


def _str(data: bytes, at: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("!H", data, at)
    return data[at + 2 : at + 2 + n].decode("utf-8"), at + 2 + n


def _bin(data: bytes, at: int) -> tuple[bytes, int]:
    (n,) = struct.unpack_from("!H", data, at)
    return data[at + 2 : at + 2 + n], at + 2 + n


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_packet(topic: str, payload: bytes, retain: bool) -> bytes:
    name = topic.encode()
    body = struct.pack("!H", len(name)) + name + payload
    return bytes([0x30 | (1 if retain else 0)]) + _length(len(body)) + body


@dataclass(eq=False)
class _Session:
    writer: asyncio.StreamWriter
    filters: set[str] = field(default_factory=set)
    will: tuple[str, bytes, bool] | None = None
    pending: int = 0

    def send(self, packet: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(packet)
            self.pending += len(packet)


class MqttBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.retained: dict[str, bytes] = {}
        self.sessions: set[_Session] = set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> MqttBroker:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for session in list(self.sessions):
                session.writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _publish(self, topic: str, payload: bytes, retain: bool) -> None:
        if retain:
            if payload:
                self.retained[topic] = payload
            else:
                self.retained.pop(topic, None)
        packet = publish_packet(topic, payload, False)
        for session in list(self.sessions):
            if any(matches(f, topic) for f in session.filters):
                session.send(packet)
                await self._flow(session)

    @staticmethod
    async def _flow(session: _Session) -> None:
        if session.pending > 256 * 1024:
            session.pending = 0
            with contextlib.suppress(ConnectionError):
                await session.writer.drain()

    async def _read_packet(self, reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
        head = (await reader.readexactly(1))[0]
        length, shift = 0, 0
        while True:
            byte = (await reader.readexactly(1))[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return head >> 4, head & 0x0F, await reader.readexactly(length)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(writer)
        clean = False
        try:
            kind, _, data = await self._read_packet(reader)
            if kind != 1:
                return
            _, at = _str(data, 0)
            flags = data[at + 1]
            at += 4
            _, at = _str(data, at)  # client id
            if flags & 0x04:
                will_topic, at = _str(data, at)
                will_message, at = _bin(data, at)
                session.will = (will_topic, will_message, bool(flags & 0x20))
            writer.write(b"\x20\x02\x00\x00")
            self.sessions.add(session)
            while True:
                kind, flags, data = await self._read_packet(reader)
                if kind == 3:  # PUBLISH
                    topic, at = _str(data, 0)
                    qos = (flags >> 1) & 0x03
                    if qos:
                        writer.write(b"\x40\x02" + data[at : at + 2])
                        at += 2
                    await self._publish(topic, data[at:], bool(flags & 0x01))
                elif kind == 8:  # SUBSCRIBE
                    pid, at, granted, new = data[:2], 2, bytearray(), []
                    while at < len(data):
                        topic_filter, at = _str(data, at)
                        granted.append(min(data[at], 1))
                        at += 1
                        session.filters.add(topic_filter)
                        new.append(topic_filter)
                    writer.write(b"\x90" + _length(2 + len(granted)) + pid + bytes(granted))
                    for topic, payload in list(self.retained.items()):
                        if any(matches(f, topic) for f in new):
                            session.send(publish_packet(topic, payload, True))
                            await self._flow(session)
                elif kind == 10:  # UNSUBSCRIBE
                    at = 2
                    while at < len(data):
                        topic_filter, at = _str(data, at)
                        session.filters.discard(topic_filter)
                    writer.write(b"\xb0\x02" + data[:2])
                elif kind == 12:  # PINGREQ
                    writer.write(b"\xd0\x00")
                elif kind == 14:  # DISCONNECT
                    clean = True
                    return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, struct.error, UnicodeDecodeError):
            pass
        finally:
            self.sessions.discard(session)
            if not clean and session.will is not None:
                await self._publish(*session.will)
            writer.close()
