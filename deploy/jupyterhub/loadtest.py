"""A bounded load benchmark of the class's hub on loopback (root; prints figures, asserts
nothing about speed).

    build/.../env/bin/python deploy/jupyterhub/loadtest.py --students 30

With deploy/jupyterhub/trial.py (real accounts, setup.sh, the hub on 127.0.0.1):
1. the instructor releases 01_perceptron (release.sh);
2. all students' servers are started at once through the hub's REST API: the time until each
   answers, and until all do;
3. memory: each student's processes (their server; then also a kernel that ran the lecture's
   code, as a student working through it), the hub and its proxy: RSS and PSS from /proc;
4. every student fetches 01 and then all submit at once, through their own server (the
   Assignments tab's endpoints);
5. the instructor collects (`python -m autograder collect`) and the benchmark checks every
   submission was collected exactly once: one folder per student in the exchange's inbound,
   one in autograder/submitted/, no other.
Everything is stopped and removed after, whatever happens. Each phase is bounded in time.
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from trial import REPO, TrialClass, processes_in_session, processes_of  # noqa: E402

ASSIGNMENT = "01_perceptron"


def memory_kib(pids):
    """(RSS, PSS) in KiB summed over ``pids`` (PSS shares each shared page among its users:
    the figure that adds up across students)."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def request(url, token, method="GET", body=None, timeout=120):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        text = response.read()
    return json.loads(text) if text else None


