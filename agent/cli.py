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
    # The CLI is the one place that sees every package (evals → agent → detectors elsewhere),
    # so imports happen here, at start-up, not at module import.
    from detectors import commands as detector_commands

    app.command("train")(detector_commands.train)
    app.command("screen")(detector_commands.screen)
    bench_app.command("detector")(detector_commands.bench_detector)

    from evals import detector_quality

    eval_app.command("detector")(detector_quality.eval_detector)

    from agent import llm_commands

    llm_app.command("pull")(llm_commands.pull)
    llm_app.command("serve")(llm_commands.serve)

    from agent import investigate_command

    app.command("investigate")(investigate_command.investigate)

    from agent.api import commands as api_commands

    serve_app.command("api")(api_commands.serve_api)
    cases_app.command("export")(api_commands.export_cases)
    bench_app.command("api")(api_commands.bench_api)

    from evals import sim_commands

    app.command("simulate")(sim_commands.simulate)

    from evals import eval_commands

    eval_app.command("run")(eval_commands.eval_run)
    eval_app.command("compare")(eval_commands.eval_compare)

    for name, group in (
        ("bench", bench_app),
        ("eval", eval_app),
        ("llm", llm_app),
        ("serve", serve_app),
        ("cases", cases_app),
    ):
        if group.registered_commands:
            app.add_typer(group, name=name)


def main() -> None:
    _register_commands()
    app()
