"""nbgrader's submit, with the submission readable by the instructors' group only.

Stock nbgrader leaves a submission in `<exchange>/<course>/inbound/` world-readable (files 0644,
its folder 0777), hidden only by an unguessable folder name: any student who learns the name
can read it, or change it. Here the files become 0640 and the folders 0750 (the submission's own
folder 0770), and since setup.sh makes `inbound/` setgid to the instructors' group, that group
(the instructor's collect) reads them and no other student can.

Chosen by `c.ExchangeFactory.submit = "course_exchange.GroupOnlySubmit"` (nbgrader's pluggable
exchange) in the students' nbgrader_config.py that setup.sh writes.
"""
import os

from nbgrader.exchange.default.submit import ExchangeSubmit


class GroupOnlySubmit(ExchangeSubmit):
    def copy_files(self):
        super().copy_files()
        submission = os.path.join(self.inbound_path, self.assignment_filename)
        for folder, _, files in os.walk(submission):
            for name in files:
                os.chmod(os.path.join(folder, name), 0o640)
            os.chmod(folder, 0o750)
        os.chmod(submission, 0o770)  # the instructors' group may remove it, as nbgrader allows
