"""``headstart demo``: transfer vs scratch on bundled data, offline, in about a minute."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from headstart.cli.app import app, console


@app.command()
def demo(
    images: bool = typer.Option(
        True, "--images/--no-images", help="Include the digits image task (about 40 s on 2 cores)."
    ),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Use the feature cache."),
) -> None:
    """Show how much transfer beats training from scratch, on data shipped with the package."""
    from headstart.demo import SEEDS, run_demo

    start = time.perf_counter()
    console.print(
        "[bold]headstart demo[/bold]: a linear probe on 5 labelled examples per class, "
        f"held-out accuracy, mean ± sd over {len(SEEDS)} label draws"
    )
    rows = run_demo(images=images, cache=cache)
    table = Table()
    for col in ("task", "pretrained", "same net, random init", "classic baseline", "verdict (paired t)"):
        table.add_column(col)
    for r in rows:
        word, gain, t = r.verdict()
        colour = {"transfer helps": "green", "negative transfer": "red"}.get(word, "yellow")
        table.add_row(
            f"{r.task}\n{r.backbone}, {r.test_rows} test rows",
            f"{r.pretrained.mean():.3f} ± {r.pretrained.std():.3f}",
            f"{r.scratch.mean():.3f} ± {r.scratch.std():.3f}",
            f"{r.classic_name}: {r.classic.mean():.3f} ± {r.classic.std():.3f}",
            f"[{colour}]{word}[/{colour}]\n{gain:+.3f}, t = {t:.1f}",
        )
    console.print(table)
    for r in rows:
        word, gain, _ = r.verdict()
        if word == "negative transfer":
            console.print(
                f"[red]{r.task}:[/red] the pretrained features do worse than random ones ({gain:+.3f}): "
                f"ImageNet features of 8x8 digits blown up to 224 px are far from what the network saw. "
                f"headstart reports this instead of hiding it."
                if "digits" in r.task
                else f"[red]{r.task}:[/red] pretrained features do worse than random ones ({gain:+.3f})."
            )
    console.print(f"done in {time.perf_counter() - start:.0f} s. Next: `headstart fit DATA` (see README).")
