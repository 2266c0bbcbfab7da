#!/usr/bin/env bash
# Stand the course up on one machine as a JupyterHub for a class. Run as root, from the
# instructor's clone of the repository (that clone becomes the instructor's course: solutions,
# gradebook, grader). Idempotent: run it again after `git pull` or to add students.
#
#   sudo deploy/jupyterhub/setup.sh --instructor prof --students "alice bob ..."
#
# Steps (each is a section below; README.md "Running a class on JupyterHub" walks through them):
#   1. groups: the students' and the instructors' Unix groups (who may log in); homes made private
#   2. the class's Python environment: JupyterHub + the course's packages (pinned), no course code
#   3. the proxy: configurable-http-proxy from npm, exactly as pinned in proxy/package-lock.json
#   4. nbgrader's exchange: <exchange> 1777, its course folder owned by the instructor, inbound/
#      setgid to the instructors' group, and submissions readable by that group only
#   5. the instructor's course: the repository private to the instructor (0700)
#   6. the students' files: what `release.sh` publishes (utils without answers), on their path
#   7. the Jupyter configuration per role, and the hub's own (etc/course-hub.json)
#   8. a systemd unit (deep-learning-hub.service) when systemd runs the machine
#
# Options (defaults in brackets):
#   --instructor NAME        the instructor's Unix account (required; must exist)
#   --students "A B ..."     Unix accounts to add to the students' group (they must exist) [none]
#   --students-group NAME    [deep-learning-students]   --instructors-group NAME [deep-learning-instructors]
#   --prefix DIR             where the hub's files go [/opt/deep-learning-hub]
#   --env DIR                the Python environment (created if missing) [<prefix>/env]
#   --exchange DIR           nbgrader's exchange [/srv/nbgrader/exchange]
#   --course-id ID           [deep-learning]
#   --ip ADDR --port N       where the hub listens [0.0.0.0 8000]; --hub-port N [8081], --proxy-api-port N [8001]
#   --auth pam|shared-password   [pam]; shared-password reads --password-file FILE (tests, trials)
#   --idle-timeout SECONDS   stop servers idle this long (0: never) [3600]
#   --python FILE            the Python to build the environment with; every account must be able to
#                            run it (not one under /root, e.g. pyenv's) [/usr/bin/python3]
#   --proxy FILE             use this configurable-http-proxy instead of installing it [npm ci]
#   --ssl-cert FILE --ssl-key FILE   serve HTTPS directly (or put nginx/caddy in front)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
DEPLOY="$REPO/deploy/jupyterhub"
INSTRUCTOR="" STUDENTS="" STUDENTS_GROUP=deep-learning-students
INSTRUCTORS_GROUP=deep-learning-instructors PREFIX=/opt/deep-learning-hub ENV_DIR=""
EXCHANGE=/srv/nbgrader/exchange COURSE_ID=deep-learning IP=0.0.0.0 PORT=8000 HUB_PORT=8081
PROXY_API_PORT=8001 AUTH=pam PASSWORD_FILE="" IDLE_TIMEOUT=3600 SSL_CERT="" SSL_KEY="" PROXY="" PYTHON=/usr/bin/python3
while [ $# -gt 0 ]; do
    case "$1" in
        --instructor) INSTRUCTOR=$2 ;;          --students) STUDENTS=$2 ;;
        --students-group) STUDENTS_GROUP=$2 ;;  --instructors-group) INSTRUCTORS_GROUP=$2 ;;
        --prefix) PREFIX=$2 ;;                  --env) ENV_DIR=$2 ;;
        --exchange) EXCHANGE=$2 ;;              --course-id) COURSE_ID=$2 ;;
        --ip) IP=$2 ;;                          --port) PORT=$2 ;;
        --hub-port) HUB_PORT=$2 ;;              --proxy-api-port) PROXY_API_PORT=$2 ;;
        --auth) AUTH=$2 ;;                      --password-file) PASSWORD_FILE=$2 ;;
        --idle-timeout) IDLE_TIMEOUT=$2 ;;      --proxy) PROXY=$2 ;;
        --python) PYTHON=$2 ;;
        --ssl-cert) SSL_CERT=$2 ;;              --ssl-key) SSL_KEY=$2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift 2
