"""A small torch training job to try `envsnap repro` on (the README's example and the tests'
job): a seeded MLP on synthetic data, a few hundred steps on the CPU.

  python train.py                  reproducible (seeded, data order fixed)
  python train.py --order-by-set   the data order comes from iterating a set of strings:
                                   it changes with the hash seed (PYTHONHASHSEED fixes it)
  python train.py --unseeded       no seed at all: every run differs, nothing fixes it
  python train.py --big-reduce     batch statistics over 2^16 samples: the reduction's
                                   rounding depends on the thread count

It writes model.pt (torch.save of the state dict) and metrics.json into the working directory.
"""

import argparse
import json

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--order-by-set", action="store_true")
parser.add_argument("--unseeded", action="store_true")
parser.add_argument("--big-reduce", action="store_true")
parser.add_argument("--steps", type=int, default=300)
args = parser.parse_args()

if not args.unseeded:
    torch.manual_seed(0)
n = 1 << 16 if args.big_reduce else 512
x = torch.randn(n, 16)
y = (x[:, :4].sum(dim=1, keepdim=True) > 0).float()
hidden = [torch.nn.Linear(16, 32), torch.nn.Tanh()]
if args.big_reduce:  # batch statistics over 2^16 rows: a reduction split across the threads
    hidden.insert(1, torch.nn.BatchNorm1d(32))
model = torch.nn.Sequential(*hidden, torch.nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)

# Eight named shards of the data; their order is the order of training.
shards = {f"shard-{i}": torch.arange(i, n, 8) for i in range(8)}
names = list(set(shards)) if args.order_by_set else sorted(shards)

loss = torch.tensor(0.0)
for step in range(args.steps):
    idx = torch.arange(n) if args.big_reduce else shards[names[step % len(names)]]
    pred = model(x[idx])
    loss = torch.nn.functional.binary_cross_entropy_with_logits(pred, y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()

torch.save(model.state_dict(), "model.pt")
with open("metrics.json", "w") as fh:
    json.dump({"loss": loss.item(), "steps": args.steps}, fh)
