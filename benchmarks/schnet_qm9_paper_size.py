"""SchNet on QM9 at paper size (110,000 training molecules) for a GPU box: seconds per epoch and the MAE reached.

Why a script beside ``greenft train``: it needs only torch, PyTorch Geometric, NumPy and pydantic (greenft's
``schnet`` model and composition baseline are imported, nothing else), so it runs on a GPU machine that has no
RDKit, W&B or CodeCarbon. On a box with greenft's full stack the same run is ``greenft train`` (docs/models.md,
"Reproduction"). Two steps::

    # where greenft and qm9pack are installed: QM9's atoms, positions and one target into one .npz
    python benchmarks/schnet_qm9_paper_size.py export --out qm9_U0.npz [--target U0]
    # on the GPU box (random split 110,000 / 10,000 / rest, seed 0, as SchNet's papers)
    python benchmarks/schnet_qm9_paper_size.py train --arrays qm9_U0.npz --epochs 30 --time-limit-s 400 --json out.json

The arrays are the molecules greenft keeps (every parse problem and SMILES check of greenft.data.qm9 applied).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from greenft.models.config import ModelConfig
from greenft.models.schnet import SchNetFamily, StructureItem


def export(out: Path, target: str) -> None:
    from greenft.data import get_dataset_spec, load_molecules
    from greenft.data.registry import select_targets

    molecules = load_molecules(select_targets(get_dataset_spec("qm9"), [target]))
    assert molecules.structures is not None
    counts = [s.num_atoms for s in molecules.structures]
    np.savez(
        out,
        z=np.concatenate([s.z for s in molecules.structures]).astype(np.uint8),
        pos=np.concatenate([s.pos for s in molecules.structures]).astype(np.float32),
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        y=molecules.labels[:, 0].astype(np.float64),
    )
    print(f"{out}: {len(counts)} molecules, {len(molecules.dropped)} dropped")


def train(args: argparse.Namespace) -> dict[str, Any]:
    stored = np.load(args.arrays)
    offsets, y = stored["offsets"], stored["y"]
    z, pos = torch.as_tensor(stored["z"].astype(np.int64)), torch.as_tensor(stored["pos"])
    labels = torch.as_tensor(y, dtype=torch.float64).reshape(-1, 1, 1)  # float64: U0 is about -11,000 eV
    items = [
        StructureItem(z[offsets[i] : offsets[i + 1]], pos[offsets[i] : offsets[i + 1]], labels[i])
        for i in range(len(y))
    ]
    order = np.random.default_rng(args.seed).permutation(len(items))
    train_idx, val_idx = order[: args.train], order[args.train : args.train + args.val]
    test_idx = order[args.train + args.val :]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    config = ModelConfig(
        name="schnet", num_layers=args.layers, emb_dim=args.emb_dim, cutoff=args.cutoff, num_rbf=args.num_rbf
    )
    config = config.model_copy(update={"pooling": "sum"})
    family = SchNetFamily()
    model = family.build(config, 1).model
    train_items = [items[i] for i in train_idx]
    mean = torch.tensor([y[train_idx].mean()], dtype=torch.float64)  # float64: U0 is about -11,000 eV
    std = torch.tensor([y[train_idx].std()], dtype=torch.float64)
    family.fit_target_baseline(model, train_items, mean.float(), std.float())
    model = model.to(device)
    mean, std = mean.to(device), std.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = family.loader(train_items, args.batch_size, shuffle=True, generator=generator)

    def mae(indices: np.ndarray) -> float:
        model.eval()
        errors = []
        with torch.no_grad():
            for batch in family.loader([items[i] for i in indices], 1000, shuffle=False):
                batch = batch.to(device)
                errors.append((model(batch).double() * std + mean - batch.y).abs().cpu())
        return float(torch.cat(errors).mean())

    epochs: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        for batch in train_loader:
            batch = batch.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(model(batch), ((batch.y - mean) / std).float())
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_s = time.perf_counter() - t0
        val = mae(val_idx)
        scheduler.step(val)
        epochs.append({"epoch": epoch, "train_s": train_s, "val_mae_ev": val, "lr": optimizer.param_groups[0]["lr"]})
        print(json.dumps(epochs[-1]), flush=True)
        if time.perf_counter() - started > args.time_limit_s:
            break
    return {
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "molecules": len(items),
        "split": [len(train_idx), len(val_idx), len(test_idx)],
        "config": {**config.model_dump(mode="json"), "lr": args.lr, "batch_size": args.batch_size},
        "epochs": epochs,
        "test_mae_ev": mae(test_idx),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("export")
    out.add_argument("--out", type=Path, required=True)
    out.add_argument("--target", default="U0")
    run = commands.add_parser("train")
    run.add_argument("--arrays", type=Path, required=True)
    run.add_argument("--epochs", type=int, default=30)
    run.add_argument("--time-limit-s", type=float, default=400.0)
    run.add_argument("--train", type=int, default=110_000)
    run.add_argument("--val", type=int, default=10_000)
    run.add_argument("--batch-size", type=int, default=100)
    run.add_argument("--lr", type=float, default=5e-4)
    run.add_argument("--layers", type=int, default=6)
    run.add_argument("--emb-dim", type=int, default=128)
    run.add_argument("--cutoff", type=float, default=5.0)
    run.add_argument("--num-rbf", type=int, default=20)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.command == "export":
        export(args.out, args.target)
        return
    result = train(args)
    print(json.dumps({k: v for k, v in result.items() if k != "epochs"}))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