done
ENV_DIR=${ENV_DIR:-$PREFIX/env}
say() { printf '\n== %s\n' "$*"; }
die() { echo "setup.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it creates groups, an environment in $PREFIX and the exchange)"
[ -n "$INSTRUCTOR" ] || die "--instructor NAME is required"
id "$INSTRUCTOR" >/dev/null 2>&1 || die "no Unix account '$INSTRUCTOR' (create it: useradd -m $INSTRUCTOR)"
case "$AUTH" in
    pam) ;;
    shared-password) [ -s "$PASSWORD_FILE" ] || die "--auth shared-password needs --password-file FILE" ;;
    *) die "--auth is pam or shared-password" ;;
esac

say "1. groups: $STUDENTS_GROUP (students), $INSTRUCTORS_GROUP (instructors)"
groupadd -f "$STUDENTS_GROUP"
groupadd -f "$INSTRUCTORS_GROUP"
usermod -aG "$INSTRUCTORS_GROUP" "$INSTRUCTOR"
for student in $STUDENTS; do
    id "$student" >/dev/null 2>&1 || die "no Unix account '$student'"
    usermod -aG "$STUDENTS_GROUP" "$student"
done
# Each member's home: theirs alone (a student's notebooks, nbgrader's cache of their submissions).
for user in "$INSTRUCTOR" $(getent group "$STUDENTS_GROUP" | cut -d: -f4 | tr , ' '); do
    home=$(getent passwd "$user" | cut -d: -f6)
    [ -d "$home" ] && chmod 0700 "$home"
done

say "2. the class's Python environment: $ENV_DIR"
install -d -m 0755 "$PREFIX" "$PREFIX/etc"
[ -x "$ENV_DIR/bin/python" ] || "$PYTHON" -m venv "$ENV_DIR"
# Every user's server runs this Python: a venv whose interpreter only root can reach fails there.
runuser -u nobody -- "$ENV_DIR/bin/python" -c "" 2>/dev/null \
    || die "$ENV_DIR/bin/python cannot be run by other users (built from $(readlink -f "$ENV_DIR/bin/python")); rebuild it with --python /usr/bin/python3"
grep -v '^-e ' "$REPO/requirements.txt" > "$PREFIX/etc/course-requirements.txt"  # no course code
STAMP="$ENV_DIR/.course-hub-requirements"  # what was installed last: skip pip when unchanged
if [ "$(cat "$STAMP" 2>/dev/null)" != "$(cat "$REPO/requirements.txt" "$DEPLOY/requirements.txt")" ]; then
    "$ENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$PREFIX/etc/course-requirements.txt" -r "$DEPLOY/requirements.txt"
    cat "$REPO/requirements.txt" "$DEPLOY/requirements.txt" > "$STAMP"
