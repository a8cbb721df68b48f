"""docs/scale.md: every recipe parses, and every command in it is accepted by the parser that will read it."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

import yaml
from test_ci_workflow import WORKFLOW, repro_verify_commands

from repro_magics.cli.command import verify_parser

ROOT = Path(__file__).parent.parent
PAGE = ROOT / "docs" / "scale.md"


def recipes() -> dict[str, str]:
    """The fenced block after each `<!-- recipe: NAME -->` marker, by name."""
    found = re.findall(r"<!-- recipe: ([\w-]+) -->\n```\w+\n(.*?)\n```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    return dict(found)


def parse_verify(argv: list[str]) -> Any:
    """What `repro-verify ARGV` would be given; the parser's own error (SystemExit or UsageFailure) if not."""
    assert argv[0] == "repro-verify", argv
    return verify_parser().parse_args(argv[1:])


def shell_commands(script: str, program: str) -> list[list[str]]:
    joined = script.replace("\\\n", " ")
    return [shlex.split(line.strip()) for line in joined.splitlines() if line.strip().startswith(program + " ")]


def test_when_the_page_is_read_then_every_recipe_is_there_and_in_the_docs_navigation() -> None:
    assert set(recipes()) == {
        "github-actions",
        "kubernetes-indexed-job",
        "dask-by-hand",
        "dask-kubernetes",
        "dask-kubernetes-verify",
        "dask-helm",
        "dask-jobqueue",
    }
    assert "scale.md" in (ROOT / "mkdocs.yml").read_text()


def test_when_the_actions_recipe_is_read_then_it_is_the_workflows_own_command() -> None:
    shown = repro_verify_commands(recipes()["github-actions"])
    in_workflow = repro_verify_commands(WORKFLOW.read_text())
    assert shown and shown[0] in in_workflow
    assert parse_verify(shown[0]).shard is not None


def test_when_the_indexed_job_runs_then_its_pods_verify_every_share_once() -> None:
    job = yaml.safe_load(recipes()["kubernetes-indexed-job"])
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["template"]["spec"]["restartPolicy"] == "Never"
    container = spec["template"]["spec"]["containers"][0]
    assert container["command"] == ["bash", "-c"]
    script = container["args"][0]
    shares = set()
    for index in range(spec["completions"]):
        # What bash makes of the index expressions in pod `index`.
        filled = script.replace("$((JOB_COMPLETION_INDEX + 1))", str(index + 1))
        filled = filled.replace("$JOB_COMPLETION_INDEX", str(index))
        (command,) = [shlex.split(part.strip()) for part in filled.split(";") if "repro-verify" in part]
        arguments = parse_verify(command)
        assert arguments.shard.count == spec["completions"]
        shares.add(arguments.shard.index)
    assert shares == set(range(1, spec["completions"] + 1))


def test_when_a_dask_cluster_is_started_by_hand_then_dask_and_repro_verify_accept_each_command() -> None:
    from distributed.cli.dask_scheduler import main as scheduler_main
    from distributed.cli.dask_worker import main as worker_main

    script = recipes()["dask-by-hand"]
    (scheduler,) = shell_commands(script.replace("DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1 ", ""), "dask")[:1]
    assert scheduler[1] == "scheduler"
    scheduler_options = scheduler_main.make_context("dask scheduler", scheduler[2:]).params
    (worker,) = [command for command in shell_commands(script, "dask") if command[1] == "worker"]
    worker_options = worker_main.make_context("dask worker", worker[2:]).params
    assert worker_options["nthreads"] == 1
    (verify,) = shell_commands(script, "repro-verify")
    address = parse_verify(verify).executor
    assert address == f"dask://{scheduler_options['host']}:{scheduler_options['port']}"
    assert worker_options["scheduler"] == f"tcp://{address.removeprefix('dask://')}"


def test_when_the_dask_operator_recipe_is_applied_then_workers_have_one_thread_and_the_service_is_the_address() -> None:
    from distributed.cli.dask_worker import main as worker_main

    cluster = yaml.safe_load(recipes()["dask-kubernetes"])
    assert (cluster["apiVersion"], cluster["kind"]) == ("kubernetes.dask.org/v1", "DaskCluster")
    worker_args = cluster["spec"]["worker"]["spec"]["containers"][0]["args"]
    assert worker_args[0] == "dask-worker"
    worker_main.make_context("dask worker", [*worker_args[1:], "tcp://scheduler:8786"])
    assert worker_args[worker_args.index("--nthreads") + 1] == "1"
    service = cluster["spec"]["scheduler"]["service"]
    port = service["ports"][0]["port"]
    (verify,) = shell_commands(recipes()["dask-kubernetes-verify"], "repro-verify")
    assert parse_verify(verify).executor == f"dask://{cluster['metadata']['name']}-scheduler:{port}"

    values = yaml.safe_load(recipes()["dask-helm"])
    assert values["worker"]["threads_per_worker"] == 1 and values["jupyter"]["enabled"] is False


def test_when_the_jobqueue_script_is_read_then_it_compiles_and_repro_verify_accepts_its_arguments() -> None:
    source = recipes()["dask-jobqueue"]
    tree = ast.parse(source)
    (assignment,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "arguments"
    ]
    assert isinstance(assignment.value, ast.List)
    argv = []
    for element in assignment.value.elts:
        if isinstance(element, ast.Constant):
            argv.append(element.value)
        elif isinstance(element, ast.JoinedStr):  # f"dask://{address}"
            argv.append("dask://10.0.0.5:8786")
        else:  # *sys.argv[1:]
            argv.append("notebooks/a.ipynb")
    arguments = parse_verify(["repro-verify", *argv])
    assert arguments.executor == "dask://10.0.0.5:8786" and arguments.changed
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert {"SLURMCluster", "main"} <= imported
