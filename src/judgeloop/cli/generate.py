"""CLI command: `judgeloop generate` (responses from the model under test)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console()


def generate_command(
    prompts: Annotated[Path, typer.Option("--prompts", help="JSONL/JSON/CSV with prompt/instruction/turns.")],
    out_path: Annotated[Path, typer.Option("--out", help="Output JSONL (resumed if it exists).")],
    model: Annotated[
        str, typer.Option(help="'local' (bundled SmolLM2), a folder, a .gguf file, or a hub id.")
    ] = ("local"),
    max_new_tokens: Annotated[int, typer.Option(help="Tokens to generate per turn.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 = greedy.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Prompts per generate() call.")] = 8,
    template: Annotated[
        str, typer.Option(help="Prompt template when the tokenizer has no chat template.")
    ] = ("Instruction: {prompt}\nResponse:"),
    system: Annotated[str | None, typer.Option(help="System message (chat models).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N prompts.")] = None,
) -> None:
    """Generate responses from a causal LM for every prompt not yet answered in --out."""
    from judgeloop.generation import GenerationConfig, generate_responses, read_prompts

    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
        batch_size=batch_size,
        template=template,
        system=system,
    )
    items = read_prompts(prompts, limit)
    from judgeloop.generation import done_ids
    from judgeloop.progress import reporting, track

    todo = len(items) - len(done_ids(out_path) & {p.id for p in items})
    with reporting(), track("generating", todo, unit="prompts") as bar:
        result = generate_responses(model, items, out_path, config, on_progress=bar.advance)
    out.print(f"{result['generated']} prompts answered, {result['skipped']} already in {out_path}")


def register(app: typer.Typer) -> None:
    app.command("generate")(generate_command)
