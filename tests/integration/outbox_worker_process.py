"""A dispatcher in its own process, for the crash test: ``python -m tests.integration.outbox_worker_process``.

It sends SMS from the outbox of a database through the Twilio adapter to a (local) Twilio-compatible server until
it is killed. The crash test kills it with SIGKILL mid-campaign and starts another one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta

from crm.core.clock import SystemClock
from outbound.dispatch import ChannelAdapters, ChannelLimit, Dispatcher
from outbound.sms_twilio import TwilioSmsSender
from storage.engine import create_engine
from storage.uow import SqlUnitOfWorkFactory


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--twilio", required=True)
    parser.add_argument("--sid", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--lease", type=float, default=2)
    args = parser.parse_args(argv)

    engine = create_engine(args.db)
    clock = SystemClock()
    sender = TwilioSmsSender(account_sid=args.sid, auth_token=args.token, from_number="+15005550006",
                             api_base_url=args.twilio, timeout=5)
    from crm.messaging.outbox import OutboxChannel

    dispatcher = Dispatcher(SqlUnitOfWorkFactory(engine, clock), clock, ChannelAdapters(sms=sender),
                            limits={OutboxChannel.SMS: ChannelLimit(args.rate, args.concurrency)},
                            lease=timedelta(seconds=args.lease))
    print("ready", flush=True)
    while True:
        if await dispatcher.run_once(budget=1.0) == 0:
            await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