fi
SITE=$("$ENV_DIR/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
install -m 0644 "$DEPLOY/course_exchange.py" "$SITE/course_exchange.py"
# JupyterLab for a class: no news or update checks from the internet.
install -d "$ENV_DIR/share/jupyter/lab/settings"
cat > "$ENV_DIR/share/jupyter/lab/settings/overrides.json" <<'EOF'
{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}
EOF

say "3. the proxy: configurable-http-proxy (npm ci, pinned)"
if [ -z "$PROXY" ]; then
    install -d -m 0755 "$PREFIX/proxy"
    cp "$DEPLOY/proxy/package.json" "$DEPLOY/proxy/package-lock.json" "$PREFIX/proxy/"
    if ! cmp -s "$PREFIX/proxy/package-lock.json" "$PREFIX/proxy/node_modules/.package-lock.json.installed" 2>/dev/null; then
        (cd "$PREFIX/proxy" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
        cp "$PREFIX/proxy/package-lock.json" "$PREFIX/proxy/node_modules/.package-lock.json.installed"
    fi
    PROXY="$PREFIX/proxy/node_modules/.bin/configurable-http-proxy"
fi
"$PROXY" --version >/dev/null

say "4. nbgrader's exchange: $EXCHANGE/$COURSE_ID"
install -d -m 1777 "$EXCHANGE"  # nbgrader checks it is writable by all; sticky: no one removes another's
install -d -m 0755 -o "$INSTRUCTOR" -g "$INSTRUCTORS_GROUP" "$EXCHANGE/$COURSE_ID" \
    "$EXCHANGE/$COURSE_ID/outbound"
# Students drop submissions in, cannot list them; new ones take the instructors' group.
install -d -m 2733 -o "$INSTRUCTOR" -g "$INSTRUCTORS_GROUP" "$EXCHANGE/$COURSE_ID/inbound"
install -d -m 0711 -o "$INSTRUCTOR" -g "$INSTRUCTORS_GROUP" "$EXCHANGE/$COURSE_ID/feedback"

say "5. the instructor's course: $REPO (private to $INSTRUCTOR)"
chown -R "$INSTRUCTOR:" "$REPO"
chmod 0700 "$REPO"

say "6. the students' files: $PREFIX/student (published by release.sh, as $INSTRUCTOR)"
install -d -m 0755 -o "$INSTRUCTOR" -g "$INSTRUCTORS_GROUP" "$PREFIX/student"
echo "$PREFIX/student/deep-learning-course" > "$SITE/deep_learning_course_student.pth"

say "7. the configuration: $PREFIX/etc"
install -d -m 0755 "$PREFIX/etc/jupyter-student/labconfig" "$PREFIX/etc/jupyterhub_config.d"
install -d -m 0700 "$PREFIX/state"
cat > "$PREFIX/etc/jupyter-student/nbgrader_config.py" <<EOF
# Students' nbgrader: the class's exchange; submissions readable by the instructors only.
c = get_config()
c.Exchange.root = "$EXCHANGE"
c.CourseDirectory.course_id = "$COURSE_ID"
c.ExchangeFactory.submit = "course_exchange.GroupOnlySubmit"
EOF
cat > "$PREFIX/etc/jupyter-student/jupyter_server_config.json" <<'EOF'
{"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": false,
                                       "nbgrader.server_extensions.course_list": false}}}
EOF
cat > "$PREFIX/etc/jupyter-student/labconfig/page_config.json" <<'EOF'
{"disabledExtensions": {"@jupyter/nbgrader:formgrader": true,
                        "@jupyter/nbgrader:course-list": true,
                        "@jupyter/nbgrader:create-assignment": true}}
EOF
install -m 0644 "$DEPLOY/jupyterhub_config.py" "$PREFIX/etc/jupyterhub_config.py"
"$ENV_DIR/bin/python" - "$PREFIX/etc/course-hub.json" <<EOF
import json, sys
settings = {
    "prefix": "$PREFIX", "env": "$ENV_DIR", "proxy": "$PROXY", "exchange": "$EXCHANGE",
    "course_id": "$COURSE_ID", "instructor_course": "$REPO", "student_files": "$PREFIX/student",
    "students_group": "$STUDENTS_GROUP", "instructors_group": "$INSTRUCTORS_GROUP",
    "ip": "$IP", "port": $PORT, "hub_port": $HUB_PORT, "proxy_api_port": $PROXY_API_PORT,
    "auth": "$AUTH", "shared_password_file": "$PASSWORD_FILE", "idle_timeout": $IDLE_TIMEOUT,
    "ssl_cert": "$SSL_CERT", "ssl_key": "$SSL_KEY",
}
with open(sys.argv[1], "w") as f:
    json.dump(settings, f, indent=1)
EOF

say "6b. publish the students' files for what is already released"
runuser -u "$INSTRUCTOR" -- env -i HOME="$(getent passwd "$INSTRUCTOR" | cut -d: -f6)" \
    PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    "$DEPLOY/release.sh" --publish-only --settings "$PREFIX/etc/course-hub.json"

START="$ENV_DIR/bin/jupyterhub -f $PREFIX/etc/jupyterhub_config.py"
if [ -d /run/systemd/system ]; then
    say "8. systemd: deep-learning-hub.service"
    sed -e "s|@START@|$START|" -e "s|@PREFIX@|$PREFIX|" "$DEPLOY/deep-learning-hub.service" \
        > /etc/systemd/system/deep-learning-hub.service
    systemctl daemon-reload
    echo "start it:  systemctl enable --now deep-learning-hub"
else
    say "8. no systemd here: start the hub with"
    echo "  cd $PREFIX/state && $START"
fi
echo
echo "Then, as $INSTRUCTOR (a Terminal in their hub session):  deploy/jupyterhub/release.sh 01_perceptron"
