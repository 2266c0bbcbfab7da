"""The gradebook on a real PostgreSQL server (started here on a private socket)."""
import os
import shutil
import subprocess
import tempfile
from glob import glob
from pathlib import Path

import pytest

from submissions import copy_course, read_csv, run_cli, scores, submission, submit

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]

A = "01_perceptron"


def _bin(name):
    found = shutil.which(name) or next(iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    return found


@pytest.fixture(scope="module")
def postgres():
    pytest.importorskip("psycopg2", reason="psycopg2 is the PostgreSQL driver (make test installs it)")
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    base = Path(tempfile.mkdtemp(prefix="course-pg-", dir="/tmp"))
    base.chmod(0o777)
    run_as = []
    if os.getuid() == 0:  # PostgreSQL refuses to run as root
        if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, sock, port = base / "data", base / "sock", "55432"
    sock.mkdir()
    sock.chmod(0o777)
    user = "postgres" if run_as else os.environ.get("USER", "postgres")
    subprocess.run([*run_as, initdb, "-D", str(data), "-U", user, "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run([*run_as, pg_ctl, "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                    f"-k {sock} -p {port} -c listen_addresses=''", "start"],
                   check=True, capture_output=True)
    try:
        subprocess.run([*run_as, _bin("createdb"), "-h", str(sock), "-p", port, "-U", user,
                        "gradebook"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://{user}@/gradebook?host={sock}&port={port}"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_grading_into_a_postgresql_gradebook(postgres, tmp_path):
    from nbgrader.api import Gradebook

    course_dir = copy_course(tmp_path / "course", [A])
    env = {"COURSE_DB_URL": postgres}
    for n in range(6):
        code = ("def perceptron_forward(X, w, w0, g):\n    return g(w0 + X @ w)\n" if n % 2 == 0
                else "def perceptron_forward(X, w, w0, g):\n    return g(X @ w)\n")
        submit(course_dir, f"student{n}", A, submission(course_dir, A, {"perceptron_forward": code}))
    (course_dir / "autograder" / "gradebook.db").unlink()  # made by the release above
    run_cli(course_dir, "grade", "--workers", "2", env=env)
    rows = read_csv(course_dir)
    assert not (course_dir / "autograder" / "gradebook.db").exists(), "SQLite was used"
    with Gradebook(postgres) as gb:
        for n in range(6):
            expected = 3.0 if n % 2 == 0 else 0.0
            assert scores(rows, f"student{n}", A)["test_perceptron_forward"][0] == expected
            grade = gb.find_grade("test_perceptron_forward", A, A, f"student{n}")
            assert grade.score == expected
        assert len(gb.students) == 6
