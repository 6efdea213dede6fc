"""Booking engine under load: a month of availability for a 10-professional clinic, and bookings under contention.

    .venv/bin/python bench/booking_bench.py [--redis-url redis://127.0.0.1:6379/9] [--n 300] [--threads 16] [--processes 4]

A synthetic clinic (Europe/Madrid; by default the next month with a DST change, its Sunday worked by two professionals)
gets ~40 % of its capacity booked through BookingStore.create; availability is timed, then workers (threads sharing one
client, then processes with their own) race for hot and random slots and every busy zset is read back for overlaps.
"Now" is pinned to the day before the month. FLUSHES its Redis database at start and end.
"""
from __future__ import annotations

import argparse
import cProfile
import multiprocessing as mp
import os
import platform
import pstats
import random
import shlex
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.bookings.catalog import Catalog, CatalogStore, Professional, Service  # noqa: E402
from app.bookings.store import BookingError, BookingStore, Customer, SlotTaken  # noqa: E402
from app.storage.redis_store import TenantKeyspace, connect_redis  # noqa: E402
from app.tenancy.config import TenantConfig  # noqa: E402

PREFIX = "benchclinic:"
TZ = ZoneInfo("Europe/Madrid")
TARGET_P95_MS = 20.0
CUSTOMER = Customer("Cliente Bench", phone="+34600000000", email="bench@example.com")
# id, minutes, buffer before, buffer after
SERVICES = [("consulta", 30, 0, 0), ("limpieza", 45, 0, 10), ("botox", 30, 5, 10), ("laser", 60, 10, 15),
            ("peeling", 45, 0, 15), ("masaje", 60, 0, 0), ("fisio", 90, 0, 15), ("revision", 30, 0, 0)]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def make_store(redis_url: str, now: float):
    client = connect_redis(redis_url, ROOT)
    keyspace = TenantKeyspace(client, PREFIX)
    config = TenantConfig.model_validate({
        "company_id": "benchclinic", "company_name": "Bench Clinic", "redis_prefix": PREFIX,
        "vectorstore_index": "benchclinic", "timezone": "Europe/Madrid", "industry": "clinic",
        "services": "consultas y tratamientos", "sales_agent_name": "Misy", "limits": {"monthly_bookings": 10**7},
        "booking": {"max_advance_days": 120, "min_advance_minutes": 0, "slot_step_minutes": 15}})
    return client, BookingStore(keyspace, config, CatalogStore(keyspace), clock=lambda: now)


def build_catalog(rng: random.Random, n_pros: int, n_services: int, first: date) -> Catalog:
    services = [Service(id=f"{name}{i // 8 or ''}", name=f"Servicio {i}", duration_minutes=minutes, buffer_before_minutes=bb,
                        buffer_after_minutes=ba, price=40.0 + 5 * i, currency="EUR")
                for i, (name, minutes, bb, ba) in ((i, SERVICES[i % 8]) for i in range(n_services))]
    days = [first + timedelta(d) for d in range(31) if (first + timedelta(d)).month == first.month]
    weekdays, saturdays = [d for d in days if d.weekday() < 5], [d for d in days if d.weekday() == 5]
    dst_sunday = [d for d in days if d.weekday() == 6][-1]          # the clocks change on it in March and October
    special = {0: {"date": weekdays[2], "closed": True, "note": "festivo"}, 1: {"date": weekdays[4], "hours": ["09:00-13:00"]},
               2: {"date": saturdays[0], "extra_hours": ["15:00-18:00"]}, 3: {"date": dst_sunday, "hours": ["10:00-14:00"]},
               4: {"date": dst_sunday, "hours": ["10:00-14:00"]}}
    pros = []
    for i in range(n_pros):
        own = services[i % n_services]              # every service has someone; 3-5 services each
        others = rng.sample([s for s in services if s is not own], min(n_services - 1, rng.randint(2, 4)))
        pros.append(Professional(
            id=f"pro{i:02d}", name=f"Profesional {i:02d}", service_ids=sorted(s.id for s in [own, *others]),
            weekly_hours={d: ["09:00-13:00", "14:00-19:00"] for d in WEEKDAYS} | {"sat": ["09:00-13:00"]},
            breaks=[{"days": WEEKDAYS, "time": ["10:30-10:45", "11:00-11:15", "17:00-17:15"][i % 3]}],
            exceptions=[special[i]] if i in special else []))
    return Catalog(services=services, professionals=pros)


