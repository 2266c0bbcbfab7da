"""nbgrader's submit, with the submission reachable by the instructors' group only.

Stock nbgrader leaves a submission in `<exchange>/<course>/inbound/` world-readable (its folder
0777, files 0644), hidden only by an unguessable folder name: any student who learns the name can
read it, or change it. Here the submission's folder becomes 0770: it belongs to the instructors'
group (setup.sh makes `inbound/` setgid to that group, and a new folder takes its group), so the
instructor's collect reads it, and no other student can enter it, whatever the files' modes.

Chosen by `c.ExchangeFactory.submit = "course_exchange.GroupOnlySubmit"` (nbgrader's pluggable
exchange) in the students' nbgrader_config.py that setup.sh writes.
"""
import os

from nbgrader.exchange.default.submit import ExchangeSubmit


class GroupOnlySubmit(ExchangeSubmit):
    def copy_files(self):
        super().copy_files()
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), 0o770)
