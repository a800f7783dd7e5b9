"""Training the bundled default models (needs the `train` extra: torch, transformers).

Modules: `tokenizer` (byte-level BPE with IQuest's special tokens), `data` (stdlib corpus,
held-out split, FIM / repo-level samples, packing), `model` (Llama shapes), `train` (the
resumable training loop, `python -m inference.training.train`), `loop` (dense -> IQuest Loop
folding), `ship` (export with `inference.export` + model cards). Importing this package is cheap:
torch is imported only by `model`, `train` and `loop`.
"""
