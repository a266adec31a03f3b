"""Where the charts are, and which ones the generator writes for."""

from __future__ import annotations

from pathlib import Path

CHARTS = Path(__file__).resolve().parents[2]
SERVICE_CHARTS = ("api", "web", "worker")
ALL_CHARTS = (*SERVICE_CHARTS, "docket")
