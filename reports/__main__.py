"""`python -m reports runs/ --out report/`: see reports/cli.py."""
import sys

from reports.cli import run_cli

sys.exit(run_cli())
