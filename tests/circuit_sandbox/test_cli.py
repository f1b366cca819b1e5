"""`circuit-sandbox up / apply / terraform / destroy`: any root module, in AWS on this machine."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from circuit_sandbox import cli

MODULE = Path(__file__).parent / "fixtures" / "parameter"
COMMAND = [sys.executable, "-m", "circuit_sandbox"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_up_refuses_a_port_something_already_listens_on(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as refused:
            cli.main(["up", "--port", str(port)])
    assert refused.value.code == 2
    assert "already answers: is a sandbox already up?" in capsys.readouterr().err


def test_apply_says_how_to_start_a_sandbox_when_none_answers(capsys):
    with pytest.raises(SystemExit):
        cli.main(["apply", str(MODULE), "--endpoint", f"http://127.0.0.1:{free_port()}"])
    assert "start one with `circuit-sandbox up`" in capsys.readouterr().err


def test_apply_refuses_a_folder_without_terraform(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["apply", str(tmp_path)])
    assert "is not a folder of .tf files" in capsys.readouterr().err


def test_a_var_file_is_found_from_where_the_user_stands(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli._absolute_var_files(["-var-file=prod.tfvars", "-var", "a=b"]) == [
        f"-var-file={tmp_path / 'prod.tfvars'}",
        "-var",
        "a=b",
    ]


# A backend of the module's own: the sandbox must keep its state locally instead, and never reach S3.
S3_BACKEND = 'terraform {\n  backend "s3" {\n    bucket = "team-state"\n    key    = "orders.tfstate"\n  }\n}\n'


def test_up_then_apply_terraform_and_destroy_a_root_module_of_ones_own(tmp_path):
    module = shutil.copytree(MODULE, tmp_path / "module")
    (module / "backend.tf").write_text(S3_BACKEND)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    up = subprocess.Popen(
        [*COMMAND, "up", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        banner = up.stdout.readline()  # printed once the emulator listens
        assert banner.startswith(f"AWS on this machine at {endpoint}"), banner
        environment = {**os.environ, "AWS_ENDPOINT_URL": endpoint}

        def sandbox(*args: str) -> subprocess.CompletedProcess:
            ran = subprocess.run(
                [*COMMAND, *args], capture_output=True, text=True, timeout=300, env=environment, cwd=tmp_path
            )
            assert "Deprecated" not in ran.stdout + ran.stderr, ran.stdout + ran.stderr
            return ran

        applied = sandbox("apply", str(module), "-var", "value=first")
        assert applied.returncode == 0, applied.stderr
        outputs = json.loads(applied.stdout)
        assert outputs["parameter_arn"].endswith(":parameter/circuit-sandbox-cli/value")
        assert "Apply complete! Resources: 1 added" in applied.stderr
        ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1")
        assert ssm.get_parameter(Name="/circuit-sandbox-cli/value")["Parameter"]["Value"] == "first"

        listed = sandbox("terraform", str(module), "state", "list")
        assert listed.returncode == 0 and listed.stdout.split() == ["aws_ssm_parameter.this"], listed.stderr
        # Init again with a state in place (Terraform 1.15 would look its providers up in the registry).
        initialised = sandbox("terraform", str(module), "init", "-no-color")
        assert initialised.returncode == 0, initialised.stdout + initialised.stderr
        planned = sandbox("terraform", str(module), "plan", "-var", "value=second", "-no-color")
        assert "1 to change" in planned.stdout, planned.stdout + planned.stderr

        destroyed = sandbox("destroy", str(module), "-var", "value=first")
        assert destroyed.returncode == 0 and "Destroy complete! Resources: 1 destroyed" in destroyed.stderr
        assert ssm.describe_parameters()["Parameters"] == []
        assert sorted(path.name for path in module.iterdir()) == ["backend.tf", "main.tf"]  # nothing left behind
    finally:
        up.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        while up.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0
