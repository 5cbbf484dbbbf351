"""Runs localstripe (a fake, stateful Stripe server) on 127.0.0.1 only.

The localstripe command binds every interface; the tests need loopback.
Usage: python scripts/run_localstripe.py PORT (not named localstripe.py, which would shadow the package)
"""
import sys

from aiohttp import web
from localstripe.server import app

web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
