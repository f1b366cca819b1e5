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


def test_clients_a_function_creates_wait_for_the_emulator_whatever_timeouts_it_sets(tmp_path):
    """The emulator can be slower than AWS: every client in an environment gets its patience, retries kept."""
    from pathlib import Path

    from circuit_sandbox.aws.runner import FunctionSpec, ProcessRunner
    from circuit_sandbox.aws.worker import EMULATOR_CLIENT_TIMEOUT_SECONDS

    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(
        textwrap.dedent(
            """
            import boto3
            from botocore.config import Config

            IMPATIENT = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})
            AT_INIT = boto3.client("sqs", region_name="us-east-1", config=IMPATIENT)


            def handler(event, context):
                later = boto3.client("sqs", region_name="us-east-1", config=IMPATIENT)
                configs = [client.meta.config for client in (AT_INIT, later)]
                return [[c.connect_timeout, c.read_timeout, c.retries["total_max_attempts"]] for c in configs]
            """
        )
    )
    runner = ProcessRunner({})
    try:
        runner.register(FunctionSpec("patient", "app.handler", Path(code)))
        patience = EMULATOR_CLIENT_TIMEOUT_SECONDS
        assert runner.invoke("patient", {}).response() == [[patience, patience, 2]] * 2
    finally:
        runner.close()


def test_an_environment_runs_its_packages_own_modules_whatever_this_process_imported_under_their_names(
    tmp_path, monkeypatch
):
    """A package's modules are its own even where this process already imported a module of the same name from
    elsewhere (the source tree, an earlier version of the code): the environment's settings are its own. A file
    named like a module of Python's own library does not replace the process's."""
    from circuit_sandbox.aws.runner import FunctionSpec, ModuleEnvironment

    for folder, version in (("deployed", "deployed"), ("elsewhere", "elsewhere")):
        package = tmp_path / folder / "shared_core"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(
            f"import os\nVERSION = {version!r}\nSERVICE = os.environ.get('SERVICE', 'unset')\n"
        )
    (tmp_path / "deployed" / "queue.py").write_text("SHADOWED = True\n")
    (tmp_path / "deployed" / "app.py").write_text(
        "import queue\nimport shared_core\n\n"
        "def handler(event, context):\n"
        "    return [shared_core.VERSION, shared_core.SERVICE, hasattr(queue, 'SHADOWED')]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "elsewhere"))
    monkeypatch.setitem(sys.modules, "shared_core", None)  # recorded as absent: taken out when the test ends
    del sys.modules["shared_core"]
    import shared_core  # this process's own, imported before the environment starts

    queue = sys.modules["queue"]
    spec = FunctionSpec("app", "app.handler", tmp_path / "deployed", {"SERVICE": "orders"})
    environment = ModuleEnvironment(spec)
    assert environment.handler({}, None) == ["deployed", "orders", False]
    assert sys.modules["shared_core"] is shared_core  # put back for the process
    assert sys.modules["queue"] is queue
