"""Run by test_delivery: delivers one ticket and dies with SIGKILL right before or right after the POST."""

import os
import signal
import sys

from civic_signal.sinks.archive import Archive
from civic_signal.sinks.open311.client import Open311Client
from civic_signal.sinks.open311.delivery import DeliveryWorker


class KillingClient(Open311Client):
    def __init__(self, *a, when: str, **kw):
        super().__init__(*a, **kw)
        self.when = when

    def create(self, req):
        if self.when == "before_post":
            os.kill(os.getpid(), signal.SIGKILL)
        receipt = super().create(req)
        os.kill(os.getpid(), signal.SIGKILL)  # the endpoint has it; our commit never happens
        return receipt


if __name__ == "__main__":
    db_url, base_url, api_key, ticket, when = sys.argv[1:6]
    worker = DeliveryWorker(Archive(db_url), KillingClient(base_url, api_key=api_key, timeout_s=5, when=when))
    worker.deliver_one(ticket)
    sys.exit(3)  # never reached
