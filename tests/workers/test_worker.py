"""The worker entry point registers every workflow and drains on SIGTERM."""

import inspect
import os
import signal
import subprocess
import sys
import time

import activities.assets
from workers import registry


def test_registry_lists_every_workflow_and_activity(sessions):
    import workflows.asset

    declared = {
        obj
        for _, obj in inspect.getmembers(workflows.asset, inspect.isclass)
        if hasattr(obj, "__temporal_workflow_definition")
    }
    assert declared <= set(registry.WORKFLOWS)
    registered = {fn.__name__ for fn in registry.activities(sessions)}
    methods = {
        name
        for name, fn in inspect.getmembers(activities.assets.AssetActivities)
        if hasattr(fn, "__temporal_activity_definition")
    }
    assert methods <= registered


def test_worker_stops_cleanly_on_sigterm(db_url, dev_env, tmp_path):
    env = {
        **os.environ,
        "PLANTOPS_DATABASE_URL": db_url,
        "PLANTOPS_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "PLANTOPS_TASK_QUEUE": "sigterm-test",
        "PLANTOPS_DATA_DIR": str(tmp_path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "worker polling task queue sigterm-test" in line:
            break
    else:
        proc.kill()
        raise AssertionError("worker did not start: " + "".join(lines))
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "worker shutting down" in out


def test_the_processes_run_workflows_without_the_sandbox_unless_asked(settings):
    # The suite runs every workflow in the sandbox (its checks) and replays recorded
    # histories; the worker processes spare its cost per activation unless configured.
    from temporalio.worker import UnsandboxedWorkflowRunner
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    from workers.worker import RUNNER, runner

    assert isinstance(runner(settings), UnsandboxedWorkflowRunner)
    checked = runner(settings.model_copy(update={"workflow_sandbox": True}))
    assert checked is RUNNER and isinstance(checked, SandboxedWorkflowRunner)
