"""``python -m server run``, with ledgersync's Xero limiter on the sandbox's clock (forwarding scenario).

The sandbox runs Xero's limits on a scaled clock (``--time-scale 60``: a Xero minute per second);
ledgersync's own limiter counts real minutes and would pace at 1/60 of what the sandbox allows.
This runs the same app as ``python -m server run`` with one change: the limiter's minute is
``60 / LEDGERSYNC_BENCH_TIME_SCALE`` seconds. Nothing else differs.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from server.app import create_app
from server.http.services import services_of
from server.settings import Settings
from server.xero.rate_limit import Limiters, LimitPolicy


def main() -> int:
    settings = Settings.from_env()
    scale = float(os.environ.get("LEDGERSYNC_BENCH_TIME_SCALE", "1"))
    app = create_app(settings)
    services_of(app.state).xero.limiters = Limiters(
        LimitPolicy(minute=60.0 / scale, daily_reserve=settings.xero_daily_reserve)
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
