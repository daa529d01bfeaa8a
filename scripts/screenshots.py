"""Screenshots of every page of the web UI, for the docs: `make screenshots` (or
`python scripts/screenshots.py [--out docs/screenshots]`).

Builds the demo store (Scenario 1 replayed with its deployment markers, as `make demo` does) in a temporary
folder, serves it with the real app on a free local port, and drives Debian's Chromium (Playwright, no browser
download) over health, incidents, incident, dataset, evidence browser, evidence, lineage and notices. Each
page is one 1366x768 PNG (the viewport, not the whole page), overwritten in place.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import uvicorn
from playwright.sync_api import Page, sync_playwright

from signal_factory.api.app import create_app
from signal_factory.api.server import ApiServer
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.sql.database import open_store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "orders"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
URN = "urn:dp:orders:created"


def build_store(db: Path) -> str:
    """Scenario 1 replayed into a SQLite file; returns the id of the first MISSING_FIELD:customer_id evidence."""
    cp = load_control_plane(EXAMPLE)
    store = open_store(f"sqlite:///{db}")
    try:
        ReplayService(cp, store, Enforcer(cp)).replay([EXAMPLE / "scenario1" / "traffic.jsonl"],
                                                      deployments=[EXAMPLE / "scenario1" / "deployments.jsonl"])
        return store.evidence.by_signature("MISSING_FIELD:customer_id", dataset_urn=URN, limit=1)[0].evidence_id
    finally:
        store.close()


def serve(db: Path, home: Path) -> tuple[ApiServer, threading.Thread, str]:
    app = create_app(EXAMPLE, f"sqlite:///{db}", home=home)
    server = ApiServer(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the API server did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{server.port}"


def pages(evidence_id: str) -> list[tuple[str, str]]:
    """(file name, path) of each page, in the README tour's order."""
    return [
        ("health", "/"),
        ("incidents", "/incidents"),
        ("incident", "/incidents/INC-1"),
        ("dataset", f"/datasets/{quote(URN, safe='')}"),
        ("evidence-browser", f"/evidence?dataset={quote(URN, safe='')}&result=FAIL"),
        ("evidence", f"/evidence/{evidence_id}"),
        ("lineage", "/lineage"),
        ("notices", "/notices"),
    ]


def shoot(page: Page, base: str, path: str, out: Path) -> None:
    page.goto(base + path)
    page.wait_for_selector("#view[data-ready='true']")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # let the layout (graphs, charts) settle
    page.screenshot(path=str(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNG files")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"Chromium is not at {CHROMIUM}: run scripts/ensure-chromium.sh", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sf-shots-") as tmp:
        db = Path(tmp) / "demo.db"
        evidence_id = build_store(db)
        server, thread, base = serve(db, Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                for name, path in pages(evidence_id):
                    target = args.out / f"{name}.png"
                    shoot(page, base, path, target)
                    print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  <- {path}")
                browser.close()
        finally:
            server.should_exit = True
            thread.join(15)
    if errors:
        print(f"page errors: {errors}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
