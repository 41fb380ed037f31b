"""A learned pairwise comparator (Bradley-Terry on frozen MiniLM features) on public human preferences.

    PYTHONPATH=src .venv/bin/python -m benchmarks.pairwise [--cache /tmp/pairwise_emb.pkl]
                                                              # results/pairwise.json

`--cache FILE` keeps the MiniLM embeddings (by text) between runs: a rerun embeds only new texts.

Training never sees the test data. Sets (../shared/datasets, see PROVENANCE.md):
- tests: PandaLM test set (999 pairs, majority of 3 annotators, 105 ties), LLMBar Natural (100, expert
  gold, no ties), the HH-RLHF harmless-base test pairs held out by prompt (20%, seed 0);
- training: LLMBar's processed MT-Bench human votes (200), FairEval (66), LLMEval2 (200), LLMBar Natural
  (100; left out when Natural is the test), the other 80% of the HH-RLHF harmless test pairs.

Each training mix is scored on every test it does not contain ("which data helped"). The main model is
trained on the helpfulness sets (MT-Bench human, FairEval, LLMEval2, Natural): HH-RLHF harmless labels
prefer the less harmful reply, often a short refusal, not the more helpful one. The comparator is
beside (a) a pointwise `embedding_head` evaluator trained on the same pairs as winner = good /
loser = bad, used as a comparator (its two P(good) compared), and (b) a length baseline (the longer
answer wins). Then the main mix is trained with `train_pairwise` and saved; that model is timed on the
999 PandaLM pairs (fresh load, nothing cached; median of 3) and judges AlpacaEval's shipped outputs
(alpaca-7b and text-davinci-003 against gpt4_1106_preview), compared with the leaderboard and with the
805 GPT-4-turbo annotations of alpaca-7b.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from judgeloop.bench import preference_sets as ps  # noqa: E402
from judgeloop.training.pairwise import pairwise_metrics  # noqa: E402
from judgeloop.training.pairwise_data import PairExample  # noqa: E402
from judgeloop.training.pairwise_model import BTComparator, fit_davidson  # noqa: E402

ROOT = Path(__file__).resolve().parents[2] / "shared" / "datasets"
RESULTS = Path(__file__).resolve().parent / "results"
N_BOOT = 1000
GPT4_ANNOTATIONS = "weighted_alpaca_eval_gpt4_turbo/annotations.json"


def hh_split(pairs: list[PairExample], seed: int = 0) -> tuple[list[PairExample], list[PairExample]]:
    groups = sorted({p.group or p.key for p in pairs})
    order = np.random.default_rng(seed).permutation(len(groups))
    test = {groups[i] for i in order[: int(0.2 * len(groups))]}
    return [p for p in pairs if (p.group or p.key) not in test], [
        p for p in pairs if (p.group or p.key) in test
    ]


class EmbeddingStore:
    """Sentence embeddings by text, loaded from and saved to a pickle (see --cache)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with path.open("rb") as fh:
                self.vectors = pickle.load(fh)  # noqa: S301 - our own cache file
            print(f"{len(self.vectors)} cached embeddings from {path}", flush=True)

    def fill(self, embedder: Any) -> None:
        embedder._ensure_encoder()
        for key, vector in self.vectors.items():
            embedder.cache_.put(key, vector)

    def keep(self, embedder: Any) -> None:
        self.vectors.update(embedder.cache_._data)
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                pickle.dump(self.vectors, fh)
            tmp.replace(self.path)


