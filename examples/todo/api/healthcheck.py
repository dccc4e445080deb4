"""Exits 0 when the API answers /health on its port."""
import os
import sys
import urllib.request

try:
    with urllib.request.urlopen(f"http://127.0.0.1:{os.environ['PORT']}/health", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:  # noqa: BLE001 - any failure is unhealthy
    sys.exit(1)
