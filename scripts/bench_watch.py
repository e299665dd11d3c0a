#!/usr/bin/env python3
"""Helper for scripts/bench-watch.sh (standard library only).

  make     write COUNT distinct (or identical) WAV files cut from a source WAV
  latency  drop files one at a time into one or more running services, alternating
           between them; claim latency = job.startedAt - time just before rename(2)
  burst    rename every file of a stage directory into an inbox in a tight loop, then
           wait until the queue has them all done
  verify   check that every burst file was processed exactly once
  report   print the Markdown tables from the result files

Job times come from the service's SQLite queue (GRDB datetimes: UTC text
'YYYY-MM-DD HH:MM:SS.SSS'), read with Python's sqlite3 module (no sqlite3 CLI needed).
"""
import argparse
import datetime
import json
import os
import random
import sqlite3
import statistics
import sys
import time
import wave


def db_time(text):
    """A GRDB datetime (UTC) as a Unix timestamp."""
    if text is None:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            pass
    raise ValueError(f"unexpected datetime {text!r}")


def connect(path):
    # Read-only: the service owns the database (WAL mode, so reading does not block it).
    # Autocommit, so no read transaction stays open between polls.
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, isolation_level=None)


def wait_for_db(path, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            con = connect(path)
            con.execute("SELECT count(*) FROM job").fetchone()
            return con
        except sqlite3.Error:
            time.sleep(0.05)
    raise SystemExit(f"database {path} not ready after {timeout} s")


# ---------------------------------------------------------------- make

def cmd_make(a):
    with wave.open(a.src, "rb") as w:
        params = w.getparams()
        if params.sampwidth != 2:
            raise SystemExit("expected 16-bit PCM")
        nframes = params.nframes if a.seconds <= 0 else min(params.nframes, int(a.seconds * params.framerate))
        frames = bytearray(w.readframes(nframes))
    os.makedirs(a.out, exist_ok=True)
    salt = random.getrandbits(32)
    for i in range(a.count):
        data = bytearray(frames)
        if not a.identical:
            # Make the content unique: the last 24 samples carry (salt, index) as base-4
            # digits, amplitude at most 3 of 32767 (inaudible; the header stays valid).
            uid = (salt << 16) | i
            for k in range(24):
                digit = (uid >> (2 * k)) & 3
                off = len(data) - 2 * (k + 1)
                data[off:off + 2] = int(digit).to_bytes(2, "little", signed=True)
        path = os.path.join(a.out, f"{a.prefix}{i:04d}.wav")
        with wave.open(path, "wb") as w:
            w.setparams(params)
            w.writeframes(bytes(data))


# ---------------------------------------------------------------- latency

def cmd_latency(a):
    """Each --svc is LABEL:STAGE:INBOX:DB. Drops alternate between services (the order
    flips every round); before each drop the target service's previous job is finished
    (idle worker) and a random 0..gap-max s pause keeps drops out of phase with polling."""
    svcs = []
    for spec in a.svc:
        label, stage, inbox, db = spec.split(":")
        names = sorted(n for n in os.listdir(stage) if not n.startswith("."))[: a.count]
        if len(names) < a.count:
            raise SystemExit(f"{stage}: only {len(names)} files")
        svcs.append(dict(label=label, stage=stage, inbox=inbox, con=wait_for_db(db), names=names))
    rng = random.Random(a.seed)
    out = open(a.out, "a")
    problems = 0
    for i in range(a.count):
        order = svcs if i % 2 == 0 else list(reversed(svcs))
        for s in order:
            name = s["names"][i]
            time.sleep(rng.uniform(0, a.gap_max))
            t0 = time.time()
            os.rename(os.path.join(s["stage"], name), os.path.join(s["inbox"], name))
            key = name.encode()
            row, deadline = None, t0 + a.timeout
            while time.time() < deadline:
                row = s["con"].execute(
                    "SELECT count(*), max(state), max(createdAt), max(startedAt), max(finishedAt) FROM job WHERE name = ?",
                    (key,)).fetchone()
                if row[0] and row[1] in ("done", "failed"):
                    break
                time.sleep(0.02)
            count, state, created, started, finished = row if row else (0, None, None, None, None)
            if count != 1 or state != "done":
                problems += 1
                print(f"  [{s['label']}] {name}: jobs={count} state={state} after {time.time() - t0:.1f} s",
                      file=sys.stderr)
            claim = db_time(started) - t0 if started else float("nan")
            queued = db_time(created) - t0 if created else float("nan")
            work = db_time(finished) - db_time(started) if finished and started else float("nan")
            out.write(f"{s['label']}\t{a.settle}\t{name}\t{queued:.4f}\t{claim:.4f}\t{work:.4f}\t{state}\n")
            out.flush()
    sys.exit(1 if problems else 0)


# ---------------------------------------------------------------- burst

def cmd_burst(a):
    con = wait_for_db(a.db)
    names = sorted(n for n in os.listdir(a.stage) if not n.startswith("."))
    n = len(names)
    with open(a.names, "w") as f:
        f.write("\n".join(names) + "\n")
    src = [os.path.join(a.stage, x) for x in names]
    dst = [os.path.join(a.inbox, x) for x in names]
    t0 = time.time()
    for s, d in zip(src, dst):
        os.rename(s, d)
    t_dropped = time.time()
    last_progress, last_seen, timed_out = time.time(), None, False
    while True:
        total, finished = con.execute(
            "SELECT count(*), coalesce(sum(state IN ('done','failed')), 0) FROM job").fetchone()
        if total >= n and finished >= total:
            break
        if (total, finished) != last_seen:
            last_seen, last_progress = (total, finished), time.time()
        if time.time() - last_progress > a.stall or time.time() - t0 > a.timeout:
            timed_out = True
            print(f"  burst stalled/timed out: {total} jobs, {finished} finished", file=sys.stderr)
            break
        time.sleep(0.05)
    created = [db_time(r[0]) for r in con.execute("SELECT createdAt FROM job ORDER BY createdAt")]
    done = [db_time(r[0]) for r in con.execute("SELECT finishedAt FROM job WHERE finishedAt IS NOT NULL ORDER BY finishedAt")]
    result = dict(
        files=n, drop_seconds=t_dropped - t0,
        first_queued=(created[0] - t0) if created else None,
        all_queued=(created[-1] - t0) if len(created) >= n else None,
        all_done=(done[-1] - t0) if len(done) >= n else None,
        timed_out=timed_out,
    )
    print(json.dumps(result))


# ---------------------------------------------------------------- verify

def cmd_verify(a):
    expected = [x for x in open(a.names).read().split("\n") if x]
    exp = set(expected)
    stems = {os.path.splitext(x)[0] for x in expected}
    problems = []
    con = connect(a.db)
    rows = con.execute("SELECT name, state FROM job").fetchall()
    states = {}
    for _, st in rows:
        states[st] = states.get(st, 0) + 1
    names = [bytes(r[0]).decode("utf-8", "replace") for r in rows]
    if len(rows) != len(expected):
        problems.append(f"{len(rows)} jobs for {len(expected)} files")
    if states.get("done", 0) != len(expected):
        problems.append(f"job states {states}")
    dup = len(names) - len(set(names))
    if dup:
        problems.append(f"{dup} file names queued more than once")
    if set(names) != exp:
        problems.append(f"{len(exp - set(names))} files never queued, {len(set(names) - exp)} unexpected names")
    outbox = [x for x in os.listdir(a.outbox) if not x.startswith(".")]
    txt = [x for x in outbox if x.endswith(".txt")]
    if len(txt) != len(expected) or {os.path.splitext(x)[0] for x in txt} != stems:
        missing = stems - {os.path.splitext(x)[0] for x in txt}
        extra = sorted(set(txt) - {s + ".txt" for s in stems})
        problems.append(f"outbox: {len(txt)} .txt, {len(missing)} missing, extra {extra[:5]}")
    if len(outbox) != len(txt):
        problems.append(f"outbox: {len(outbox) - len(txt)} non-.txt files")
    empty = sum(1 for x in txt if os.path.getsize(os.path.join(a.outbox, x)) == 0)
    processed = [x for x in os.listdir(a.processed) if not x.startswith(".")]
    if set(processed) != exp or len(processed) != len(expected):
        problems.append(f"processed/: {len(processed)} files, {len(exp - set(processed))} missing, "
                        f"{len(set(processed) - exp)} unexpected (e.g. {sorted(set(processed) - exp)[:3]})")
    failed = os.listdir(a.failed)
    if failed:
        problems.append(f"failed/: {len(failed)} entries (e.g. {sorted(failed)[:3]})")
    inbox = os.listdir(a.inbox)
    if [x for x in inbox if x != ".hearingai-work"]:
        problems.append(f"inbox: {len(inbox)} entries left (e.g. {sorted(inbox)[:3]})")
    work = os.path.join(a.inbox, ".hearingai-work")
    left = os.listdir(work) if os.path.isdir(work) else []
    if left:
        problems.append(f"inbox/.hearingai-work: {len(left)} job directories left")
    print(json.dumps(dict(ok=not problems, jobs=len(rows), done=states.get("done", 0), txt=len(txt),
                          empty_txt=empty, processed=len(processed), failed=len(failed),
                          work_left=len(left), problems=problems)))


# ---------------------------------------------------------------- report

def pct(xs, p):
    """Nearest-rank percentile."""
    xs = sorted(xs)
    k = max(1, -(-p * len(xs) // 100))
    return xs[int(k) - 1]


def cmd_report(a):
    rows = [l.rstrip("\n").split("\t") for l in open(a.latency) if l.strip()]
    lat = {}
    for label, settle, _, queued, claim, work, state in rows:
        lat.setdefault((float(settle), label), []).append((float(queued), float(claim), float(work)))
    labels = {"inotify": "inotify (default)", "poll": "--poll-only --rescan-seconds 1"}

    print("### Drop-to-claim latency, idle worker\n")
    print("Claim latency = job `startedAt` (SQLite) minus the time just before rename(2) into the inbox. "
          "It includes the settle time, which both watchers must wait; `− settle` is what the watcher itself adds. "
          "p99 is nearest-rank (with N < 100 it is the maximum).\n")
    print("| watcher | settle (s) | N | median claim (s) | p99 claim (s) | median / polling | p99 / polling "
          "| median − settle (s) | (median − settle) / polling |")
    print("|---|---|---|---|---|---|---|---|---|")
    for settle in sorted({k[0] for k in lat}, reverse=True):
        base = lat.get((settle, "poll"))
        bclaims = [c for _, c, _ in base if c == c] if base else []
        bmed = statistics.median(bclaims) if bclaims else float("nan")
        bp99 = pct(bclaims, 99) if bclaims else float("nan")
        for label in ("inotify", "poll"):
            v = lat.get((settle, label))
            if not v:
                continue
            claims = [c for _, c, _ in v if c == c]
            med, p99 = statistics.median(claims), pct(claims, 99)
            over, bover = med - settle, bmed - settle
            print(f"| {labels[label]} | {settle:g} | {len(claims)} | {med:.3f} | {p99:.3f} | {med / bmed:.2f}x "
                  f"| {p99 / bp99:.2f}x | {over:.3f} | {over / bover:.3f}x |")
    print()

    bursts = [json.loads(l) for l in open(a.burst) if l.strip()]
    if not bursts:
        return
    print("### Burst of {} files\n".format(bursts[0]["files"]))
    print("Time from the first rename(2) until the first and the last file is queued (`createdAt`) and all are "
          f"done (`max(finishedAt)`), settle {bursts[0]['settle']:g} s included. `/ polling` is the ratio to the "
          f"median of the polling runs. {a.burst_note} The driver's {bursts[0]['files']} renames took "
          f"{1000 * min(b['drop_seconds'] for b in bursts):.0f}-{1000 * max(b['drop_seconds'] for b in bursts):.0f} ms.\n")
    print("| watcher | run | first queued (s) | / polling | all queued (s) | / polling | all done (s) | / polling "
          "| exactly once? |")
    print("|---|---|---|---|---|---|---|---|---|")

    def med(label, key):
        xs = [b[key] for b in bursts if b["label"] == label and b[key] is not None]
        return statistics.median(xs) if xs else float("nan")

    def cell(x, base):
        return (f"{x:.2f}", f"{x / base:.2f}x") if x is not None else ("never", "-")

    keys = ("first_queued", "all_queued", "all_done")
    base = {k: med("poll", k) for k in keys}
    for b in sorted(bursts, key=lambda b: (b["label"] != "inotify", b["run"])):
        ok = "yes" if b["verify"]["ok"] else "**NO**: " + "; ".join(b["verify"]["problems"])
        cells = " | ".join(" | ".join(cell(b[k], base[k])) for k in keys)
        print(f"| {labels[b['label']]} | {b['run']} | {cells} | {ok} |")
    if len(bursts) > 2:
        print()
        print("| watcher (median of runs) | first queued (s) | / polling | all queued (s) | / polling "
              "| all done (s) | / polling |")
        print("|---|---|---|---|---|---|---|")
        for label in ("inotify", "poll"):
            cells = " | ".join(" | ".join(cell(med(label, k), base[k])) for k in keys)
            print(f"| {labels[label]} | {cells} |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--src", required=True)
    m.add_argument("--seconds", type=float, default=0)
    m.add_argument("--out", required=True)
    m.add_argument("--prefix", required=True)
    m.add_argument("--count", type=int, required=True)
    m.add_argument("--identical", action="store_true")
    l = sub.add_parser("latency")
    l.add_argument("--svc", action="append", required=True)
    l.add_argument("--count", type=int, required=True)
    l.add_argument("--settle", type=float, required=True)
    l.add_argument("--gap-max", type=float, default=1.0)
    l.add_argument("--timeout", type=float, default=60)
    l.add_argument("--seed", type=int, default=None)
    l.add_argument("--out", required=True)
    b = sub.add_parser("burst")
    b.add_argument("--stage", required=True)
    b.add_argument("--inbox", required=True)
    b.add_argument("--db", required=True)
    b.add_argument("--names", required=True)
    b.add_argument("--timeout", type=float, default=600)
    b.add_argument("--stall", type=float, default=60)
    v = sub.add_parser("verify")
    for k in ("names", "db", "inbox", "outbox", "processed", "failed"):
        v.add_argument("--" + k, required=True)
    r = sub.add_parser("report")
    r.add_argument("--latency", required=True)
    r.add_argument("--burst", required=True)
    r.add_argument("--burst-note", default="")
    a = p.parse_args()
    {"make": cmd_make, "latency": cmd_latency, "burst": cmd_burst, "verify": cmd_verify, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