class Features:
    """φ(x, A), φ(x, B) per set, from one embedder (each text embedded once)."""

    def __init__(
        self, model: BTComparator, sets: dict[str, list[PairExample]], store: EmbeddingStore
    ) -> None:
        self.sets = sets
        store.fill(model.embedder)
        self.fa: dict[str, np.ndarray] = {}
        self.fb: dict[str, np.ndarray] = {}
        self.point: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, pairs in sets.items():
            started = time.perf_counter()
            self.fa[name], self.fb[name] = model.pair_features(pairs)
            u = model.embedder.embed([p.model_input for p in pairs])
            va = model.embedder.embed([p.output_a for p in pairs])
            vb = model.embedder.embed([p.output_b for p in pairs])
            from judgeloop.training.methods.embedding_head import pair_features

            self.point[name] = (pair_features(u, va), pair_features(u, vb))
            store.keep(model.embedder)
            print(f"features {name}: {len(pairs)} pairs in {time.perf_counter() - started:.0f} s", flush=True)

    def stack(self, names: list[str]) -> tuple[np.ndarray, np.ndarray, list[Any], list[str]]:
        pairs = [p for n in names for p in self.sets[n]]
        return (
            np.vstack([self.fa[n] for n in names]),
            np.vstack([self.fb[n] for n in names]),
            [p.choice for p in pairs],
            [p.group or p.key for p in pairs],
        )


def bt_scores(feats: Features, train: list[str], tests: list[str], surface: bool = True) -> dict[str, Any]:
    fa, fb, choices, groups = feats.stack(train)
    width = fa.shape[1] if surface else fa.shape[1] - 9
    model = BTComparator(surface=surface)
    model.fit_features(fa[:, :width], fb[:, :width], choices, groups)
    oof = model.oof_margins(fa[:, :width], fb[:, :width], choices, groups)
    temperature, nu = fit_davidson(oof, choices)
    out: dict[str, Any] = {"n_train": len(choices), "C": model.C_, "surface_weight": model.surface_weight_}
    out.update(temperature=temperature, nu=nu)
    for name in tests:
        d = model.score_features(feats.fa[name][:, :width]) - model.score_features(feats.fb[name][:, :width])
        m = pairwise_metrics([p.choice for p in feats.sets[name]], d, temperature, nu, N_BOOT)
        out[name] = _short(m)
    return out


def pointwise_scores(feats: Features, train: list[str], tests: list[str]) -> dict[str, Any]:
    """embedding_head (its C rule) on the same pairs as pointwise labels, compared by its P(good)."""
    from judgeloop.training.methods.embedding_head import EmbeddingHead

    pa = np.vstack([feats.point[n][0] for n in train])
    pb = np.vstack([feats.point[n][1] for n in train])
    choices = [p.choice for n in train for p in feats.sets[n]]
    keep = np.asarray([c != "tie" for c in choices])
    a_won = np.asarray([c == "A" for c in choices])[keep]
    F = np.vstack([pa[keep], pb[keep]])
    y = np.concatenate([a_won, ~a_won]).astype(int)
    head = EmbeddingHead(C="auto")
    head._fit_features(F, y)
    out: dict[str, Any] = {"n_train_rows": len(y), "C": head.C_}
    for name in tests:
        za = feats.point[name][0] @ head.coef_ + head.intercept_
        zb = feats.point[name][1] @ head.coef_ + head.intercept_
        out[name] = _short(pairwise_metrics([p.choice for p in feats.sets[name]], za - zb, 1.0, 0.0, N_BOOT))
    return out


def length_baseline(sets: dict[str, list[PairExample]], tests: list[str]) -> dict[str, Any]:
    out = {}
    for name in tests:
        pairs = sets[name]
        d = np.asarray([np.sign(len(p.output_a.strip()) - len(p.output_b.strip())) for p in pairs], float)
        out[name] = _short(pairwise_metrics([p.choice for p in pairs], d, 1.0, 0.0, N_BOOT))
    return out


def _short(m: dict[str, Any]) -> dict[str, Any]:
    keys = ("n", "n_decisive", "human_ties", "predicted_ties", "accuracy", "agreement", "kappa", "nll")
    return {k: m[k] for k in keys}


