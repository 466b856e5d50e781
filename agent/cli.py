"""The `fraudlens` command: one CLI; each package keeps its command functions, registered here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="fraudlens",
    help="Screen e-commerce behaviour for fraud, explain flagged users with a local LLM, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks that print figures measured side by side.")
eval_app = typer.Typer(help="Evaluate the detector and the agent against labelled cases.")
llm_app = typer.Typer(help="The local LLM: pull registry weights, serve them with vLLM.")
serve_app = typer.Typer(help="Long-running services.")
cases_app = typer.Typer(help="Labelled cases recorded by analysts.")


def _register_commands() -> None:
    # The CLI is the one place that sees every package (evals → agent → detectors elsewhere).
    # Command modules (`*_cli.py`) import only typer and the standard library at module level,
    # so `--help` answers at once; each command imports its heavy modules when it runs.
    from agent import investigate_cli
    from agent.api import api_cli
    from agent.llm import llm_cli
    from detectors import bench_cli, bench_screen_cli, recalibrate_cli, screen_cli, train_cli
    from evals import detector_eval_cli, eval_cli, simulate_cli

    app.command("train")(train_cli.train)
    app.command("recalibrate")(recalibrate_cli.recalibrate)
    app.command("screen")(screen_cli.screen)
    app.command("investigate")(investigate_cli.investigate)
    app.command("simulate")(simulate_cli.simulate)
    bench_app.command("detector")(bench_cli.bench_detector)
    bench_app.command("screen")(bench_screen_cli.bench_screen)
    bench_app.command("api")(api_cli.bench_api)
    bench_app.command("llm")(llm_cli.bench_llm)
    bench_app.command("prompt")(llm_cli.bench_prompt)
    eval_app.command("detector")(detector_eval_cli.eval_detector)
    eval_app.command("run")(eval_cli.eval_run)
    eval_app.command("compare")(eval_cli.eval_compare)
    eval_app.command("perturbation")(eval_cli.eval_perturbation)
    eval_app.command("replay-policy")(eval_cli.eval_replay_policy)
    eval_app.command("merge")(eval_cli.eval_merge)
    llm_app.command("pull")(llm_cli.pull)
    llm_app.command("serve")(llm_cli.serve)
    serve_app.command("api")(api_cli.serve_api)
    cases_app.command("export")(api_cli.export_cases)
    for name, group in (
        ("bench", bench_app),
        ("eval", eval_app),
        ("llm", llm_app),
        ("serve", serve_app),
        ("cases", cases_app),
    ):
        app.add_typer(group, name=name)


def main() -> None:
    _register_commands()
    app()