def free_candidates(store: BookingStore, catalog: Catalog, window: tuple[int, int]) -> list[tuple]:
    """Every free (service, professional, start, busy_from, busy_to) of the window, from the store's own availability."""
    return [(s.id, slot.professional_id, slot.start, slot.start - s.buffer_before_minutes * 60,
             slot.end + s.buffer_after_minutes * 60)
            for s in catalog.services for slot in store.availability(s.id, None, *window, limit=10**6)]


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else float("nan")


def attempt(store: BookingStore, jobs: list[tuple], barrier: threading.Barrier) -> list[tuple[str, float]]:
    """(outcome, ms) of each create: ok, slot_taken or another BookingError code."""
    out = []
    barrier.wait()
    for sid, pid, start, *_ in jobs:
        t, kind = time.perf_counter(), "ok"
        try:
            store.create(sid, start, CUSTOMER, professional_id=pid)
        except BookingError as exc:
            kind = exc.code
        out.append((kind, (time.perf_counter() - t) * 1000))
    return out


def run_threads(store: BookingStore, job_lists: list[list[tuple]], go=None) -> tuple[list, float]:
    """One thread per job list, all released together; (merged results, wall seconds)."""
    barrier = threading.Barrier(len(job_lists) + 1)
    with ThreadPoolExecutor(len(job_lists)) as pool:
        futures = [pool.submit(attempt, store, jobs, barrier) for jobs in job_lists]
        if go is not None:
            go.wait()                       # the processes' start line, once each has built its client
        barrier.wait()
        t0 = time.perf_counter()
        parts = [f.result() for f in futures]
    return sum(parts, []), time.perf_counter() - t0


def process_worker(redis_url: str, now: float, job_lists: list[list[tuple]], go, out) -> None:
    out.put(run_threads(make_store(redis_url, now)[1], job_lists, go)[0])