def run_lecture(hub, user, token, notebook, timeout=300):
    """Start a kernel in the user's server and run the lecture's code cells in it (exercise
    cells left as released: they raise NotImplementedError, as for a student starting out)."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    kernel = request(f"{hub.url}/user/{user}/api/kernels", token, "POST", {"name": "python3"},
                     timeout=timeout)
    cells = ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
             if c["cell_type"] == "code"]

    errors = []

    async def execute_all():
        ws = await websocket_connect(HTTPRequest(
            f"ws://127.0.0.1:{hub.port}/user/{user}/api/kernels/{kernel['id']}/channels",
            headers={"Authorization": f"token {token}"}, connect_timeout=timeout,
            request_timeout=timeout), max_message_size=64 * 2**20)
        try:
            for number, code in enumerate(cells):
                msg_id = f"{user}-{number}"
                await ws.write_message(json.dumps({
                    "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": user,
                               "session": user, "version": "5.3", "date": ""},
                    "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
                    "content": {"code": code, "silent": False, "store_history": True,
                                "user_expressions": {}, "allow_stdin": False,
                                "stop_on_error": False}}))
                while True:
                    message = await ws.read_message()
                    if message is None:
                        raise RuntimeError(f"{user}: the kernel's websocket closed")
                    if isinstance(message, bytes):
                        continue
                    reply = json.loads(message)
                    if (reply.get("msg_type") == "execute_reply"
                            and reply["parent_header"].get("msg_id") == msg_id):
                        if reply["content"]["status"] == "error":
                            errors.append(reply["content"].get("ename"))
                        break
        finally:
            ws.close()

    asyncio.run(asyncio.wait_for(execute_all(), timeout))
    return errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--env", default=os.environ.get("COURSE_HUB_TEST_ENV",
                                                        "/opt/deep-learning-hub-test/env"))
    parser.add_argument("--proxy", default=str(
        REPO / "build/hub/proxy/node_modules/.bin/configurable-http-proxy"))
    parser.add_argument("--no-lecture", action="store_true",
                        help="do not run the lecture in a kernel per student")
    parser.add_argument("--out", default=str(REPO / "build" / "hub-loadtest.json"))
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("loadtest: run as root (it creates Unix accounts and runs the hub)")

    figures = {"students": args.students, "cores": os.cpu_count(), "load_at_start": loadavg()}
    say = lambda text: print(f"[{time.strftime('%H:%M:%S')} load {loadavg()}] {text}", flush=True)  # noqa: E731
    started = time.perf_counter()
    with TrialClass(students=args.students, env=args.env, proxy=args.proxy,
                    auth="shared-password", log=say) as hub:
        figures["setup_s"] = round(hub.setup_s, 1)
        say(f"setup.sh and {args.students + 1} accounts: {hub.setup_s:.1f} s")
        hub.as_instructor("deploy/jupyterhub/release.sh", ASSIGNMENT)
        hub_pids = processes_in_session(hub.hub.pid)
        figures["hub_and_proxy_idle_kib"] = memory_kib(hub_pids)

        # -- 2. every server at once --------------------------------------------------------
        uids = {user: hub.uid(user) for user in hub.students}
        ready_at = {}
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(len(hub.students)) as pool:
            list(pool.map(lambda u: hub.api("POST", f"/users/{u}/server", timeout=600),
                          hub.students))
        deadline = time.monotonic() + 600
        while len(ready_at) < len(hub.students) and time.monotonic() < deadline:
            for user in hub.students:
                if user not in ready_at and hub.api("GET", f"/users/{user}")["servers"].get(
                        "", {}).get("ready"):
                    ready_at[user] = time.perf_counter() - t0
            time.sleep(0.5)
        missing = sorted(set(hub.students) - set(ready_at))
        if missing:
            sys.exit(f"loadtest: servers not ready after 600 s: {missing}")
        times = sorted(ready_at.values())
        figures["spawn_all_s"] = round(times[-1], 1)
        figures["spawn_median_s"] = round(statistics.median(times), 1)
        say(f"{len(times)} servers ready: median {statistics.median(times):.1f} s, "
            f"all {times[-1]:.1f} s")
        time.sleep(5)  # let the servers settle after start-up
        servers = [memory_kib(processes_of({uid})) for uid in uids.values()]
        figures["server_rss_kib_median"] = statistics.median(r for r, _ in servers)
        figures["server_pss_kib_median"] = statistics.median(p for _, p in servers)
        figures["hub_and_proxy_kib"] = memory_kib(processes_in_session(hub.hub.pid))
        say(f"per student server: RSS {figures['server_rss_kib_median'] / 1024:.0f} MiB, "
            f"PSS {figures['server_pss_kib_median'] / 1024:.0f} MiB (median); hub + proxy RSS "
            f"{figures['hub_and_proxy_kib'][0] / 1024:.0f} MiB")

        tokens = {u: hub.api("POST", f"/users/{u}/tokens", {"note": "loadtest",
                                                            "expires_in": 3600})["token"]
                  for u in hub.students}
        base = {u: f"{hub.url}/user/{u}" for u in hub.students}
        body = {"course_id": hub.settings["course_id"], "assignment_id": ASSIGNMENT}

        # -- 4. fetch, then everyone submits at once ----------------------------------------
        with concurrent.futures.ThreadPoolExecutor(len(hub.students)) as pool:
            list(pool.map(lambda u: request(f"{base[u]}/assignments/fetch", tokens[u], "POST",
                                            body, timeout=300), hub.students))
        barrier = threading.Barrier(len(hub.students))

        def submit(user):
            barrier.wait(timeout=120)
            t = time.perf_counter()
            out = request(f"{base[user]}/assignments/submit", tokens[user], "POST", body,
                          timeout=300)
            ok = isinstance(out, list) or out.get("success", False)
            return user, ok, time.perf_counter() - t, out

        with concurrent.futures.ThreadPoolExecutor(len(hub.students)) as pool:
            submitted = list(pool.map(submit, hub.students))
        failed = [(u, out) for u, ok, _, out in submitted if not ok]
        latencies = sorted(t for _, ok, t, _ in submitted if ok)
        figures["submit_ok"] = len(latencies)
        figures["submit_median_s"] = round(statistics.median(latencies), 2) if latencies else None
        figures["submit_max_s"] = round(latencies[-1], 2) if latencies else None
        say(f"{len(latencies)} of {len(hub.students)} submitted at once; "
            f"median {figures['submit_median_s']} s, max {figures['submit_max_s']} s"
            + (f"; FAILED: {failed[:3]}" if failed else ""))

        # -- 5. collected exactly once ------------------------------------------------------
        inbound = Path(hub.settings["exchange"]) / hub.settings["course_id"] / "inbound"
        in_exchange = sorted(p.name.split("+")[0] for p in inbound.iterdir())
        t = time.perf_counter()
        hub.as_instructor("python", "-m", "autograder", "collect", "--assignment", ASSIGNMENT,
                          timeout=900)
        figures["collect_s"] = round(time.perf_counter() - t, 1)
        submitted_dir = hub.course / "autograder" / "submitted"
        collected = sorted(p.parent.name for p in submitted_dir.glob(f"*/{ASSIGNMENT}")
                           if (p / f"{ASSIGNMENT}.ipynb").is_file())
        figures["in_exchange"] = len(in_exchange)
        figures["collected"] = len(collected)
        figures["collected_exactly_once"] = (in_exchange == collected == sorted(hub.students))
        say(f"exchange: {len(in_exchange)} submissions from {len(set(in_exchange))} students; "
            f"collected: {len(collected)} folders; every student exactly once: "
            f"{figures['collected_exactly_once']} ({figures['collect_s']} s)")

        # -- 3b. a kernel per student, running the lecture ----------------------------------
        if not args.no_lecture:
            notebook = hub.course / "lectures" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            t = time.perf_counter()
            def lecture(user):
                try:
                    return run_lecture(hub, user, tokens[user], notebook)
                except Exception as error:  # noqa: BLE001 - counted and reported
                    return [f"not run: {type(error).__name__}: {error}"]

            with concurrent.futures.ThreadPoolExecutor(len(hub.students)) as pool:
                errors = list(pool.map(lecture, hub.students))
            figures["lecture_all_s"] = round(time.perf_counter() - t, 1)
            # a student starting out: the exercise raises NotImplementedError (and the cells
            # using its answer may fail after it); count what else went wrong
            figures["lecture_errors"] = sorted({e for found in errors for e in found})
            figures["lecture_cells"] = len([c for c in json.loads(notebook.read_text())["cells"]
                                            if c["cell_type"] == "code"])
            working = [memory_kib(processes_of({uid})) for uid in uids.values()]
            figures["working_rss_kib_median"] = statistics.median(r for r, _ in working)
            figures["working_pss_kib_median"] = statistics.median(p for _, p in working)
            figures["working_pss_kib_total"] = sum(p for _, p in working)
            say(f"{len(working)} kernels ran the lecture at once in {figures['lecture_all_s']} s;"
                f" per student (server + kernel): RSS "
                f"{figures['working_rss_kib_median'] / 1024:.0f} MiB, PSS "
                f"{figures['working_pss_kib_median'] / 1024:.0f} MiB (median), PSS total "
                f"{figures['working_pss_kib_total'] / 1024:.0f} MiB")
        figures["hub_and_proxy_end_kib"] = memory_kib(processes_in_session(hub.hub.pid))
    figures["total_s"] = round(time.perf_counter() - started, 1)
    figures["load_at_end"] = loadavg()
    say(f"done in {figures['total_s']} s, everything removed")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))
    return 0 if figures["collected_exactly_once"] and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
