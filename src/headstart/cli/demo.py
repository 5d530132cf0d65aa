"""``headstart demo``: transfer vs scratch on bundled data, offline, in about a minute."""

from __future__ import annotations

import time

import typer

from headstart.cli.app import command, console

COLOURS = {"transfer helps": "green", "negative transfer": "red"}


@command()
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
        "[bold]headstart demo[/bold]: a linear probe trained on 5 labelled examples per class; "
        f"held-out accuracy, mean ± sd over {len(SEEDS)} label draws.\n"
    )
    for r in run_demo(images=images, cache=cache):
        word, gain, t = r.verdict()
        colour = COLOURS.get(word, "yellow")
        console.print(f"[bold]{r.task}[/bold] ({r.backbone}, {r.test_rows} held out)")
        console.print(
            f"  pretrained {r.pretrained.mean():.3f}±{r.pretrained.std():.3f} | "
            f"random init {r.scratch.mean():.3f}±{r.scratch.std():.3f} | "
            f"{r.classic_name} {r.classic.mean():.3f}±{r.classic.std():.3f}"
        )
        console.print(f"  [{colour}]{word}[/{colour}]: {gain:+.3f} over random init (paired t = {t:.1f})")
        if word == "negative transfer" and "digit" in r.task:
            console.print("  (8x8 digits blown up to 224 px are far from ImageNet: transfer hurts here)")
    console.print(f"\ndone in {time.perf_counter() - start:.0f} s. Next: `headstart fit DATA` (see README).")