def position_check(model_dir: Path, pairs: list[PairExample], store: EmbeddingStore) -> dict[str, Any]:
    from judgeloop.evaluators.pairwise_learned import PairwiseEvaluator

    ev = PairwiseEvaluator.load(model_dir, runtime="torch")
    store.fill(ev.model.embedder)
    fwd = ev.compare([(p.model_input, p.output_a, p.output_b) for p in pairs])
    back = ev.compare([(p.model_input, p.output_b, p.output_a) for p in pairs])
    mirrored = (fwd[:, 0] == back[:, 1]) & (fwd[:, 1] == back[:, 0]) & (fwd[:, 2] == back[:, 2])
    return {"pairs": len(pairs), "position_consistency": float(mirrored.mean())}


def speed(model_dir: Path, pairs: list[PairExample], runtime: str, runs: int) -> dict[str, Any]:
    """Pairs per second from a fresh load (no cached embeddings), one batch call; median of `runs`."""
    from judgeloop.evaluators.pairwise_learned import PairwiseEvaluator
    from judgeloop.training.methods.embedding_head import EmbeddingCache

    triples = [(p.model_input, p.output_a, p.output_b) for p in pairs]
    rates = []
    for _ in range(runs):
        ev = PairwiseEvaluator.load(model_dir, runtime=runtime)
        ev.compare(triples[:4])  # load the encoder outside the timing
        ev.model.embedder.cache_ = EmbeddingCache(ev.model.embedder.cache_size)  # forget the warm-up
        started = time.perf_counter()
        ev.compare(triples)
        rates.append(len(triples) / (time.perf_counter() - started))
    return {
        "runtime": runtime,
        "pairs": len(triples),
        "pairs_per_s": rates,
        "median": float(np.median(rates)),
    }


def alpaca(model_dir: Path, store: EmbeddingStore) -> dict[str, Any]:
    from judgeloop.bench.winrate import compute_winrate, load_annotations, load_model_outputs
    from judgeloop.bench.winrate_learned import comparator_annotations
    from judgeloop.evaluators.pairwise_learned import PairwiseEvaluator

    ev = PairwiseEvaluator.load(model_dir, runtime="torch")
    store.fill(ev.model.embedder)
    base = load_model_outputs(ROOT / "alpaca_eval/results/gpt4_1106_preview/model_outputs.json")
    board = _leaderboard()
    out: dict[str, Any] = {}
    judged: dict[str, list[dict[str, Any]]] = {}
    for name in ("alpaca-7b", "text_davinci_003"):
        model = load_model_outputs(ROOT / f"alpaca_eval/results/{name}/model_outputs.json")
        started = time.perf_counter()
        judged[name] = comparator_annotations(base, model, ev)
        store.keep(ev.model.embedder)
        figures = compute_winrate(judged[name]).as_dict()
        figures["seconds"] = round(time.perf_counter() - started, 1)
        figures["leaderboard_win_rate"] = board.get(name)
        out[name] = figures
        print(
            f"alpaca {name}: win rate {figures['win_rate']:.2f} (leaderboard {board.get(name)})", flush=True
        )
    gpt4 = load_annotations(
        ROOT / "alpaca_eval/results/alpaca-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json"
    )
    ours = {(a["instruction"], a["output_2"]): a["preference"] for a in judged["alpaca-7b"]}
    pairs = [(float(g["preference"]), ours[(g["instruction"], g["output_2"])]) for g in gpt4]
    g_pref, o_pref = np.asarray(pairs).T
    g_win, o_win = g_pref > 1.5, o_pref > 1.5
    out["gpt4_turbo_agreement_alpaca7b"] = {
        "n": len(pairs),
        "same_winner": float(np.mean(g_win == o_win)),
        "gpt4_prefers_baseline": float(np.mean(~g_win)),
        "comparator_prefers_baseline": float(np.mean(~o_win)),
        "pearson_preference": float(np.corrcoef(g_pref, o_pref)[0, 1]),
    }
    return out


def _leaderboard() -> dict[str, float]:
    import csv

    path = ROOT / "alpaca_eval/leaderboards/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return {row[""]: float(row["win_rate"]) for row in csv.DictReader(fh)}