def run_processes(redis_url: str, now: float, job_lists: list[list[tuple]], n_proc: int) -> tuple[list, float]:
    ctx = mp.get_context("spawn")           # each process imports the app and builds its own Redis client
    go, out = ctx.Barrier(n_proc + 1), ctx.Queue()
    procs = [ctx.Process(target=process_worker, args=(redis_url, now, job_lists[i::n_proc], go, out)) for i in range(n_proc)]
    for p in procs:
        p.start()
    go.wait(timeout=120)
    t0 = time.perf_counter()
    parts = [out.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    return sum(parts, []), wall


def double_bookings(client, pids: list[str]) -> tuple[int, int]:
    """(overlapping or dangling intervals, intervals) read back from every professional's busy zset and busy_to hash."""
    bad = total = 0
    for pid in pids:
        ends = client.hgetall(f"{PREFIX}busy_to:{pid}")
        rows = client.zrange(f"{PREFIX}busy:{pid}", 0, -1, withscores=True)
        bad += sum(1 for m, _ in rows if m not in ends)
        spans = sorted((int(s), int(ends[m])) for m, s in rows if m in ends)
        total, reach = total + len(spans), 0
        for start, end in spans:                # an interval starting before an earlier one has ended
            bad, reach = bad + (start < reach), max(reach, end)
    return bad, total


def hot_slots(cands: list[tuple], n: int, rng: random.Random) -> list[tuple]:
    """n free slots whose busy intervals do not touch each other on the same professional: n winners expected."""
    chosen: list[tuple] = []
    for c in rng.sample(cands, len(cands)):
        if len(chosen) < n and all(o[1] != c[1] or c[4] <= o[3] or o[4] <= c[3] for o in chosen):
            chosen.append(c)
    return chosen


def contention(args, client, store: BookingStore, catalog: Catalog, now: float, window: tuple[int, int], rng) -> None:
    pids = [p.id for p in catalog.professionals]
    print(f"contention: {args.threads} workers; hot = {args.hot_slots} slots raced by every worker in the same order, "
          f"uniform = {args.attempts} random free slots per worker")
    for how, n_proc in [("threads", 1)] + ([("processes", min(args.processes, args.threads))] if args.processes > 0 else []):
        for kind in ("hot", "uniform"):
            cands = free_candidates(store, catalog, window)
            hot = hot_slots(cands, args.hot_slots, rng)
            jobs = [list(hot) if kind == "hot" else rng.sample(cands, args.attempts) for _ in range(args.threads)]
            res, wall = run_threads(store, jobs) if how == "threads" else run_processes(args.redis_url, now, jobs, n_proc)
            kinds, lat = Counter(k for k, _ in res), [ms for _, ms in res]
            ok_lat, bad, total = [ms for k, ms in res if k == "ok"], *double_bookings(client, pids)
            expect = f" (expected {len(hot)})" if kind == "hot" else ""
            print(f"  {how:9} {kind:7} {args.threads} workers in {n_proc} process(es), {len(res)} attempts in {wall:.2f} s: "
                  f"ok {kinds.pop('ok', 0)}{expect}, slot_taken {kinds.pop('slot_taken', 0)}, other {dict(kinds) or 0}; "
                  f"{len(res) / wall:.0f} attempts/s, {len(ok_lat) / wall:.0f} bookings/s")
            print(f"  {'':17} create latency: all attempts p50 {pct(lat, .5):.1f} ms p95 {pct(lat, .95):.1f} ms; "
                  f"successful p50 {pct(ok_lat, .5):.1f} ms p95 {pct(ok_lat, .95):.1f} ms")
            print(f"  {'':17} double bookings: {bad}  ({total} busy intervals read back over {len(pids)} professionals)")


def availability_latency(args, store: BookingStore, catalog: Catalog, window: tuple[int, int], rng: random.Random) -> bool:
    offers = [(s.id, p.id) for p in catalog.professionals for s in catalog.services if s.id in p.service_ids]
    variants = [("whole clinic", lambda: (rng.choice(catalog.services).id, None)),
                ("one professional", lambda: rng.choice(offers))]
    print(f"availability: {args.n} requests per variant, window 31 days, limit {args.limit}")
    p95 = {}
    for label, pick in variants:
        for _ in range(10):
            store.availability(*pick(), *window, limit=args.limit)        # warm-up, not counted
        lat, counts = [], []
        for _ in range(args.n):
            sid, pid = pick()
            t = time.perf_counter()
            counts.append(len(store.availability(sid, pid, *window, limit=args.limit)))
            lat.append((time.perf_counter() - t) * 1000)
        p95[label] = pct(lat, .95)
        capped = sum(c >= args.limit for c in counts)
        print(f"  {label:16} p50 {pct(lat, .5):6.2f} ms  p95 {p95[label]:6.2f} ms  p99 {pct(lat, .99):6.2f} ms  "
              f"max {max(lat):6.2f} ms  slots mean {sum(counts) / len(counts):.0f} (limit reached {capped}/{args.n})")
    met = p95["whole clinic"] <= TARGET_P95_MS
    print(f"  target p95 <= {TARGET_P95_MS:.0f} ms for a month of the whole clinic: {'MET' if met else 'MISSED'} "
          f"({p95['whole clinic']:.2f} ms)\n")
    return met


def profile_availability(store: BookingStore, catalog: Catalog, window: tuple[int, int], rng, n: int, limit: int) -> None:
    """cProfile of whole-clinic availability calls: the time of its three steps, and the top 10 functions by own time."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        store.availability(rng.choice(catalog.services).id, None, *window, limit=limit)
    prof.disable()
    stats = pstats.Stats(prof).stats.items()  # type: ignore[attr-defined]
    steps = {fn: cum for (file, _, fn), (_, _, _, cum, _) in stats if file.endswith(("store.py", "availability.py"))}
    per_call = {k: steps[k] * 1000 / n for k in ("_bookable", "busy", "free_slots")}
    print(f"profile: {n} whole-clinic calls under cProfile (it inflates many small calls, e.g. the RESP parser), per call: "
          + ", ".join(f"{k} {v:.2f} ms" for k, v in per_call.items()))
    print("  top 10 by own time:  tottime s  cumtime s      calls  function")
    for (file, line, fn), (_, calls, tot, cum, _) in sorted(stats, key=lambda kv: kv[1][2], reverse=True)[:10]:
        print(f"  {'':20}{tot:9.3f}  {cum:9.3f}  {calls:9d}  {Path(file).name}:{line} {fn}")
    print()


def main() -> None:
    today = date.today()
    dst_month = min(date(today.year + (m <= today.month), m, 1) for m in (3, 10))      # the next March or October
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", action="store_true", help="profile availability even when the target is met")
    # redis-url: its database is FLUSHED; month: YYYY-MM; fill: share of capacity booked first; n: requests per availability
    # variant; threads: contention workers, split over --processes P for a second run (0 skips it); attempts: random
    # slots per worker in uniform mode
    for flag, default in (("redis-url", "redis://127.0.0.1:6379/9"), ("month", dst_month.strftime("%Y-%m")),
                          ("professionals", 10), ("services", 8), ("fill", 0.40), ("n", 300), ("limit", 2000),
                          ("threads", 16), ("hot-slots", 20), ("attempts", 25), ("processes", 4), ("seed", 1)):
        ap.add_argument(f"--{flag}", type=type(default), default=default, help=f"default {default}")
    args = ap.parse_args()
    first = date.fromisoformat(args.month + "-01")
    month_start = int(datetime(first.year, first.month, 1, tzinfo=TZ).timestamp())
    window, now, rng = (month_start, month_start + 31 * 86400), float(month_start - 86400), random.Random(args.seed)
    client, store = make_store(args.redis_url, now)
    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
          f"Redis {client.info('server')['redis_version']} at {args.redis_url}, load average {os.getloadavg()[0]:.2f}")
    client.flushdb()
    try:
        catalog = build_catalog(rng, args.professionals, args.services, first)
        store.catalog.replace(catalog)
        days = [first + timedelta(d) for d in range(31)]
        capacity = sum(e - s for p in catalog.professionals for d in days for s, e in p.minutes_on(d)) * 60
        print(f"clinic: {len(catalog.professionals)} professionals, {len(catalog.services)} services, window "
              f"{datetime.fromtimestamp(month_start, TZ).isoformat()} + 31 days, {capacity / 3600:.0f} professional-hours")
        t0, booked, made = time.perf_counter(), 0, 0
        cands = free_candidates(store, catalog, window)
        for sid, pid, start, busy_from, busy_to in rng.sample(cands, len(cands)):
            if booked >= args.fill * capacity:
                break
            try:
                store.create(sid, start, CUSTOMER, professional_id=pid)
                booked, made = booked + busy_to - busy_from, made + 1
            except SlotTaken:
                pass
        print(f"pre-fill: {made} bookings, {booked / capacity:.1%} of capacity busy (buffers included), "
              f"{time.perf_counter() - t0:.1f} s\n")
        if not availability_latency(args, store, catalog, window, rng) or args.profile:
            profile_availability(store, catalog, window, rng, 50, args.limit)
        contention(args, client, store, catalog, now, window, rng)
    finally:
        client.flushdb()


if __name__ == "__main__":
    main()
