"""llama.cpp on loopback for the remote-backend tests and `bench/remote.py`.

- `hf_checkpoint(tmp)`: the bundled model's HF checkpoint (`inference/models/default/hf`) or,
  when it is missing, a tiny random Llama with a trained tokenizer (same tokenizer family);
  `CODEFLOW_TEST_HF_DIR` names another checkpoint dir.
- `convert_to_gguf(hf_dir, out)`: llama.cpp's own `convert_hf_to_gguf.py` (shipped in the
  llama-cpp-python sdist under vendor/llama.cpp, with its gguf-py), found by `converter_dir()`.
  Our tokenizer is not one llama.cpp knows by hash; it uses the Qwen2 split regex, so the
  converter is told `tokenizer.ggml.pre = qwen2` when the hash is unknown.
- `LlamaServer`: `python -m llama_cpp.server` on 127.0.0.1 and a free port, f32 KV cache, ChatML.

`python tests/e2e/llamacpp_support.py fetch-converter [DEST]` extracts the converter from the
sdist of the installed llama-cpp-python version (pip's cache makes it fast after the first time).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUNDLED_HF = ROOT / "inference" / "models" / "default" / "hf"
PRE_TOKENIZER = "qwen2"
CONVERTER_FILES = ("convert_hf_to_gguf.py", "conversion", "gguf-py")
TINY_CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
    "    def push(self, x):\n        self.items.append(x)\n",
    "import os\nimport sys\n\n\ndef main():\n    print(os.getcwd(), sys.argv)\n",
    "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n",
] * 30


def llamacpp_version() -> str | None:
    """The installed llama-cpp-python version, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama_cpp_python")
    except PackageNotFoundError:
        return None


def _has_converter(path: Path) -> bool:
    return all((path / name).exists() for name in CONVERTER_FILES)


def default_converter_cache() -> Path:
    """Where `fetch-converter` puts the converter: beside the venv, else the user cache."""
    return Path(sys.prefix) / "llama.cpp"


def converter_dir() -> Path | None:
    """A llama.cpp tree with `convert_hf_to_gguf.py`: $CODEFLOW_LLAMA_CPP_DIR or the venv's."""
    for candidate in (os.environ.get("CODEFLOW_LLAMA_CPP_DIR"), default_converter_cache()):
        if candidate and _has_converter(Path(candidate)):
            return Path(candidate)
    return None


def fetch_converter(dest: Path | None = None) -> Path:
    """Extract the converter from the llama-cpp-python sdist of the installed version."""
    version = llamacpp_version()
    if version is None:
        raise RuntimeError("llama-cpp-python is not installed")
    dest = dest or default_converter_cache()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", "-d", tmp, f"llama-cpp-python=={version}"],
                       check=True)
        sdist = next(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        prefix = f"{sdist.name.removesuffix('.tar.gz')}/vendor/llama.cpp/"
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)
                       and m.name[len(prefix):].split("/")[0] in CONVERTER_FILES]
            for m in members:
                m.name = m.name[len(prefix):]
            staging = Path(tmp) / "out"
            tar.extractall(staging, members=members, filter="data")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(staging, dest)
    return dest


_DRIVER = """
import sys
conv_dir, pre = sys.argv[1], sys.argv[2]
sys.path.insert(0, conv_dir)
sys.argv = ["convert_hf_to_gguf.py", *sys.argv[3:]]
import importlib.util
path = conv_dir + "/convert_hf_to_gguf.py"
spec = importlib.util.spec_from_file_location("convert_hf_to_gguf", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from conversion.base import TextModel
known = TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    try:
        return known(self, tokenizer)
    except NotImplementedError:
        return pre
TextModel.get_vocab_base_pre = get_vocab_base_pre
module.main()
"""


def convert_to_gguf(hf_dir: Path, out: Path, outtype: str = "f32") -> Path:
    """HF checkpoint dir → GGUF file with llama.cpp's converter (subprocess)."""
    conv = converter_dir() or fetch_converter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "hf"
        shutil.copytree(hf_dir, work)
        _ensure_tokenizer_config(work)
        subprocess.run([sys.executable, "-c", _DRIVER, str(conv), PRE_TOKENIZER, str(work),
                        "--outfile", str(out), "--outtype", outtype],
                       check=True, capture_output=True, text=True)
    return out


