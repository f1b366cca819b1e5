"""circuit_sandbox.aws.runner: an execution environment is a process that does not re-run the parent's script."""

import subprocess
import sys
import textwrap


def test_a_script_without_a_main_guard_runs_once_however_many_environments_it_starts(tmp_path):
    """multiprocessing would re-run an unguarded script in every environment (and start another emulator there)."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("def handler(event, context):\n    return {'echo': event}\n")
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from circuit_sandbox.aws.runner import FunctionSpec, ProcessRunner

            with open({str(tmp_path / "runs")!r}, "a") as runs:
                runs.write("run\\n")
            runner = ProcessRunner({{}})
            runner.register(FunctionSpec("echo", "app.handler", Path({str(code)!r})))
            runner.warm("echo", 2)
            print(runner.invoke("echo", {{"n": 1}}).response())
            runner.close()
            """
        )
    )
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "{'echo': {'n': 1}}" in run.stdout
    assert (tmp_path / "runs").read_text() == "run\n"