HELPFUL = ["mtbench_human", "faireval", "llmeval2", "llmbar_natural"]
MIXES = {
    "helpfulness": HELPFUL,  # the main model: human/expert helpfulness preferences
    "helpfulness but Natural": HELPFUL[:3],
    "helpfulness + HH": HELPFUL + ["hh_train"],
    "HH only": ["hh_train"],
    "MT-Bench human only": ["mtbench_human"],
    "LLMEval2 only": ["llmeval2"],
    "FairEval only": ["faireval"],
    "Natural only": ["llmbar_natural"],
}
MAIN, MAIN_NO_NATURAL = "helpfulness", "helpfulness but Natural"
TESTS = ["pandalm", "llmbar_natural", "hh_test"]


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, help="embedding cache (pickle) kept between runs")
    parser.add_argument("--speed-pairs", type=int, default=300, help="PandaLM pairs timed per run")
    args = parser.parse_args()
    store = EmbeddingStore(args.cache)
    started = time.perf_counter()
    sets: dict[str, list[PairExample]] = {"pandalm": ps.load_pandalm(ROOT)}
    for name in ("llmbar_natural", "mtbench_human", "faireval", "llmeval2"):
        sets[name] = ps.load_llmbar(ROOT, name)
    sets["hh_train"], sets["hh_test"] = hh_split(ps.load_hh(ROOT))
    print({k: len(v) for k, v in sets.items()}, flush=True)
    feats = Features(BTComparator(), sets, store)
    results: dict[str, Any] = {"sets": {k: len(v) for k, v in sets.items()}, "mixes": {}, "pointwise": {}}
    for mix, train in MIXES.items():
        tests = [t for t in TESTS if t not in train]
        results["mixes"][mix] = bt_scores(feats, train, tests)
        line = ", ".join(f"{t} {results['mixes'][mix][t]['accuracy']['value']:.3f}" for t in tests)
        print(f"{mix}: {line}", flush=True)
    for mix in (MAIN, MAIN_NO_NATURAL):
        tests = [t for t in TESTS if t not in MIXES[mix]]
        results["no_surface_features"] = results.get("no_surface_features", {})
        results["no_surface_features"][mix] = bt_scores(feats, MIXES[mix], tests, surface=False)
        results["pointwise"][mix] = pointwise_scores(feats, MIXES[mix], tests)
    results["length_baseline"] = length_baseline(sets, TESTS)
    from judgeloop.training.pairwise import train_pairwise

    with tempfile.TemporaryDirectory() as tmp:
        train = [p for n in MIXES[MAIN] for p in sets[n] if p.output_a.strip() and p.output_b.strip()]
        warm = BTComparator()
        store.fill(warm.embedder)
        fitted = train_pairwise(
            train, Path(tmp) / "model", heldout=sets["pandalm"], name="bt-helpfulness", comparator=warm
        )
        results["saved_model"] = {
            "mix": MAIN,
            "n_train": len(train),  # train_pairwise refuses a pair with an empty output (1 in LLMEval2)
            "train_seconds": fitted.train_seconds,
            "params": fitted.config["params"],
            "temperature": fitted.temperature,
            "nu": fitted.nu,
            "heldout_pandalm": _short(fitted.metrics),
        }
        results["position"] = position_check(fitted.out_dir, sets["pandalm"], store)
        timed = sets["pandalm"][: args.speed_pairs]
        results["speed"] = {
            "onnx": speed(fitted.out_dir, timed, "onnx", 3),
            "torch": speed(fitted.out_dir, timed, "torch", 1),
        }
        print({k: round(v["median"]) for k, v in results["speed"].items()}, "pairs/s", flush=True)
        results["alpaca_eval"] = alpaca(fitted.out_dir, store)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"] = f"{os.cpu_count()} cores, shared with other jobs; python {sys.version.split()[0]}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pairwise.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS / 'pairwise.json'} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
