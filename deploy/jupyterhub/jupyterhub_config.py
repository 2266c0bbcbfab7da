"""JupyterHub for one class on one machine: local Unix accounts, nbgrader's exchange.

`setup.sh` copies this file to <prefix>/etc/ and writes `course-hub.json` beside it; the hub
then runs as root with `<prefix>/env/bin/jupyterhub -f <prefix>/etc/jupyterhub_config.py`.
Everything specific to the machine comes from course-hub.json (see setup.sh for its keys).

- Who may log in: members of the students' and the instructors' Unix groups.
- How: PAM (the machine's own passwords, or whatever PAM is wired to: LDAP, Kerberos, SSSD —
  what a university uses), or one shared password (`"auth": "shared-password"`, for trials and
  tests only).
- Each user's server runs as that Unix user (LocalProcessSpawner) from the course's Python
  environment. Students get nbgrader's Assignments tab and Validate button, and `utils` from the
  student files published by the instructor (no answers); the instructor also gets the
  formgrader, with the course repository first on the Python path (its `utils` and grader).
- Servers idle for an hour are stopped (jupyterhub-idle-culler), so memory goes to those working.
"""
import grp
import json
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

HERE = Path(__file__).resolve().parent
SETTINGS = json.loads((HERE / "course-hub.json").read_text())
ENV = Path(SETTINGS["env"])           # the Python environment every server runs from
PREFIX = Path(SETTINGS["prefix"])     # where setup.sh put the hub's files
STATE = PREFIX / "state"              # the hub's database and cookie secret (root only)
INSTRUCTORS = SETTINGS["instructors_group"]
STUDENTS = SETTINGS["students_group"]


def members(group):
    """The Unix group's members: its supplementary members and the users whose primary group
    it is (read from the system's databases at each call)."""
    import pwd

    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return set()
    return set(entry.gr_mem) | {u.pw_name for u in pwd.getpwall() if u.pw_gid == entry.gr_gid}


# -- the hub and its proxy ----------------------------------------------------------------------
c.JupyterHub.ip = SETTINGS.get("ip", "0.0.0.0")
c.JupyterHub.port = int(SETTINGS.get("port", 8000))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(SETTINGS.get("hub_port", 8081))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(SETTINGS.get('proxy_api_port', 8001))}"
c.ConfigurableHTTPProxy.command = [SETTINGS["proxy"]]
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
if SETTINGS.get("ssl_cert"):  # otherwise put a TLS-terminating proxy (nginx, caddy) in front
    c.JupyterHub.ssl_cert = SETTINGS["ssl_cert"]
    c.JupyterHub.ssl_key = SETTINGS["ssl_key"]

# -- who logs in, and how -----------------------------------------------------------------------
if SETTINGS.get("auth", "pam") == "pam":
    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}  # looked up at each login
    c.PAMAuthenticator.admin_groups = {INSTRUCTORS}
else:  # one password for everyone: trials and tests, never a real class
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = (
        Path(SETTINGS["shared_password_file"]).read_text().strip())
    c.Authenticator.allowed_users = members(STUDENTS) | members(INSTRUCTORS)
    c.Authenticator.admin_users = members(INSTRUCTORS)

# -- each user's server, as that Unix user ------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 300  # a class logging in at once on a small machine
c.Spawner.http_timeout = 300
c.JupyterHub.concurrent_spawn_limit = int(SETTINGS.get("concurrent_spawn_limit", 200))


def course_environment(spawner):
    """Per role: which Jupyter config (nbgrader's exchange, which nbgrader tabs) and which
    Python path the user's server gets."""
    name = spawner.user.name
    env = {
        "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "COURSE_ID": SETTINGS["course_id"],
        "COURSE_EXCHANGE": SETTINGS["exchange"],
    }
    if name in members(INSTRUCTORS):
        course = SETTINGS["instructor_course"]
        env["PYTHONPATH"] = course  # the repository's utils (with answers) and its grader
        env["COURSE_HUB_SETTINGS"] = str(HERE / "course-hub.json")  # for release.sh
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            [f"{course}/autograder", str(HERE / "jupyter-instructor"), f"{course}/jupyter"])
    else:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            [str(HERE / "jupyter-student"), f"{SETTINGS['student_files']}/jupyter"])
    spawner.environment.update(env)


c.Spawner.pre_spawn_hook = course_environment

# -- stop servers nobody uses, so memory goes to the students working ---------------------------
idle_timeout = int(SETTINGS.get("idle_timeout", 3600))
if idle_timeout > 0:
    c.JupyterHub.load_roles = [{
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }]
    c.JupyterHub.services = [{
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={idle_timeout}"],
    }]

# -- site additions (a TLS setup, a benchmark's service token): etc/jupyterhub_config.d/*.py ----
for extra in sorted((HERE / "jupyterhub_config.d").glob("*.py")):
    exec(compile(extra.read_text(), str(extra), "exec"))  # noqa: S102 - root-owned config files
