"""Autogenerate an Alembic migration against a scratch SQLite database.

    .venv/bin/python scripts/new_migration.py "add incidents" 0002_incidents [--head 0001_base]

The scratch database is first upgraded to all heads, so the new revision holds only what
the models added since. Check the generated file before committing it.
"""

import argparse
import tempfile

from alembic import command
from alembic.config import Config

parser = argparse.ArgumentParser()
parser.add_argument("message")
parser.add_argument("rev_id")
parser.add_argument("--head", default=None, help="revision to branch from (default: the single head)")
args = parser.parse_args()

with tempfile.TemporaryDirectory() as tmp:
    cfg = Config()
    cfg.set_main_option("script_location", "civic_signal/sinks/archive/migrations")
    cfg.attributes["connection_url"] = f"sqlite:///{tmp}/scratch.db"
    command.upgrade(cfg, "heads")
    command.revision(cfg, message=args.message, autogenerate=True, rev_id=args.rev_id, head=args.head or "head")
