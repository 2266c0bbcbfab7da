#!/usr/bin/env bash
# Release notebooks to the class, as the instructor (not root): a Terminal in the instructor's
# hub session, or `sudo -u prof deploy/jupyterhub/release.sh ...`.
#
#   deploy/jupyterhub/release.sh 01_perceptron [02_activation_functions ...]
#
# 1. `python -m autograder release NN... --exchange`: regenerate lectures/NN from solutions/ and
#    put them in nbgrader's exchange (students fetch them from the Assignments tab);
# 2. publish the students' files: `python -m autograder bundle` for every notebook released so far
#    (utils without the answers of released or later notebooks), unpacked in <prefix>/student,
#    which is on the students' Python path. Students restart their kernel to pick up the new utils.
#
# --publish-only: step 2 alone. --settings FILE: the hub's course-hub.json (default: $COURSE_HUB_SETTINGS,
# set in the instructor's hub session, else /opt/deep-learning-hub/etc/course-hub.json).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SETTINGS=${COURSE_HUB_SETTINGS:-/opt/deep-learning-hub/etc/course-hub.json}
PUBLISH_ONLY=0
NAMES=()
while [ $# -gt 0 ]; do
    case "$1" in
        --publish-only) PUBLISH_ONLY=1 ;;
        --settings) SETTINGS=$2; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) NAMES+=("$1") ;;
    esac
    shift
done
[ -r "$SETTINGS" ] || { echo "release.sh: no hub settings at $SETTINGS (--settings FILE)" >&2; exit 1; }
setting() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$SETTINGS" "$1"; }
PY="$(setting env)/bin/python"
EXCHANGE=$(setting exchange)
COURSE_ID=$(setting course_id)
STUDENT_FILES=$(setting student_files)
# The class's environment, with this repository first on the path (its utils and grader).
export PYTHONPATH="$REPO" COURSE_EXCHANGE="$EXCHANGE" COURSE_ID="$COURSE_ID"
cd "$REPO"

if [ "$PUBLISH_ONLY" = 0 ]; then
    [ ${#NAMES[@]} -gt 0 ] || { echo "release.sh: name the notebooks to release (e.g. 01_perceptron)" >&2; exit 2; }
    "$PY" -m autograder release "${NAMES[@]}" --exchange
fi

# Every notebook in the exchange so far: the student files hold no answers for any of them.
RELEASED=$(find "$EXCHANGE/$COURSE_ID/outbound" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | tr '\n' ' ')
if [ -z "$RELEASED" ]; then
    echo "nothing released yet: no students' files to publish"
    exit 0
fi
WORK=$(mktemp -d "$STUDENT_FILES/.new.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if "$PY" -m autograder bundle --help | grep -q assignments; then
    # shellcheck disable=SC2086  # one argument per released notebook
    "$PY" -m autograder bundle $RELEASED --out "$WORK/student-bundle.zip"
else  # a course version whose bundle cannot leave answers out: say so
    echo "release.sh: WARNING: this course's 'bundle' takes no notebook names; its utils may hold answers" >&2
    "$PY" -m autograder bundle --out "$WORK/student-bundle.zip"
fi
"$PY" -m zipfile -e "$WORK/student-bundle.zip" "$WORK/files"
chmod -R u=rwX,go=rX "$WORK/files"
# Swap in place of the old files (students' new kernels see the whole new set or the old one).
rm -rf "$STUDENT_FILES/deep-learning-course.old"
[ -d "$STUDENT_FILES/deep-learning-course" ] && mv "$STUDENT_FILES/deep-learning-course" "$STUDENT_FILES/deep-learning-course.old"
mv "$WORK/files/deep-learning-course" "$STUDENT_FILES/deep-learning-course"
rm -rf "$STUDENT_FILES/deep-learning-course.old"
echo "published the students' files for: $RELEASED -> $STUDENT_FILES"
