"""A rep's phone lookup while heavy work runs: ``python -m bench.responsiveness --count 100000``.

Measured through the service layer on the event loop (not through the Bot API fake): a lookup is
``CustomerService.search`` for a customer's phone, every 20 ms, timed from the moment it was due, so time spent
waiting for the loop counts. Phases, in one run on one SQLite database of COUNT customers:
idle (the baseline), during an export of every customer (CSV) and an import of COUNT new rows running together,
and during an import attempt of a zip bomb (an XLSX of ~1 MB holding 300 MB of shared strings). Targets: p95
≤ 2× idle and max ≤ 1 s while exporting and importing. Also printed: this process's peak RSS and the peak RSS of
the child processes that parsed spreadsheets.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import sys
import tempfile
import time
import zipfile
from collections.abc import Awaitable, Sequence
from pathlib import Path

from bench.data import customer_table, customers, fresh_engine
from bench.search import Team, _ms, _team
from storage.customers.spreadsheets import write_csv, write_xlsx


async def _lookups(team: Team, phones: Sequence[str], until: asyncio.Future[None] | None, count: int = 0
                   ) -> list[float]:
    samples: list[float] = []
    rep = team.admin
    index = 0
    due = time.perf_counter()
    while (until is not None and not until.done()) or (until is None and len(samples) < count):
        due += 0.02
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        start = min(due, time.perf_counter())
        await team.services.customers.customers.search(rep, phones[index % len(phones)])
        samples.append(time.perf_counter() - start)
        index += 1
    return samples


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(write_xlsx(["Name"], [["x"]]))) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, src.read(item.filename))
        with dst.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            block = b"<si><t>a</t></si>" * 65_536
            for _ in range(300 * 1024 * 1024 // len(block)):
                part.write(block)
    return out.getvalue()


def _line(label: str, samples: Sequence[float], idle: Sequence[float] | None) -> None:
    p50, p95, top = _ms(samples)
    ratio = f"   p95 {p95 / _ms(idle)[1]:.1f}× idle" if idle else ""
    print(f"  {label:<28} n={len(samples):5d}  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {top:7.1f} ms{ratio}")


async def _during(team: Team, phones: Sequence[str], work: Awaitable[object]) -> list[float]:
    task: asyncio.Future[None] = asyncio.ensure_future(work)  # type: ignore[arg-type]
    samples = await _lookups(team, phones, task)
    try:
        task.result()
    except Exception as exc:  # the bomb is refused: that is the point
        print(f"  (refused: {getattr(exc, 'key', exc)})")
    return samples


async def run(count: int, folder: Path, *, separately: bool = False) -> None:
    engine = await fresh_engine(f"sqlite+aiosqlite:///{folder}/responsiveness.db")
    team = await _team(engine, 4)
    owners = [team.admin.name, *(r.name for r in team.reps)]
    data = customers(count, owners=owners, seed=1)
    sheet = customer_table(data)
    importing = team.services.customers.importing
    await importing.import_file(team.admin, write_csv(sheet[0], sheet[1:]), "seed.csv", skip_invalid=True)
    phones = [c.phones[0] for c in data[:500] if c.phones]
    more = customer_table(customers(count, owners=owners, seed=2))
    more_csv = write_csv(more[0], more[1:])
    print(f"sqlite, {count:,} customers; phone lookups every 20 ms through CustomerService.search; "
          f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    idle = await _lookups(team, phones, None, 300)
    _line("idle", idle, None)

    if separately:
        exported = await _during(team, phones, team.services.customers.exporting.export(
            team.admin, "csv", lambda key: key))
        _line("export alone", exported, idle)
        checked = await _during(team, phones, importing.plan_file(team.admin, more_csv, "more.csv"))
        _line("import check alone (dry run)", checked, idle)
        third = customer_table(customers(count, owners=owners, seed=3))
        imported = await _during(team, phones, importing.import_file(
            team.admin, write_csv(third[0], third[1:]), "third.csv", skip_invalid=True))
        _line("import alone", imported, idle)

    async def heavy() -> None:
        await asyncio.gather(team.services.customers.exporting.export(team.admin, "csv", lambda key: key),
                             importing.import_file(team.admin, more_csv, "more.csv", skip_invalid=True))

    started = time.perf_counter()
    busy = await _during(team, phones, heavy())
    print(f"  (export + import of {count:,} rows took {time.perf_counter() - started:.1f} s)")
    _line("export + import", busy, idle)
    bomb = _bomb()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    attacked = await _during(team, phones, importing.plan_file(team.admin, bomb, "bomb.xlsx"))
    _line(f"bomb import ({len(bomb) / 1e6:.1f} MB file)", attacked, idle)
    print(f"  peak RSS: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
          f"({before:.0f} before the bomb), spreadsheet children "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")
    print(f"  machine load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine inflates "
          "every figure, the idle one included)")
    await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--separately", action="store_true",
                        help="also measure during the export alone and the import's dry run alone")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args.count, Path(folder), separately=args.separately))
    return 0


if __name__ == "__main__":
    sys.exit(main())
