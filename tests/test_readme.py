"""The README's two commands stay true: CI runs the README's test command verbatim."""
import os.path as osp
import re

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_ci_runs_the_readme_test_command():
    readme = open(osp.join(REPO, "README.md")).read()
    commands = re.findall(r"```bash\n(.+?)\n```", readme)
    assert len(commands) >= 2, "the README must give two commands for a fresh machine"
    test_command = commands[1]
    ci = open(osp.join(REPO, ".ci", "run")).read().splitlines()
    assert test_command in ci, f".ci/run must run the README's test command: {test_command}"