def _ensure_tokenizer_config(hf_dir: Path) -> None:
    """AutoTokenizer needs tokenizer_config.json; say no BOS/EOS is added (our prompts have
    none), so the GGUF carries `add_bos_token = false`."""
    path = hf_dir / "tokenizer_config.json"
    if not path.is_file():
        from tokenizers import Tokenizer

        from inference.training.tokenizer import save_hf_tokenizer

        tok = Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
        max_len = json.loads((hf_dir / "config.json").read_text())["max_position_embeddings"]
        save_hf_tokenizer(tok, hf_dir, max_len)
    config = json.loads(path.read_text())
    config.setdefault("add_bos_token", False)
    config.setdefault("add_eos_token", False)
    path.write_text(json.dumps(config))


def tiny_checkpoint(out: Path, seed: int = 0, tok: Any = None) -> Path:
    """A tiny random Llama (vocab = tokenizer size), saved like the trainer; its tokenizer is
    `tok` (a `tokenizers.Tokenizer`) or one trained on `TINY_CORPUS`."""
    import torch

    from inference.training.model import SHAPES, build_model
    from inference.training.tokenizer import save_hf_tokenizer, train_tokenizer

    tok = tok or train_tokenizer(TINY_CORPUS, vocab_size=400)
    shape = replace(SHAPES["tiny"], vocab_size=tok.get_vocab_size())
    model = build_model(shape, seed)
    with torch.no_grad():  # see _never_greedy
        for i in _never_greedy(tok):
            model.lm_head.weight[i].zero_()
    model.save_pretrained(out, safe_serialization=True)
    save_hf_tokenizer(tok, out, shape.max_position_embeddings)
    return out


def _never_greedy(tok: Any) -> list[int]:
    """Ids a random model must not pick greedily (zero lm_head rows: logit 0 loses to the best
    of hundreds of random logits): byte pieces that are not whole UTF-8 text and special tokens
    other than EOS. Engines spell those differently (U+FFFD or nothing; llama.cpp does not print
    control tokens), and a trained model rarely emits them in the middle of code."""
    from inference.training.tokenizer import EOS_ID, SPECIAL_TOKENS

    specials = {tok.token_to_id(t) for t in SPECIAL_TOKENS} - {EOS_ID}
    return [i for i in range(tok.get_vocab_size())
            if i in specials or "\ufffd" in tok.decode([i], skip_special_tokens=False)]


def hf_checkpoint(tmp: Path) -> tuple[Path, str]:
    """(checkpoint dir, kind): $CODEFLOW_TEST_HF_DIR, the bundled one, else a tiny random one."""
    override = os.environ.get("CODEFLOW_TEST_HF_DIR")
    if override:
        return Path(override), f"{override} (CODEFLOW_TEST_HF_DIR)"
    if all((BUNDLED_HF / f).is_file() for f in ("config.json", "model.safetensors",
                                                 "tokenizer.json")):
        return BUNDLED_HF, "bundled"
    return tiny_checkpoint(tmp / "tiny-hf"), "tiny random"


def export_onnx(hf_dir: Path, out: Path) -> Path:
    """`codeflow export HF_DIR OUT --dtype fp32` (the project's exporter, as users run it)."""
    subprocess.run([sys.executable, "-c", "import sys; from lsp_server.cli import main; "
                    "sys.exit(main())", "export", str(hf_dir), str(out), "--dtype", "fp32"],
                   check=True, capture_output=True, text=True, cwd=ROOT)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LlamaServer:
    """A running `llama_cpp.server` process."""

    proc: subprocess.Popen[bytes]
    url: str
    model: str
    log_path: Path

    @classmethod
    def start(cls, gguf: Path, log_dir: Path, model: str = "codeflow-default",
              api_key: str | None = None, n_ctx: int = 2048, threads: int = 1,
              ready_s: float = 180.0) -> LlamaServer:
        port = free_port()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
               "--model_alias", model, "--host", "127.0.0.1", "--port", str(port),
               "--n_ctx", str(n_ctx), "--n_threads", str(threads),
               "--n_threads_batch", str(threads), "--type_k", "0", "--type_v", "0",
               "--chat_format", "chatml", "--verbose", "False"]
        if api_key:
            cmd += ["--api_key", api_key]
        log_path = log_dir / f"llama-server-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        server = cls(proc, f"http://127.0.0.1:{port}", model, log_path)
        server.wait_ready(api_key, ready_s)
        return server

    def wait_ready(self, api_key: str | None, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log_tail()}")
            try:
                req = urllib.request.Request(self.url + "/v1/models", headers=headers)
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server not ready in {limit_s}s: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "fetch-converter":
        print(fetch_converter(Path(sys.argv[2]) if len(sys.argv) > 2 else None))
    else:
        print(__doc__)
        sys.exit(2)
