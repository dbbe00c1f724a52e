"""Durable embedded mode: every acknowledged message survives a restart; nothing is left running."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ops.broker import BrokerError
from ops.durable import DurableBroker
from tests.ports import child_port
from tests.proc_tree import alive, descendants

pytestmark = pytest.mark.kafka

COUNT = 2000


async def _produce(bootstrap: str, topic: str, count: int, start: int = 0) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        if topic not in await admin.list_topics():
            await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        await producer.start()
        acks = [
            await producer.send(topic, f"m{i}".encode(), key=str(i).encode())
            for i in range(start, start + count)
        ]
        await asyncio.gather(*acks)  # every message acknowledged before we stop anything
    finally:
        await producer.stop()


async def _consume_all(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    values: list[bytes] = []
    try:
        await consumer.start()
        deadline = time.monotonic() + 30
        while len(values) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            values += [m.value for msgs in batch.values() for m in msgs if m.value is not None]
    finally:
        await consumer.stop()
    return values


async def test_messages_survive_a_full_restart_and_a_broker_kill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    durable = DurableBroker(data_dir=data)
    durable.start()
    try:
        await _produce(durable.bootstrap, "durable", COUNT)
    finally:
        durable.stop()
    pids = (durable.s3.pid, durable.broker.pid)
    assert pids == (None, None)

    again = DurableBroker(data_dir=data)
    again.start()
    try:
        s3_pid, broker_pid = again.s3.pid, again.broker.pid
        values = await _consume_all(again.bootstrap, "durable", COUNT)
        assert sorted(values) == sorted(f"m{i}".encode() for i in range(COUNT))
        # kill -9 of the broker alone: what it acknowledged is in S3 already
        await _produce(again.bootstrap, "durable", 500, start=COUNT)
        again.kill_broker()
        assert not alive(broker_pid)
        again.start_broker()
        values = await _consume_all(again.bootstrap, "durable", COUNT + 500)
        assert len(values) == COUNT + 500 and len(set(values)) == COUNT + 500
    finally:
        again.stop()
    assert not alive(s3_pid) and not alive(broker_pid)


def test_a_data_directory_serves_one_bus_at_a_time(tmp_path: Path) -> None:
    first = DurableBroker(data_dir=tmp_path)
    first.start()
    try:
        with pytest.raises(BrokerError, match="in use by another oppbus"):
            DurableBroker(data_dir=tmp_path).start()
    finally:
        first.stop()


class _Up:
    """``oppbus up --data`` as a child; its output (stdout and stderr) collected line by line."""

    def __init__(self, data: Path, http_port: int, broker_port: int) -> None:
        self.data = data
        argv = ["up", "--data", str(data), "--http-port", str(http_port)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", *argv, "--broker-port", str(broker_port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("OPPBUS_")},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_ready(self, timeout: float = 120) -> None:
        """Until `up` says it is ready (broker, API and the worker's group all usable)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if "ready. Press Ctrl-C" in line:
                return
        raise AssertionError(
            f"oppbus up never ready; exit={self.proc.poll()}; {self.seen}{self._log_tails()}"
        )

    def _log_tails(self, lines: int = 30) -> str:
        """The end of each process log ``up`` keeps under the data dir: why a process exited."""
        tails = []
        for log in sorted((self.data / "logs").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"\n--- {log.name}\n" + "\n".join(text))
        return "".join(tails)

    def stop(self) -> str:
        """SIGTERM; asserts a clean exit; returns the whole output."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self._pump.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        while not self.lines.empty():
            line = self.lines.get_nowait()
            if line is not None:
                self.seen.append(line)
        out = "".join(self.seen)
        assert self.proc.returncode == 0, out
        return out


def test_oppbus_up_with_data_keeps_events_across_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "bus"
    http_port, broker_port = child_port(), child_port()
    bootstrap = f"127.0.0.1:{broker_port}"

    up = _Up(data, http_port, broker_port)
    try:
        up.wait_ready()
        children = descendants(up.proc.pid)
        asyncio.run(_produce(bootstrap, "kept", 300))
    finally:
        out = up.stop()
    assert f"durable mode: broker data kept in {data}" in out
    time.sleep(0.3)
    assert len(children) >= 4  # s3 server, broker, worker, api
    assert not [pid for pid in children if alive(pid)]

    up = _Up(data, http_port, broker_port)
    try:
        up.wait_ready()
        children = descendants(up.proc.pid)
        values = asyncio.run(_consume_all(bootstrap, "kept", 300))
    finally:
        up.stop()
    assert sorted(values) == sorted(f"m{i}".encode() for i in range(300))
    time.sleep(0.3)
    assert not [pid for pid in children if alive(pid)]
