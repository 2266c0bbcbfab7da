"""A throwaway class on this machine's loopback: real Unix accounts, setup.sh, a running hub.

Used by the hub test (tests/hub/test_hub.py) and the load benchmark (loadtest.py); as root:

    with TrialClass(students=2, env="/opt/deep-learning-hub-test/env", proxy=".../configurable-http-proxy") as hub:
        hub.login_password(hub.students[0])     # PAM: each account has a random password
        hub.as_instructor("python", "-m", "autograder", "collect", "--assignment", "01_perceptron")
        hub.api("POST", f"/users/{name}/server")  # the hub's REST API, with an admin token

It creates an instructor and students (useradd, names `dlh<random>i`, `dlh<random>s1`, ...), copies
this repository (the working tree, without .git, .venv or build/) into the instructor's home,
runs deploy/jupyterhub/setup.sh from that copy with everything under a temporary folder
(prefix, exchange) and free loopback ports, and starts the hub. On exit, whatever happened: the
hub stops its servers, every process left by the class's accounts is killed by process id, the
accounts (with their homes), the groups and the temporary folder are removed.
"""
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def copy_repository(destination):
    """The working tree as git sees it (tracked files and new ones, not what .gitignore
    names: no .venv, build/, submissions or gradebook), copied to ``destination``."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_of(uids):
    """Process ids owned by any of ``uids`` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid in uids:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def processes_in_session(sid):
    """Process ids whose session id is ``sid`` (the hub's, and the proxy it started)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == sid:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def descendants(pid):
    """Process ids descended from ``pid`` (read from /proc), children first."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(
                        int(entry))
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill(pids, sig=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def run(args, timeout=600, check=True, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, errors="replace",
                            timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                           f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


class TrialClass:
    """An instructor and ``students`` students on a hub on 127.0.0.1; a context manager."""

    def __init__(self, students=2, *, env, proxy, auth="pam", idle_timeout=3600, log=print,
                 hub_args=()):
        self.env = Path(env)
        self.proxy = Path(proxy)
        self.auth = auth
        self.idle_timeout = idle_timeout
        self.log = log
        self.hub_args = list(hub_args)  # extra arguments for every user's server
        tag = secrets.token_hex(2)
        self.instructor = f"dlh{tag}i"
        self.students = [f"dlh{tag}s{i + 1}" for i in range(students)]
        self.groups = {"students": f"dlh{tag}-students", "instructors": f"dlh{tag}-instructors"}
        self.passwords = {}
        self.created_users = []
        self.hub = None
        self.token = secrets.token_hex(32)
        self.workdir = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        started = time.perf_counter()
        self.workdir = Path(tempfile.mkdtemp(prefix="dl-hub-"))
        self.workdir.chmod(0o755)
        self.prefix = self.workdir / "hub"
        self.exchange = self.workdir / "exchange"
        for name in [self.instructor, *self.students]:
            self._add_user(name)
        self.course = Path(pwd.getpwnam(self.instructor).pw_dir) / "deep-learning"
        copy_repository(self.course)
        self.port, hub_port, api_port = free_port(), free_port(), free_port()
        args = ["bash", str(self.course / "deploy/jupyterhub/setup.sh"),
                "--instructor", self.instructor, "--students", " ".join(self.students),
                "--students-group", self.groups["students"],
                "--instructors-group", self.groups["instructors"],
                "--prefix", str(self.prefix), "--env", str(self.env),
                "--exchange", str(self.exchange), "--proxy", str(self.proxy),
                "--ip", "127.0.0.1", "--port", str(self.port), "--hub-port", str(hub_port),
                "--proxy-api-port", str(api_port), "--idle-timeout", str(self.idle_timeout),
                "--auth", self.auth]
        if self.auth == "shared-password":
            password_file = self.workdir / "shared-password"
            password_file.write_text(secrets.token_urlsafe(16))
            password_file.chmod(0o600)
            args += ["--password-file", str(password_file)]
        run(args, timeout=900)
        self.settings = json.loads((self.prefix / "etc/course-hub.json").read_text())
        self._write_trial_config()
        self.setup_s = time.perf_counter() - started
        self._start_hub()

    def _add_user(self, name):
        run(["useradd", "--create-home", "--shell", "/bin/bash", name])
        self.created_users.append(name)
        if self.auth == "pam":
            password = secrets.token_urlsafe(12)
            run(["chpasswd"], input=f"{name}:{password}\n")
            self.passwords[name] = password

    def _write_trial_config(self):
        """The trial's additions to the hub: a service token with admin rights over users and
        servers (to drive and measure the hub), and arguments for every user's server."""
        extra = self.prefix / "etc/jupyterhub_config.d/50-trial.py"
        extra.write_text(
            "c.JupyterHub.services.append({'name': 'trial', 'api_token': %r})\n"
            "c.JupyterHub.load_roles.append({'name': 'trial', 'services': ['trial'], 'scopes': "
            "['admin:users', 'admin:servers', 'tokens', 'access:servers', 'list:users']})\n"
            "c.Spawner.args = %r\n" % (self.token, self.hub_args))
        extra.chmod(0o600)

    def _start_hub(self):
        state = self.prefix / "state"
        self.hub_log = state / "jupyterhub.log"
        with open(self.hub_log, "w") as log:
            self.hub = subprocess.Popen(
                [str(self.env / "bin/jupyterhub"), "-f", str(self.prefix / "etc/jupyterhub_config.py")],
                cwd=state, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.hub.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.hub.returncode}:\n"
                                   f"{self.hub_log.read_text()[-4000:]}")
            try:
                self.api("GET", "/")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.3)
        raise RuntimeError(f"the hub did not answer in 120 s:\n{self.hub_log.read_text()[-4000:]}")

    def stop(self):
        """Stop everything the trial started and remove everything it made, whatever state
        it is in (each step on its own: one failing does not skip the others)."""
        uids = set()
        for name in self.created_users:
            try:
                uids.add(pwd.getpwnam(name).pw_uid)
            except KeyError:
                pass
        if self.hub is not None:
            session = self.hub.pid
            started_by_hub = descendants(self.hub.pid)  # proxy, services, users' servers
            if self.hub.poll() is None:
                self.hub.send_signal(signal.SIGTERM)  # the hub stops the users' servers
                try:
                    self.hub.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    kill([self.hub.pid])
                    self.hub.wait(timeout=10)
            kill(processes_in_session(session))  # the proxy, if the hub left it
            kill([pid for pid in started_by_hub if os.path.exists(f"/proc/{pid}")])
            self.hub = None
        for _ in range(3):  # servers, kernels, terminals the class's accounts left behind
            left = processes_of(uids)
            if not left:
                break
            kill(left)
            time.sleep(0.5)
        for name in self.created_users:
            run(["userdel", "--remove", name], check=False)
        self.created_users = []
        for group in self.groups.values():
            run(["groupdel", group], check=False)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # -- using the class -------------------------------------------------------------------------
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def api(self, method, path, body=None, timeout=60):
        """The hub's REST API (``/hub/api`` + path) with the trial's admin service token."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/hub/api{path}", data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    def home(self, user):
        return Path(pwd.getpwnam(user).pw_dir)

    def uid(self, user):
        return pwd.getpwnam(user).pw_uid

    def instructor_env(self):
        """What the instructor's hub session sets (jupyterhub_config.py), for a shell."""
        return {"HOME": str(Path(pwd.getpwnam(self.instructor).pw_dir)),
                "USER": self.instructor, "LANG": "C.UTF-8",
                "PATH": f"{self.env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
                "PYTHONPATH": str(self.course),
                "COURSE_ID": self.settings["course_id"],
                "COURSE_EXCHANGE": self.settings["exchange"],
                "COURSE_HUB_SETTINGS": str(self.prefix / "etc/course-hub.json")}

    def as_user(self, user, *args, env=None, timeout=600, check=True, cwd=None):
        """Run ``args`` as the Unix account ``user`` (runuser), with a clean environment."""
        home = pwd.getpwnam(user).pw_dir
        env = env or {"HOME": home, "USER": user, "LANG": "C.UTF-8",
                      "PATH": "/usr/local/bin:/usr/bin:/bin"}
        return run(["runuser", "-u", user, "--", "env", "-i",
                    *(f"{k}={v}" for k, v in env.items()), *map(str, args)],
                   timeout=timeout, check=check, cwd=cwd or home)

    def as_instructor(self, *args, timeout=600, check=True):
        """A command as the instructor types it in the hub's Terminal, in the course folder."""
        return self.as_user(self.instructor, *args, env=self.instructor_env(), timeout=timeout,
                            check=check, cwd=self.course)
