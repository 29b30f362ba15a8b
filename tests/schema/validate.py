#!/usr/bin/env python3
# validate.py SUPERVISE WORKERS_DIR SCHEMA - validates real exit records
# against docs/exit-record.schema.json: the `--json` records of an exit 3, a
# timeout that needs KILL, a run that leaks a daemon and one restarted twice
# by --restart, and the exit lines
# of `run --events` for a 3-job file (pass, fail, timeout). Fails (exit 1) on
# any invalid record, on a run that wrote fewer records than it should, and
# when the jsonschema module is missing (python3-jsonschema, scripts/deps.sh):
# a check that cannot run must not pass. Also checks that the schema rejects
# a record with a key dropped, so that it cannot pass vacuously.
import json
import os
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    print("validate.py: the python3 module jsonschema is missing "
          "(apt-get install python3-jsonschema; scripts/deps.sh)", file=sys.stderr)
    sys.exit(1)

SUPERVISE, WORKERS, SCHEMA = sys.argv[1:4]
failures = []


def worker(name):
    return os.path.join(WORKERS, name)


def run(args, want_status):
    p = subprocess.run([SUPERVISE] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60)
    if p.returncode != want_status:
        failures.append("%s: exit %d, want %d; stderr: %s"
                        % (args, p.returncode, want_status, p.stderr.decode(errors="replace")))


def run_json(args, want_status):
    """The --json records of `supervise --json FILE ARGS` (the workers' own
    stdout is not mixed in)."""
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as f:
        run(["--json", f.name] + args, want_status)
        return exit_records(f.read(), None, None)


def exit_records(text, key, value):
    recs = [json.loads(l) for l in text.splitlines() if l.strip()]
    return [r for r in recs if r.get(key) == value] if key else [r for r in recs if "event" not in r]


def check(what, recs, want, validator):
    if len(recs) != want:
        failures.append("%s: %d exit records, want %d" % (what, len(recs), want))
    for r in recs:
        errs = sorted(validator.iter_errors(r), key=lambda e: list(e.path))
        for e in errs:
            failures.append("%s: %s at %s in %s" % (what, e.message, list(e.path), json.dumps(r)))
    return recs


def main():
    with open(SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)

    recs = check("--json exit 3", run_json(["--", worker("sv-exit"), "3"], 3), 1, v)
    if recs and (recs[0]["code"] != 3 or recs[0]["signal"] is not None):
        failures.append("--json exit 3: wrong record %s" % json.dumps(recs[0]))
    timeout = check("--json timeout", run_json(
        ["-t", "200ms", "-k", "200ms", "--", worker("sv-ignore-term")], 124), 1, v)
    if timeout and (timeout[0]["step"] != 2 or timeout[0]["timeout_ms"] != 200):
        failures.append("--json timeout: wrong record %s" % json.dumps(timeout[0]))
    leak = check("--json leak", run_json(["--", worker("sv-daemon"), "60000", "exit"], 0), 1, v)
    if leak and (leak[0]["leaked_count"] != 1 or len(leak[0]["leaked"]) != 1):
        failures.append("--json leak: no leak in %s" % json.dumps(leak[0]))

    # --restart: a record per copy, each with the number of its restart.
    again = check("--json restarts", run_json(
        ["--restart", "on-failure", "--restart-delay", "1ms..2ms", "--max-restarts", "2", "--",
         worker("sv-exit"), "3"], 3), 3, v)
    if [r.get("restarts") for r in again] != [0, 1, 2]:
        failures.append("--json restarts: wrong counts in %s" % json.dumps(again))

    with tempfile.TemporaryDirectory() as d:
        jobs, events = os.path.join(d, "jobs.txt"), os.path.join(d, "events.jsonl")
        with open(jobs, "w") as f:
            f.write("name=pass %s 0\nname=fail %s 3\nname=hang %s\n"
                    % (worker("sv-exit"), worker("sv-exit"), worker("sv-ignore-term")))
        run(["run", "-q", "-j", "3", "-t", "300ms", "-k", "200ms", "--from", jobs, "--events", events], 1)
        with open(events) as f:
            check("run --events", exit_records(f.read(), "event", "exit"), 3, v)

    # The schema must be able to say no: a record without "leaked_count", and
    # one with a key it does not know, are both invalid.
    if timeout:
        broken = dict(timeout[0])
        del broken["leaked_count"]
        extra = dict(timeout[0], surprise=1)
        for what, r in (("a dropped key", broken), ("an unknown key", extra)):
            if v.is_valid(r):
                failures.append("the schema accepts a record with %s" % what)

    for f in failures:
        print("validate.py: " + f, file=sys.stderr)
    return 1 if failures else 0


sys.exit(main())
