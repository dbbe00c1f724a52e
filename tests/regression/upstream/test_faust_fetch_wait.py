"""faust-streaming: the aiokafka consumer of a worker is built with ``fetch_max_wait_ms=1500``.

No Faust setting changes it (``AIOKafkaConsumerThread._create_worker_consumer``). Worked around by
``streams.runtime.app._ConsumerThread`` (row "fetch wait" in ``streams/runtime/README.md``).
"""

from __future__ import annotations

import faust


async def test_the_worker_consumer_waits_up_to_1500_ms_for_a_fetch(stock_app: faust.App) -> None:
    thread = stock_app.consumer._thread
    consumer = thread._create_worker_consumer(stock_app.transport)
    try:
        assert consumer._fetch_max_wait_ms == 1500, "Faust no longer hard-codes the fetch wait"
    finally:
        await consumer.stop()  # never started: only releases what the constructor holds
